"""A USB HID barcode scanner (a "keyboard wedge") read through evdev: found by /dev/input path,
name or vendor:product, grabbed so its keystrokes never reach a console, decoded by
``terminal.core.scancodes.ScanDecoder``, and reopened after an unplug without a restart."""
from __future__ import annotations

import errno
import glob
import logging
import os
import select
import threading
from typing import Callable, Mapping

from terminal.core.errors import ConfigError
from terminal.core.scancodes import EV_KEY, KEY_ENTER, ScanDecoder

log = logging.getLogger(__name__)

MATCH_KEYS = ("path", "name", "vendor", "product")
_CFG_KEY = {"path": "scanner.by_id", "name": "scanner.name", "vendor": "scanner.vendor_id",
            "product": "scanner.product_id"}  # the [scanner] config keys, for error messages
_KEY_A, _KEY_Z = 30, 44  # a keyboard interface has letter keys; a scanner's consumer-control one has not
_GONE = (errno.ENODEV, errno.ENOENT, errno.EIO, errno.EBADF, errno.ENXIO)


class DeviceGone(Exception):
    """The input device disappeared (unplugged, or its fd reached end of file)."""


def check_match(match: Mapping) -> dict:
    """Validate a device match: ``path`` (a /dev/input path or glob such as
    ``/dev/input/by-id/*Barcode*-event-kbd``), ``name`` (case-insensitive substring), ``vendor`` /
    ``product`` (USB ids as int or hex string). Returns it normalised (ids as int)."""
    unknown = sorted(set(match) - set(MATCH_KEYS))
    if unknown:
        raise ConfigError(f"unknown scanner match key {unknown[0]!r} (known: {', '.join(MATCH_KEYS)})",
                          field=f"scanner.{unknown[0]}")
    out = {k: v for k, v in match.items() if v not in (None, "", 0)}
    if not out:
        raise ConfigError("the evdev scanner needs scanner.by_id, scanner.name or scanner.vendor_id to find it",
                          field="scanner.name")
    for key in ("vendor", "product"):
        if key in out:
            value = out[key]
            try:
                value = int(value, 16) if isinstance(value, str) else int(value)
            except ValueError:
                value = -1
            if not 0 < value <= 0xFFFF:
                raise ConfigError(f"{_CFG_KEY[key]} must be a USB id such as 0x0c2e, got {out[key]!r}",
                                  field=_CFG_KEY[key])
            out[key] = value
    return out


def matches(match: Mapping, *, path: str, name: str, vendor: int, product: int, keys: set[int]) -> bool:
    """Whether a device (its path, name, USB ids and EV_KEY codes) is the configured scanner."""
    if not {_KEY_A, _KEY_Z, KEY_ENTER} <= keys:
        return False
    if "name" in match and match["name"].lower() not in name.lower():
        return False
    if "vendor" in match and match["vendor"] != vendor:
        return False
    if "product" in match and match["product"] != product:
        return False
    return True


def find_input_device(match: Mapping, *, list_devices: Callable[[], list[str]] | None = None,
                      open_device: Callable[[str], object] | None = None, input_dir: str = "/dev/input"):
    """Open the first input device that ``match`` describes, or return None.

    :raises PermissionError: nothing matched and some input devices could not be opened for lack of
        permission (the service user is not in group ``input``).
    """
    import evdev

    open_device = open_device or evdev.InputDevice
    if "path" in match:
        paths = sorted(glob.glob(match["path"]))
    elif list_devices is not None:
        paths = list_devices()
    else:
        paths = sorted(glob.glob(os.path.join(input_dir, "event*")))
    denied = []
    for path in paths:
        try:
            dev = open_device(path)
        except PermissionError:
            denied.append(path)
            continue
        except OSError as e:  # vanished between listing and opening, or not an input device
            log.debug("cannot open %s: %s", path, e)
            continue
        keys = set(dev.capabilities().get(EV_KEY, ()))
        if matches(match, path=path, name=dev.name, vendor=dev.info.vendor, product=dev.info.product, keys=keys):
            return dev
        dev.close()
    if denied:
        raise PermissionError(errno.EACCES, f"no permission to read {', '.join(denied)}: add the service user "
                                            "to group input", denied[0])
    return None


