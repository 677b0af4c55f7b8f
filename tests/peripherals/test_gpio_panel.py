"""CounterPanel on gpiozero's MockFactory: buttons driven by pin events with the factory's clock
set by the test (no sleeps), LEDs and buzzer observed through the mock pins' recorded states."""
import pytest
from gpiozero import Device

from drivers.gpio import BEEPS, CounterPanel
from terminal.core.errors import ConfigError

from .helpers import ClockedMockFactory, SignallingPin

PINS = {"reprint": 17, "clear": 27, "test_print": 22, "upload": 23, "led_ok": 5, "led_error": 6, "buzzer": 13}


@pytest.fixture
def factory():
    f = ClockedMockFactory(pin_class=SignallingPin)
    yield f
    f.reset()


@pytest.fixture
def panel(factory):
    calls = []
    p = CounterPanel(PINS, pin_factory=factory,
                     hold_s={"reprint": 1.0, "clear": 0.0, "test_print": 3.0, "upload": 2.0},
                     on_reprint=lambda: calls.append("reprint"), on_clear=lambda: calls.append("clear"),
                     on_test_print=lambda: calls.append("test_print"), on_upload=lambda: calls.append("upload"),
                     bounce_s=None)
    p.calls = calls
    yield p
    p.close()


def press(factory, pin, at, held):
    factory.now = at
    factory.pin(pin).drive_low()  # buttons pull up: pressed = low
    factory.now = at + held
    factory.pin(pin).drive_high()


def test_clear_fires_on_any_press(panel, factory):
    press(factory, 27, at=10.0, held=0.05)
    assert panel.calls == ["clear"]


def test_reprint_needs_the_hold_time(panel, factory):
    press(factory, 17, at=0.0, held=0.5)
    assert panel.calls == []
    press(factory, 17, at=5.0, held=0.999)
    assert panel.calls == []
    press(factory, 17, at=10.0, held=1.0)
    press(factory, 17, at=20.0, held=4.0)
    assert panel.calls == ["reprint", "reprint"]


def test_each_button_has_its_own_action_and_hold_time(panel, factory):
    press(factory, 22, at=0.0, held=2.9)
    press(factory, 23, at=10.0, held=1.9)
    assert panel.calls == []
    press(factory, 22, at=20.0, held=3.0)
    press(factory, 23, at=30.0, held=2.0)
    assert panel.calls == ["test_print", "upload"]


def test_a_press_held_across_another_button_is_timed_on_its_own(panel, factory):
    factory.now = 0.0
    factory.pin(17).drive_low()
    press(factory, 27, at=0.2, held=0.1)
    factory.now = 1.5
    factory.pin(17).drive_high()
    assert panel.calls == ["clear", "reprint"]


def test_a_failing_action_is_logged_and_the_panel_keeps_working(factory, caplog):
    def broken():
        raise RuntimeError("printer on fire")

    got = []
    p = CounterPanel({"clear": 27, "reprint": 17}, pin_factory=factory, on_clear=broken,
                     on_reprint=lambda: got.append(1), bounce_s=None)
    try:
        press(factory, 27, at=0.0, held=0.1)
        press(factory, 17, at=1.0, held=1.5)
        assert got == [1] and "button clear action failed" in caplog.text
    finally:
        p.close()


def test_led_patterns(panel, factory):
    green, red = factory.pin(5), factory.pin(6)
    panel.led("ok")
    assert [s.state for s in green.states] == [False, True] and [s.state for s in red.states] == [False]
    panel.led("ok")  # no change, no glitch
    assert len(green.states) == 2
    panel.led("error")
    assert green.wait_states(3) == [False, True, False]
    states = red.wait_states(4)  # on, then off after the on-time, then on again
    assert states[:4] == [False, True, False, True]
    assert 0.48 <= red.states[2].timestamp < 1.5  # on for the 0.5 s on-time (more if the machine is busy)
    panel.led("busy")
    assert red.wait_states(5)[-1] is False
    assert green.wait_states(6)[3:6] == [True, False, True]  # fast blink
    panel.led("off")
    assert green.state is False and red.state is False
    with pytest.raises(ValueError, match="unknown LED pattern"):
        panel.led("party")


@pytest.mark.parametrize("kind,states", [("accept", [False, True, False]),
                                         ("reject", [False, True, False, True, False]),
                                         ("error", [False, True, False])])
def test_beeps(panel, factory, kind, states):
    buzzer = factory.pin(13)
    panel.beep(kind)
    assert buzzer.wait_states(len(states)) == states
    on_s = BEEPS[kind][0]
    assert on_s - 0.02 <= buzzer.states[2].timestamp < on_s + 1.0  # on for its on-time (more if busy)


def test_unknown_beep_and_a_panel_without_buzzer(factory):
    p = CounterPanel({"clear": 27}, pin_factory=factory)
    try:
        p.beep("accept")  # nothing fitted: nothing happens
        with pytest.raises(ValueError, match="unknown beep"):
            p.beep("fanfare")
    finally:
        p.close()


def test_the_given_factory_is_used_and_no_global_default_is_set(factory):
    before = Device.pin_factory
    p = CounterPanel(PINS, pin_factory=factory)
    try:
        assert all(b.pin_factory is factory for b in p.buttons.values())
        assert p.buzzer.pin_factory is factory and Device.pin_factory is before
    finally:
        p.close()


def test_close_releases_the_pins(factory):
    CounterPanel(PINS, pin_factory=factory).close()
    again = CounterPanel(PINS, pin_factory=factory)  # would raise GPIOPinInUse if still held
    again.close()


@pytest.mark.parametrize("pins,hold,field", [
    ({"reprint": 17, "clear": "GPIO17"}, None, "gpio.clear_pin"),
    ({"fan": 4}, None, "gpio.fan_pin"),
    ({"clear": 4.5}, None, "gpio.clear_pin"),
    ({"clear": 4}, {"clear": 11}, "gpio.hold_seconds"),
    ({"clear": 4}, {"power": 1}, "gpio.hold_seconds"),
])
def test_bad_pin_config_names_the_key(factory, pins, hold, field):
    with pytest.raises(ConfigError) as e:
        CounterPanel(pins, pin_factory=factory, hold_s=hold)
    assert e.value.field == field


def test_unfitted_functions_are_skipped(factory):
    p = CounterPanel({"clear": 27, "buzzer": None, "led_ok": "", "led_error": -1}, pin_factory=factory)
    try:
        assert list(p.buttons) == ["clear"] and p.leds == {} and p.buzzer is None
        p.led("error")  # no LEDs: no error
    finally:
        p.close()
