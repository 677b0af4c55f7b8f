"""Printer status over the ESC/POS real-time queries ``DLE EOT n``, with their real limits.

python-escpos's ``paper_status()`` reports "plenty of paper" when the printer says nothing, and its
serial ``_read()`` waits for 16 bytes. Here every query reads one reply byte with a short timeout,
checks the fixed bits every ``DLE EOT`` reply carries (bit 1 and 4 set, bit 0 and 7 clear) and treats
silence or garbage as ``unknown``, never as ok. A link that cannot be opened is ``offline``.

Limits: ``File`` (``/dev/usb/lp0``) and ``Dummy`` have no way back, so they are always ``unknown``;
over USB the printer must implement its IN endpoint; the queries are answered from the receive buffer
as it is processed, so a job still printing can run out of paper after the "after" query.
"""
from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4
STATES = ("ok", "paper_near_end", "paper_out", "cover_open", "offline", "unknown")
MESSAGES = {
    "ok": ("printer ready", "印表機正常"),
    "paper_near_end": ("paper roll nearly used up", "紙捲即將用完"),
    "paper_out": ("printer is out of paper", "印表機缺紙"),
    "cover_open": ("printer cover is open", "印表機上蓋未關"),
    "offline": ("printer is offline", "印表機離線"),
    "unknown": ("printer did not answer the status query", "印表機狀態不明"),
}
READY = ("ok", "paper_near_end")
USB_DRAIN_MS = 10
_REALTIME_QUERY = re.compile(rb"\x10\x04[\x01-\x04]")


@dataclass(frozen=True)
class PrinterStatus:
    """``state`` is one of STATES; ``replies`` holds the raw reply byte per query (None: no answer)."""

    state: str
    message_zh: str
    message_en: str
    replies: dict = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, state: str, detail: str = "", replies: dict | None = None) -> "PrinterStatus":
        en, zh = MESSAGES[state]
        return cls(state, zh, f"{en}: {detail}" if detail else en, dict(replies or {}))

    @property
    def ready(self) -> bool:
        return self.state in READY

    @property
    def answered(self) -> bool:
        return any(v is not None for v in self.replies.values())


def valid_reply(byte: int | None) -> bool:
    return byte is not None and byte & 0x93 == 0x12


def interpret(replies: dict[int, int | None]) -> PrinterStatus:
    """The status from the reply bytes of DLE EOT 1 (printer), 2 (offline cause) and 4 (paper)."""
    printer, paper = replies.get(PRINTER), replies.get(PAPER)
    if not valid_reply(printer):
        detail = "no answer" if printer is None else f"unexpected reply 0x{printer:02x}"
        return PrinterStatus.of("unknown", detail, replies)
    paper_known = valid_reply(paper)
    if paper_known and paper & 0x60:
        return PrinterStatus.of("paper_out", replies=replies)
    if printer & 0x08:  # offline
        cause = replies.get(OFFLINE_CAUSE)
        if valid_reply(cause):
            if cause & 0x04:
                return PrinterStatus.of("cover_open", replies=replies)
            if cause & 0x20:
                return PrinterStatus.of("paper_out", replies=replies)
            if cause & 0x40:
                return PrinterStatus.of("offline", "printer error", replies)
        return PrinterStatus.of("offline", replies=replies)
    if not paper_known:
        # online, but the paper sensor did not answer: do not call that ok
        return PrinterStatus.of("unknown", "no answer from the paper sensor", replies)
    if paper & 0x0C:
        return PrinterStatus.of("paper_near_end", replies=replies)
    return PrinterStatus.of("ok", replies=replies)


class NoBackChannel(Exception):
    """The connection cannot read anything from the printer (File, Dummy)."""


def realtime_queries(data: bytes) -> int:
    """How many ``DLE EOT n`` a printer finds in ``data``: it answers them even inside raster data."""
    return len(_REALTIME_QUERY.findall(data))