class EvdevScanner:
    """Reads codes from a HID scanner and calls ``on_scan(code)`` for each (in this thread).

    :param match: how to find the device (see :func:`check_match`).
    :param timeout_s: a partial code older than this without Enter is dropped.
    :param grab: take the device exclusively (EVIOCGRAB) so no console sees the keystrokes.
    :param open_device: ``() -> device | None``; default finds the device by ``match``. A device has
        ``fd``, ``read()`` (evdev events), ``grab()``, ``ungrab()``, ``close()`` and ``name``.
    :param retry_s: seconds between looks for an absent device.
    :param on_drop: called with a partial code that timed out (e.g. to beep).
    :param on_connect: called with True when the scanner is opened and False when it is lost (e.g. to
        show 找不到掃描器 on the OLED).
    """

    def __init__(self, *, match: Mapping, on_scan: Callable[[str], None], timeout_s: float = 0.3,
                 grab: bool = True, open_device: Callable[[], object] | None = None, retry_s: float = 1.0,
                 on_drop: Callable[[str], None] | None = None, idle_poll_s: float = 0.5,
                 on_connect: Callable[[bool], None] | None = None) -> None:
        self.match = check_match(match) if open_device is None else dict(match)
        self.on_scan, self.on_drop, self.on_connect = on_scan, on_drop, on_connect
        self.timeout_s, self.grab, self.retry_s, self.idle_poll_s = timeout_s, grab, retry_s, idle_poll_s
        self._open = open_device or (lambda: find_input_device(self.match))
        self._device_name: str | None = None
        self.scans = self.dropped = self.reconnects = 0

    def status(self) -> dict:
        return {"type": "evdev", "connected": self._device_name is not None, "device": self._device_name,
                "scans": self.scans, "dropped": self.dropped, "reconnects": self.reconnects}

    def run(self, stop: threading.Event) -> None:
        """Read until ``stop`` is set, waiting for the device whenever it is absent."""
        problem = None  # logged once per kind of absence, not every retry
        while not stop.is_set():
            try:
                dev = self._open()
                absent = f"scanner not found ({self.match}); waiting for it"
            except OSError as e:
                dev, absent = None, f"scanner: cannot open input device: {e}"
            if dev is None:
                if absent != problem:
                    log.warning("%s", absent)
                    problem = absent
                stop.wait(self.retry_s)
                continue
            problem = None
            self._device_name = getattr(dev, "name", "?")
            log.info("scanner connected: %s", self._device_name)
            try:
                if self.grab:
                    dev.grab()
                self._notify(True)
                self._read(dev, stop)
            except DeviceGone:
                log.warning("scanner %s unplugged; waiting for it to come back", self._device_name)
                self.reconnects += 1
            except OSError as e:
                if e.errno not in _GONE:
                    raise
                log.warning("scanner %s gone (%s); waiting for it to come back", self._device_name, e)
                self.reconnects += 1
            finally:
                self._device_name = None
                _close(dev, ungrab=self.grab)
                self._notify(False)

    def _notify(self, connected: bool) -> None:
        if self.on_connect is not None:
            try:
                self.on_connect(connected)
            except Exception:
                log.exception("scanner connect handler failed")

    def _read(self, dev, stop: threading.Event) -> None:
        decoder = ScanDecoder(gap_s=self.timeout_s)
        while not stop.is_set():
            timeout = self.timeout_s if decoder.has_partial else self.idle_poll_s
            ready, _, _ = select.select([dev.fd], [], [], timeout)
            if not ready:
                self._expire(decoder)
                continue
            try:
                events = list(dev.read())
            except BlockingIOError:
                continue
            if not events:
                raise DeviceGone()
            for ev in events:
                code = decoder.feed(ev.type, ev.code, ev.value, ev.sec + ev.usec / 1e6)
                if code is not None:
                    self._emit(code)
            self.dropped = decoder.dropped

    def _expire(self, decoder: ScanDecoder) -> None:
        dropped = decoder.expire()
        if dropped is None:
            return
        self.dropped = decoder.dropped
        log.warning("scanner: dropped a partial code of %d characters (no Enter within %.2f s)",
                    len(dropped), self.timeout_s)
        if self.on_drop is not None:
            self.on_drop(dropped)

    def _emit(self, code: str) -> None:
        self.scans += 1
        log.info("scanner: code of %d characters", len(code))  # the code itself is personal data
        try:
            self.on_scan(code)
        except Exception:  # one failing handler must not stop the scanner
            log.exception("scan handler failed")


def _close(dev, *, ungrab: bool) -> None:
    for action in (("ungrab",) if ungrab else ()) + ("close",):
        try:
            getattr(dev, action)()
        except OSError:
            pass
