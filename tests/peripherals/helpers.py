"""Test doubles built on the libraries' own machinery: an evdev EventIO over a pipe (evdev's C
reader parses the bytes), a luma serial interface that records what a real panel would receive,
and gpiozero MockFactory/MockPin variants with a settable clock and state-change notification."""
from __future__ import annotations

import os
import struct
import threading

from evdev import ecodes
from evdev.eventio import EventIO
from gpiozero.pins.mock import MockFactory, MockPin

EVENT = struct.Struct("llHHi")  # struct input_event on this platform: timeval, type, code, value

# An independent US-layout oracle (evdev's key names), not the decoder's own table.
US_LAYOUT = {**{c: (f"KEY_{c.upper()}", False) for c in "abcdefghijklmnopqrstuvwxyz"},
             **{c: (f"KEY_{c}", True) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
             **{c: (f"KEY_{c}", False) for c in "0123456789"},
             "/": ("KEY_SLASH", False), "+": ("KEY_EQUAL", True), "-": ("KEY_MINUS", False),
             ".": ("KEY_DOT", False), " ": ("KEY_SPACE", False), "?": ("KEY_SLASH", True),
             "_": ("KEY_MINUS", True), "*": ("KEY_8", True), "$": ("KEY_4", True), "%": ("KEY_5", True)}


def key_events(text: str, t0: float = 1000.0, step: float = 0.004, enter: bool = True):
    """(sec, usec, type, code, value) tuples a US-layout scanner sends for ``text`` (+ Enter)."""
    out, t = [], t0

    def emit(etype, code, value):
        nonlocal t
        sec = int(t)
        out.append((sec, int(round((t - sec) * 1e6)), etype, code, value))
        t += step

    for ch in text:
        name, shifted = US_LAYOUT[ch]
        code = ecodes.ecodes[name]
        if shifted:
            emit(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1)
        emit(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000)
        emit(ecodes.EV_KEY, code, 1)
        emit(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
        emit(ecodes.EV_KEY, code, 0)
        if shifted:
            emit(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0)
        emit(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
    if enter:
        emit(ecodes.EV_KEY, ecodes.KEY_ENTER, 1)
        emit(ecodes.EV_KEY, ecodes.KEY_ENTER, 0)
        emit(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
    return out


class PipeInputDevice(EventIO):
    """An input device whose fd is a pipe: evdev's own ``read()`` (C ``device_read_many``) parses
    the ``struct input_event`` records written into it. Closing the write end is an unplug."""

    def __init__(self, name: str = "Symbol Bar Code Scanner", fail_errno: int | None = None) -> None:
        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)
        self.name = name
        self.fail_errno = fail_errno
        self.calls: list[str] = []

    def read(self):
        if self.fail_errno is not None:
            raise OSError(self.fail_errno, os.strerror(self.fail_errno))
        return super().read()

    def send(self, events) -> None:
        os.write(self._w, b"".join(EVENT.pack(*e) for e in events))

    def type(self, text: str, **kw) -> None:
        self.send(key_events(text, **kw))

    def unplug(self) -> None:
        os.close(self._w)

    def grab(self) -> None:
        self.calls.append("grab")

    def ungrab(self) -> None:
        self.calls.append("ungrab")

    def close(self) -> None:
        self.calls.append("close")
        os.close(self.fd)


class RecordingInterface:
    """A luma serial interface (``command``/``data``/``cleanup``) keeping every byte sent."""

    def __init__(self) -> None:
        self.commands: list[tuple[int, ...]] = []
        self.data_bytes: list[bytes] = []
        self.cleaned = 0

    def command(self, *cmd: int) -> None:
        self.commands.append(cmd)

    def data(self, data) -> None:
        self.data_bytes.append(bytes(data))

    def cleanup(self) -> None:
        self.cleaned += 1

    def take(self) -> tuple[list[tuple[int, ...]], bytes]:
        out = (self.commands, b"".join(self.data_bytes))
        self.commands, self.data_bytes = [], []
        return out


class SignallingPin(MockPin):
    """A MockPin that wakes waiters on every state change, so tests wait for events, not time."""

    changed = threading.Condition()

    def _change_state(self, value):
        with SignallingPin.changed:
            done = super()._change_state(value)
            SignallingPin.changed.notify_all()
        return done

    def wait_states(self, count: int, timeout: float = 5.0) -> list[bool]:
        with SignallingPin.changed:
            SignallingPin.changed.wait_for(lambda: len(self.states) >= count, timeout)
        return [s.state for s in self.states]


class ClockedMockFactory(MockFactory):
    """MockFactory whose ``ticks()`` is a clock the test sets (``now``)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.now = 0.0

    def ticks(self):
        return self.now