def query(printer, n: int, timeout: float, *, stray: int = 0) -> int | None:
    """Send DLE EOT ``n`` and return the reply byte, None when the printer stays silent.

    ``stray`` replies are still owed for queries hidden in the data sent just before (see
    ``realtime_queries``); they come first, in order, so the last of up to ``stray + 1`` bytes is the
    answer (a printer that ignores hidden queries costs one timeout, never a wrong answer)."""
    dev = printer.device  # opens the connection (raises DeviceNotFoundError if it cannot); Dummy: None
    if not stray:
        _drain(printer, dev)
    printer._raw(DLE_EOT + bytes((n,)))
    last = None
    for _ in range(stray + 1):
        reply = _read_one(printer, dev, timeout)
        if not reply:
            break
        last = reply[-1]
    return last


def _drain(printer, dev) -> None:
    """Drop stale bytes (a late reply to an earlier query must not answer this one)."""
    if isinstance(dev, socket.socket):
        old = dev.gettimeout()
        dev.settimeout(0.0)
        try:
            while dev.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            dev.settimeout(old)
    elif hasattr(dev, "reset_input_buffer"):
        dev.reset_input_buffer()
    elif hasattr(printer, "in_ep"):
        import usb.core

        for _ in range(16):
            try:
                dev.read(printer.in_ep, 64, timeout=USB_DRAIN_MS)
            except usb.core.USBError:
                break


def _read_one(printer, dev, timeout: float) -> bytes:
    if isinstance(dev, socket.socket):
        old = dev.gettimeout()
        dev.settimeout(timeout)
        try:
            return dev.recv(1)
        except socket.timeout:
            return b""
        finally:
            dev.settimeout(old)
    if hasattr(dev, "reset_input_buffer"):  # pyserial: read(1) returns after one byte or the timeout
        old = dev.timeout
        dev.timeout = timeout
        try:
            return dev.read(1)
        finally:
            dev.timeout = old
    if hasattr(printer, "in_ep"):  # pyusb device of escpos.printer.Usb
        import usb.core

        try:
            return bytes(dev.read(printer.in_ep, 16, timeout=max(1, int(timeout * 1000))))
        except usb.core.USBError as exc:  # timeout, or no IN endpoint: the write above worked, so not offline
            if not isinstance(exc, usb.core.USBTimeoutError):
                log.info("no status from USB endpoint 0x%02x: %s", printer.in_ep, exc)
            return b""
    try:
        return printer._read()
    except NotImplementedError:
        raise NoBackChannel(type(printer).__name__) from None


def probe(printer, *, timeout: float = 0.5, stray: int = 0) -> PrinterStatus:
    """Ask the printer; never raises for a printer problem, only reports it. ``stray``: see query."""
    replies: dict[int, int | None] = {}
    try:
        replies[PRINTER] = query(printer, PRINTER, timeout, stray=stray)
        if replies[PRINTER] is None:
            return interpret(replies)
        replies[PAPER] = query(printer, PAPER, timeout)
        if valid_reply(replies[PRINTER]) and replies[PRINTER] & 0x08:
            replies[OFFLINE_CAUSE] = query(printer, OFFLINE_CAUSE, timeout)
    except NoBackChannel as exc:
        return PrinterStatus.of("unknown", f"{exc} connections cannot report status", replies)
    except Exception as exc:  # noqa: BLE001 - DeviceNotFoundError, OSError, USBError, SerialException
        log.info("printer status query failed: %s: %s", type(exc).__name__, exc)
        reset_connection(printer)
        return PrinterStatus.of("offline", f"{type(exc).__name__}: {exc}".splitlines()[0], replies)
    return interpret(replies)


def reset_connection(printer) -> None:
    """Close a failed connection so that the next use opens it again (python-escpos leaves a printer
    whose open() failed in a state where it never retries)."""
    try:
        printer.close()
    except Exception:  # noqa: BLE001 - the link is already broken; closing is best effort
        pass
    printer.device = False
