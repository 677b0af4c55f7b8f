"""The pure key-event and byte-line decoders, fed with evdev's own event objects and codes."""
import pytest
from evdev import InputEvent, categorize, ecodes

from terminal.core import scancodes
from terminal.core.scancodes import KEYMAP, ScanDecoder, ScanLineDecoder

from .helpers import US_LAYOUT, key_events


def decode(events, decoder=None):
    decoder = decoder or ScanDecoder()
    out = []
    for sec, usec, etype, code, value in events:
        ev = InputEvent(sec, usec, etype, code, value)
        got = decoder.feed(ev.type, ev.code, ev.value, ev.timestamp())
        if got is not None:
            out.append(got)
    return out


def test_key_codes_are_the_kernel_abi_that_evdev_reports():
    for name in ("EV_SYN", "EV_KEY", "EV_MSC", "KEY_TAB", "KEY_ENTER", "KEY_KPENTER", "KEY_LEFTSHIFT",
                 "KEY_RIGHTSHIFT", "KEY_CAPSLOCK"):
        assert getattr(scancodes, name) == ecodes.ecodes[name], name
    for ch, (name, shifted) in US_LAYOUT.items():
        assert KEYMAP[ecodes.ecodes[name]][int(shifted)] == ch, (ch, name)
    for name, ch in {"KEY_KPPLUS": "+", "KEY_KPMINUS": "-", "KEY_KPDOT": ".", "KEY_KPSLASH": "/",
                     "KEY_KP0": "0", "KEY_KP7": "7", "KEY_KPASTERISK": "*"}.items():
        assert KEYMAP[ecodes.ecodes[name]] == (ch, ch)


def test_input_events_are_what_evdev_constructs():
    ev = InputEvent(1000, 500, ecodes.EV_KEY, ecodes.KEY_SLASH, 1)
    assert categorize(ev).keycode == "KEY_SLASH" and ev.timestamp() == pytest.approx(1000.0005)


@pytest.mark.parametrize("code", ["/ABC+123", "/XY.-Z+9", "/+-.0Z9A", "AB12345678901234", "04595257", "168001"])
def test_carrier_donation_and_tax_id_codes_round_trip(code):
    assert decode(key_events(code)) == [code]


def test_autorepeat_is_ignored_and_shift_follows_press_and_release():
    events = key_events("/AB", enter=False)
    sec, usec = events[-1][:2]
    events += [(sec, usec, ecodes.EV_KEY, ecodes.KEY_C, 2),  # autorepeat of a key: no character
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_RIGHTSHIFT, 1),
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_RIGHTSHIFT, 2),  # autorepeat of shift
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_EQUAL, 1),
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_RIGHTSHIFT, 0),
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_EQUAL, 1),
               (sec, usec, ecodes.EV_KEY, ecodes.KEY_KPENTER, 1)]
    assert decode(events) == ["/AB+="]


def test_caps_lock_flips_letters_only():
    events = [(1, 0, ecodes.EV_KEY, ecodes.KEY_CAPSLOCK, 1)] + key_events("/ab+1", t0=1.001)
    assert decode(events) == ["/AB+1"]


def test_lone_enter_and_tab_terminator():
    events = key_events("", t0=1) + key_events("168001", t0=2, enter=False) \
        + [(2, 200_000, ecodes.EV_KEY, ecodes.KEY_TAB, 1)]
    assert decode(events) == ["168001"]


def test_a_gap_longer_than_the_timeout_drops_the_partial_code():
    decoder = ScanDecoder(gap_s=0.3)
    events = key_events("/ABC", t0=10.0, enter=False) + key_events("/XY.-Z+9", t0=10.5)
    assert decode(events, decoder) == ["/XY.-Z+9"]
    assert decoder.dropped == 1


def test_keys_within_the_timeout_stay_one_code():
    events = key_events("/ABC", t0=10.0, step=0.01, enter=False) + key_events("+123", t0=10.4, step=0.01)
    assert events[-1][:2] > (10, 400_000) and events[21][:2] < (10, 250_000)  # 0.18 s pause in between
    assert decode(events, ScanDecoder(gap_s=0.3)) == ["/ABC+123"]


def test_expire_returns_and_counts_the_partial():
    decoder = ScanDecoder()
    decode(key_events("/AB", enter=False), decoder)
    assert decoder.has_partial
    assert decoder.expire() == "/AB" and decoder.expire() is None
    assert decoder.dropped == 1 and not decoder.has_partial


def test_overlong_input_is_dropped_up_to_the_next_enter():
    decoder = ScanDecoder(max_len=8)
    assert decode(key_events("123456789") + key_events("168001", t0=2000), decoder) == ["168001"]
    assert decoder.dropped == 1


def test_unmapped_keys_and_other_event_types_add_nothing():
    events = [(1, 0, ecodes.EV_KEY, ecodes.KEY_F1, 1), (1, 0, ecodes.EV_LED, 0, 1),
              (1, 0, ecodes.EV_KEY, ecodes.KEY_LEFTCTRL, 1)] + key_events("168", t0=1.001)
    assert decode(events) == ["168"]


def test_line_decoder_handles_cr_lf_crlf_and_split_reads():
    d = ScanLineDecoder()
    assert d.feed(b"/ABC+123\r\n168") == ["/ABC+123"]
    assert d.feed(b"001\n\n  \r04595257\r") == ["168001", "04595257"]
    assert d.feed(b"/XY.") == [] and d.has_partial
    assert d.feed(b"-Z+9\r\n") == ["/XY.-Z+9"] and not d.has_partial


def test_line_decoder_marks_non_ascii_and_drops_overlong_lines():
    d = ScanLineDecoder(max_len=10)
    assert d.feed("/ABC發\n".encode()) == ["/ABC\ufffd\ufffd\ufffd"]
    assert d.feed(b"X" * 11 + b"\r168001\r") == ["168001"]
    assert d.dropped == 1
    assert d.feed(b"/AB") == [] and d.expire() == "/AB" and d.dropped == 2
