"""Barcode scanners at the counter: USB HID through evdev, USB serial (CDC-ACM) through pyserial, and
stdin for simulate mode. Each has ``run(stop)`` (blocking; run it in a thread) that calls
``on_scan(code)`` with every complete code, and ``status()``. Hardware libraries are imported only
when a scanner runs."""
from __future__ import annotations

from typing import Callable, Mapping

from terminal.core.errors import ConfigError

from .evdev_scanner import EvdevScanner, find_input_device
from .serial_scanner import SerialScanner
from .stdin_scanner import StdinScanner

__all__ = ["EvdevScanner", "SerialScanner", "StdinScanner", "find_input_device", "open_scanner"]

_KEYS = {"type", "name", "vendor_id", "product_id", "by_id", "path", "device", "baudrate", "timeout_ms",
         "grab", "retry_s"}


def open_scanner(cfg: Mapping, on_scan: Callable[[str], None], *, stream=None,
                 on_drop: Callable[[str], None] | None = None):
    """Build the scanner the ``[scanner]`` config section describes (None for type "none").

    * ``type = "evdev"``: found by ``by_id`` (alias ``path``: a /dev/input path or glob), else by
      ``name`` and/or ``vendor_id``/``product_id`` (0 = any); ``grab`` (default true).
    * ``type = "serial"``: ``device`` (path or pyserial URL) at ``baudrate`` (default 9600).
    * ``type = "stdin"``: lines from ``stream`` (default ``sys.stdin``).
    ``timeout_ms`` (default 300) drops a partial code. Nothing is opened until ``run``.

    :raises ConfigError: naming the ``scanner.<key>`` that is unknown or wrong.
    """
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown key scanner.{unknown[0]}", field=f"scanner.{unknown[0]}")
    kind = cfg.get("type", "evdev")
    timeout_ms = cfg.get("timeout_ms", 300)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or not 20 <= timeout_ms <= 5000:
        raise ConfigError(f"scanner.timeout_ms must be 20 to 5000, got {timeout_ms!r}", field="scanner.timeout_ms")
    retry_s = cfg.get("retry_s", 1.0)
    if isinstance(retry_s, bool) or not isinstance(retry_s, (int, float)) or not 0 < retry_s <= 60:
        raise ConfigError(f"scanner.retry_s must be 0 to 60 seconds, got {retry_s!r}", field="scanner.retry_s")
    if kind == "none":
        return None
    if kind == "stdin":
        import sys

        return StdinScanner(stream if stream is not None else sys.stdin, on_scan=on_scan)
    if kind == "serial":
        device = cfg.get("device") or ""
        if not device:
            raise ConfigError("scanner.device must name the serial port, e.g. /dev/ttyACM0", field="scanner.device")
        baudrate = cfg.get("baudrate", 9600)
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or not 1200 <= baudrate <= 921600:
            raise ConfigError(f"scanner.baudrate must be 1200 to 921600, got {baudrate!r}", field="scanner.baudrate")
        return SerialScanner(device, on_scan=on_scan, baudrate=baudrate, timeout_s=timeout_ms / 1000,
                             retry_s=retry_s, on_drop=on_drop)
    if kind == "evdev":
        match = {"path": cfg.get("by_id") or cfg.get("path"), "name": cfg.get("name"),
                 "vendor": cfg.get("vendor_id"), "product": cfg.get("product_id")}
        grab = cfg.get("grab", True)
        if not isinstance(grab, bool):
            raise ConfigError(f"scanner.grab must be true or false, got {grab!r}", field="scanner.grab")
        return EvdevScanner(match=match, on_scan=on_scan, timeout_s=timeout_ms / 1000, grab=grab,
                            retry_s=retry_s, on_drop=on_drop)
    raise ConfigError(f"scanner.type must be evdev, serial, stdin or none, got {kind!r}", field="scanner.type")
