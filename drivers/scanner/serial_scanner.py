"""A barcode scanner in USB serial (CDC-ACM, ``/dev/ttyACM0``) mode, read with pyserial: each code
ends with CR, LF or CRLF. No keymap, no grab, no console leakage; the port is reopened after an
unplug. Any pyserial URL works too (``loop://`` in tests)."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from terminal.core.scancodes import ScanLineDecoder

log = logging.getLogger(__name__)


class SerialScanner:
    """Reads codes from a serial port and calls ``on_scan(code)`` for each (in this thread).

    :param port_or_url: a device path (``/dev/serial/by-id/usb-...-if00`` is stable) or pyserial URL.
    :param timeout_s: a partial code with no line end for this long is dropped.
    :param open_port: ``() -> serial port``; default ``serial.serial_for_url(port_or_url, ...)``.
    :param retry_s: seconds between attempts to reopen an absent port.
    :param on_drop: called with a partial code that timed out.
    :param on_connect: called with True when the scanner is opened and False when it is lost (e.g. to
        show 找不到掃描器 on the OLED).
    """

    def __init__(self, port_or_url: str, *, on_scan: Callable[[str], None], baudrate: int = 9600,
                 timeout_s: float = 0.3, open_port: Callable[[], object] | None = None, retry_s: float = 1.0,
                 on_drop: Callable[[str], None] | None = None, idle_poll_s: float = 0.5,
                 on_connect: Callable[[bool], None] | None = None) -> None:
        self.port_or_url, self.baudrate = port_or_url, baudrate
        self.on_scan, self.on_drop, self.on_connect = on_scan, on_drop, on_connect
        self.timeout_s, self.retry_s, self.idle_poll_s = timeout_s, retry_s, idle_poll_s
        self._open = open_port or self._open_default
        self._connected = False
        self.scans = self.dropped = self.reconnects = 0

    def _open_default(self):
        import serial

        return serial.serial_for_url(self.port_or_url, baudrate=self.baudrate, timeout=self.idle_poll_s)

    def status(self) -> dict:
        return {"type": "serial", "connected": self._connected, "device": self.port_or_url,
                "scans": self.scans, "dropped": self.dropped, "reconnects": self.reconnects}

    def run(self, stop: threading.Event) -> None:
        """Read until ``stop`` is set, reopening the port whenever it goes away."""
        import serial

        missing_logged = False
        while not stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError) as e:
                if not missing_logged:
                    log.warning("scanner port %s not available (%s); waiting for it", self.port_or_url, e)
                    missing_logged = True
                stop.wait(self.retry_s)
                continue
            missing_logged = False
            self._connected = True
            log.info("scanner connected on %s", self.port_or_url)
            try:
                self._notify(True)
                self._read(port, stop)
            except (serial.SerialException, OSError) as e:
                log.warning("scanner port %s lost (%s); waiting for it to come back", self.port_or_url, e)
                self.reconnects += 1
            finally:
                self._connected = False
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass
                self._notify(False)

    def _notify(self, connected: bool) -> None:
        if self.on_connect is not None:
            try:
                self.on_connect(connected)
            except Exception:
                log.exception("scanner connect handler failed")

    def _read(self, port, stop: threading.Event) -> None:
        decoder = ScanLineDecoder()
        while not stop.is_set():
            timeout = self.timeout_s if decoder.has_partial else self.idle_poll_s
            if port.timeout != timeout:
                port.timeout = timeout
            data = port.read(1)
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(waiting)
            elif decoder.has_partial:
                dropped = decoder.expire()
                self.dropped = decoder.dropped
                log.warning("scanner: dropped a partial code of %d characters (no line end within %.2f s)",
                            len(dropped or ""), self.timeout_s)
                if self.on_drop is not None:
                    self.on_drop(dropped or "")
                continue
            for code in decoder.feed(data):
                self.scans += 1
                log.info("scanner: code of %d characters", len(code))
                try:
                    self.on_scan(code)
                except Exception:
                    log.exception("scan handler failed")
            self.dropped = decoder.dropped
