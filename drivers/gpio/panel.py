"""The counter panel on the GPIO header (gpiozero): four buttons — reprint last (補印), clear the
pending carrier, test print, upload now — a status LED pair and a buzzer.

A button acts when it is *released* after being held at least its hold time (0 = any press), timed
with the pin factory's own clock (``ticks``). So there is no hold thread per button (gpiozero's
``Button`` keeps one polling at 10 Hz) and tests drive it deterministically with a MockFactory
whose clock they set. Every gpiozero device gets the ``pin_factory`` passed in.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Mapping

from terminal.core.errors import ConfigError

log = logging.getLogger(__name__)

BUTTONS = ("reprint", "clear", "test_print", "upload")
OUTPUTS = ("led_ok", "led_error", "buzzer")
DEFAULT_HOLD_S = {"reprint": 1.0, "clear": 0.0, "test_print": 3.0, "upload": 2.0}

# pattern -> (green, red); each None (off), "on", or (on_s, off_s) blinking
LED_PATTERNS: dict[str, tuple] = {
    "ok": ("on", None),
    "busy": ((0.1, 0.1), None),
    "error": (None, (0.5, 0.5)),
    "off": (None, None),
}
# kind -> (on_s, off_s, count)
BEEPS = {"accept": (0.08, 0.0, 1), "reject": (0.12, 0.08, 2), "error": (0.6, 0.0, 1)}


def check_pins(pins: Mapping) -> dict:
    """Keep the configured pins (None/"" = not fitted); reject unknown names and a pin used twice."""
    unknown = sorted(set(pins) - set(BUTTONS) - set(OUTPUTS))
    if unknown:
        raise ConfigError(f"unknown GPIO function gpio.{unknown[0]}_pin (known: "
                          f"{', '.join(BUTTONS + OUTPUTS)})", field=f"gpio.{unknown[0]}_pin")
    used: dict[str, str] = {}
    out = {}
    for name, pin in pins.items():
        if pin is None or pin == "" or pin == -1:
            continue
        if isinstance(pin, bool) or not isinstance(pin, (int, str)):
            raise ConfigError(f"gpio.{name}_pin must be a GPIO number or name such as GPIO17, got {pin!r}",
                              field=f"gpio.{name}_pin")
        key = str(pin).upper().removeprefix("GPIO")
        if key in used:
            raise ConfigError(f"gpio.{name}_pin and gpio.{used[key]}_pin both use pin {pin}",
                              field=f"gpio.{name}_pin")
        used[key] = name
        out[name] = pin
    return out


class CounterPanel:
    """Buttons, LEDs and buzzer of the counter.

    :param pins: function -> pin (``reprint``, ``clear``, ``test_print``, ``upload``, ``led_ok``,
        ``led_error``, ``buzzer``); missing ones are simply not fitted.
    :param pin_factory: the gpiozero pin factory (``MockFactory`` in tests and simulate mode);
        None means gpiozero's default for this board, resolved once and passed explicitly.
    :param hold_s: per button, seconds it must be held before release (defaults ``DEFAULT_HOLD_S``).
    :param on_reprint, on_clear, on_test_print, on_upload: called (in gpiozero's event thread) when
        that button fires; exceptions are logged, never raised into gpiozero.
    :param bounce_s: contact debounce handed to gpiozero (None: none).
    Buttons connect the pin to ground (internal pull-up); LEDs and buzzer are active high.
    """

    def __init__(self, pins: Mapping, *, pin_factory, hold_s: Mapping[str, float] | None = None,
                 on_reprint: Callable[[], None] | None = None, on_clear: Callable[[], None] | None = None,
                 on_test_print: Callable[[], None] | None = None, on_upload: Callable[[], None] | None = None,
                 bounce_s: float | None = 0.05) -> None:
        from gpiozero import Buzzer, Device, DigitalInputDevice, LED

        pins = check_pins(pins)
        holds = dict(DEFAULT_HOLD_S)
        for name, seconds in (hold_s or {}).items():
            if name not in DEFAULT_HOLD_S:
                raise ConfigError(f"no button named {name!r} to set a hold time for", field="gpio.hold_seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10:
                raise ConfigError(f"hold time for {name} must be 0 to 10 s, got {seconds!r}", field="gpio.hold_seconds")
            holds[name] = float(seconds)
        if pin_factory is None:
            Device.ensure_pin_factory()
            pin_factory = Device.pin_factory
        self.pin_factory = pin_factory
        self.hold_s = holds
        self._actions = {"reprint": on_reprint, "clear": on_clear, "test_print": on_test_print, "upload": on_upload}
        self._pressed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pattern: str | None = None
        self.buttons: dict[str, object] = {}
        self.leds: dict[str, object] = {}
        self.buzzer = None
        try:
            for name in BUTTONS:
                if name in pins:
                    btn = DigitalInputDevice(pins[name], pull_up=True, bounce_time=bounce_s, pin_factory=pin_factory)
                    btn.when_activated = lambda _dev, n=name: self._press(n)
                    btn.when_deactivated = lambda _dev, n=name: self._release(n)
                    self.buttons[name] = btn
            for name in ("led_ok", "led_error"):
                if name in pins:
                    self.leds[name] = LED(pins[name], pin_factory=pin_factory)
            if "buzzer" in pins:
                self.buzzer = Buzzer(pins["buzzer"], pin_factory=pin_factory)
        except Exception:
            self.close()
            raise

    def led(self, pattern: str) -> None:
        """Show ``pattern``: "ok" (green steady), "busy" (green fast blink), "error" (red blink),
        "off". Repeating the current pattern changes nothing (a blink is not restarted)."""
        if pattern not in LED_PATTERNS:
            raise ValueError(f"unknown LED pattern {pattern!r}: expected one of {sorted(LED_PATTERNS)}")
        with self._lock:
            if pattern == self._pattern:
                return
            self._pattern = pattern
            for name, mode in zip(("led_ok", "led_error"), LED_PATTERNS[pattern]):
                led = self.leds.get(name)
                if led is None:
                    continue
                if mode is None:
                    led.off()
                elif mode == "on":
                    led.on()
                else:
                    led.blink(on_time=mode[0], off_time=mode[1], background=True)

    def beep(self, kind: str) -> None:
        """Sound ``kind``: "accept" (one short), "reject" (two short), "error" (one long). Returns at
        once; a new beep cuts a running one short."""
        if kind not in BEEPS:
            raise ValueError(f"unknown beep {kind!r}: expected one of {sorted(BEEPS)}")
        if self.buzzer is None:
            return
        on_s, off_s, count = BEEPS[kind]
        self.buzzer.beep(on_time=on_s, off_time=off_s, n=count, background=True)

    def status(self) -> dict:
        return {"led": self._pattern, "buttons": {n: str(b.pin) for n, b in self.buttons.items()},
                "hold_s": dict(self.hold_s), "buzzer": self.buzzer is not None}

    def close(self) -> None:
        """Release every pin (LEDs and buzzer off)."""
        for dev in [*self.buttons.values(), *self.leds.values(), self.buzzer]:
            if dev is not None:
                try:
                    dev.close()
                except Exception:  # closing must not fail a shutdown
                    log.exception("could not release GPIO device %r", dev)
        self.buttons, self.leds, self.buzzer = {}, {}, None

    def _press(self, name: str) -> None:
        self._pressed_at[name] = self.pin_factory.ticks()

    def _release(self, name: str) -> None:
        started = self._pressed_at.pop(name, None)
        if started is None:
            return
        held = self.pin_factory.ticks_diff(self.pin_factory.ticks(), started)
        if held < self.hold_s[name]:
            log.info("button %s released after %.2f s (needs %.2f s): ignored", name, held, self.hold_s[name])
            return
        action = self._actions[name]
        log.info("button %s (held %.2f s)", name, held)
        if action is None:
            return
        try:
            action()
        except Exception:
            log.exception("button %s action failed", name)
