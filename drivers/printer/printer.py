"""The receipt printer the service talks to: status before and after each job, the job encoded in full
before it is sent, and every failure turned into a PrinterError with a stable code."""
from __future__ import annotations

import logging
from typing import Mapping

from terminal.core.errors import ConfigError
from terminal.core.receipt import Receipt

from .encode import MODES, Encoder
from .errors import PrinterError
from .raster import DOTS_PER_MM, QR_QUIET
from .status import PrinterStatus, probe, realtime_queries, reset_connection

log = logging.getLogger(__name__)

BLOCKING = ("paper_out", "cover_open", "offline")
CHUNK = 4096  # bytes per write: small enough for slow USB stacks, large enough to be cheap
USB_WRITE_TIMEOUT_MS = 20_000  # per chunk; python-escpos's default 0 waits forever on a stalled printer


class ReceiptPrinter:
    """Prints receipts on a python-escpos printer object (Usb, Serial, Network, File or Dummy).

    :param mode: ``raster``, ``big5`` or ``gb18030`` (see README.md, "Modes").
    :param status_timeout: seconds to wait for each status reply.
    :param require_status: refuse to print while the status is ``unknown``. Off by default, so a
        printer without a way back (``File``, many USB units) still prints; its status stays
        ``unknown`` and is never reported as ok.
    :param write_timeout: seconds a serial write may block (a printer holding its flow control line
        when out of paper would otherwise hang the service).
    :param qr_edge_dots: see Encoder.
    """

    def __init__(self, escpos_printer, *, mode: str = "raster", font_path: str | None = None,
                 width_dots: int = 384, status_timeout: float = 0.5, require_status: bool = False,
                 tear_feed_mm: float = 12.0, write_timeout: float = 30.0, qr_edge_dots: int = QR_QUIET) -> None:
        self.escpos = escpos_printer
        self.encoder = Encoder(mode=mode, font_path=font_path, width_dots=width_dots,
                               profile=escpos_printer.profile, tear_feed_mm=tear_feed_mm, qr_edge_dots=qr_edge_dots)
        self.status_timeout = status_timeout
        self.require_status = require_status
        self.write_timeout = write_timeout
        self.last_status: PrinterStatus | None = None

    @property
    def mode(self) -> str:
        return self.encoder.mode

    def status(self) -> PrinterStatus:
        return self._status()

    def _status(self, stray: int = 0) -> PrinterStatus:
        self.last_status = probe(self.escpos, timeout=self.status_timeout, stray=stray)
        return self.last_status

    def encode(self, receipt: Receipt) -> bytes:
        """The job's bytes; PrinterError(render_failed or font_missing) if it cannot be drawn."""
        try:
            return self.encoder.encode(receipt)
        except PrinterError:
            raise
        except (ValueError, TypeError) as exc:
            raise PrinterError("render_failed", f"receipt {receipt.key} cannot be rendered: {exc}") from None

    def print_receipt(self, receipt: Receipt) -> None:
        """Print one receipt, or raise PrinterError (``sent`` says whether anything went out)."""
        job = self.encode(receipt)
        before = self.status()
        if before.state in BLOCKING or (self.require_status and before.state == "unknown"):
            raise PrinterError(before.state, f"not printing {receipt.key}: {before.message_en}", status=before)
        done = 0
        try:
            _bound_serial_writes(self.escpos, self.write_timeout)
            for done in range(0, len(job), CHUNK):
                self.escpos._raw(job[done:done + CHUNK])
        except Exception as exc:  # noqa: BLE001 - every transport has its own error types
            sent = done > 0 or type(exc).__name__ != "DeviceNotFoundError"
            reset_connection(self.escpos)
            raise PrinterError("offline", f"sending {receipt.key} failed: {type(exc).__name__}: {exc}",
                               sent=sent) from None
        after = self._status(stray=realtime_queries(job))
        if after.state in BLOCKING:
            raise PrinterError(after.state, f"{receipt.key} sent, then: {after.message_en}", sent=True, status=after)
        if after.state == "unknown" and before.state != "unknown":
            raise PrinterError("unknown", f"{receipt.key} sent, then the printer stopped answering", sent=True,
                               status=after)
        log.info("printed %s %s (%d bytes, %s)", receipt.kind, receipt.key, len(job), after.state)


def _bound_serial_writes(escpos, seconds: float) -> None:
    dev = escpos.device
    if hasattr(dev, "write_timeout") and dev.write_timeout is None:
        dev.write_timeout = seconds


def open_printer(cfg: Mapping) -> ReceiptPrinter:
    """A ReceiptPrinter for the ``[printer]`` config section. Nothing is opened yet: the connection
    opens on the first status query or job, so the service starts with the printer switched off.

    Keys: ``connection`` (usb, serial, network, file), ``vendor_id``/``product_id``/``in_ep``/``out_ep``
    (usb), ``device`` (serial port, or the file, default /dev/usb/lp0), ``baudrate`` and ``dsrdtr``
    (serial), ``host``/``port`` (network), ``profile`` (python-escpos printer profile), ``mode``,
    ``font``, ``status_timeout``, ``require_status``, ``qr_quiet_edge_mm`` (QR quiet zone kept inside
    the printable width at the edges, default 2; 1.5 lets the paper margin complete it, see README).
    Other keys are ignored.
    """
    from escpos import printer as escpos_printer
    from escpos.capabilities import get_profile

    conn = cfg.get("connection", "usb")
    name = cfg.get("profile") or "default"
    try:
        profile = get_profile(name)
    except KeyError:
        raise ConfigError(f"[printer] profile: unknown python-escpos profile {name!r}", code="config_error",
                          field="printer.profile") from None
    mode = cfg.get("mode", "raster")
    if mode not in MODES:
        raise ConfigError(f"[printer] mode must be one of {', '.join(MODES)}, got {mode!r}", field="printer.mode")
    if conn == "usb":
        p = escpos_printer.Usb(_int(cfg, "vendor_id", 0x0416), _int(cfg, "product_id", 0x5011),
                               in_ep=_int(cfg, "in_ep", 0x82), out_ep=_int(cfg, "out_ep", 0x01),
                               timeout=USB_WRITE_TIMEOUT_MS, profile=name)
    elif conn == "serial":
        p = escpos_printer.Serial(devfile=_required(cfg, "device"), baudrate=_int(cfg, "baudrate", 115200),
                                  dsrdtr=bool(cfg.get("dsrdtr", True)), timeout=1, profile=name)
    elif conn == "network":
        p = escpos_printer.Network(_required(cfg, "host"), port=_int(cfg, "port", 9100), timeout=10,
                                   profile=name)
    elif conn == "file":
        p = escpos_printer.File(devfile=cfg.get("device") or "/dev/usb/lp0", profile=name)
    else:
        raise ConfigError(f"[printer] connection must be usb, serial, network or file, got {conn!r}",
                          field="printer.connection")
    pixels = profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    edge_mm = cfg.get("qr_quiet_edge_mm", QR_QUIET / DOTS_PER_MM)
    if isinstance(edge_mm, bool) or not isinstance(edge_mm, (int, float)) or not 0 <= edge_mm <= 2:
        raise ConfigError(f"[printer] qr_quiet_edge_mm must be a number from 0 to 2, got {edge_mm!r}",
                          field="printer.qr_quiet_edge_mm")
    return ReceiptPrinter(p, mode=mode, font_path=cfg.get("font") or None,
                          width_dots=pixels if isinstance(pixels, int) else 384,
                          status_timeout=float(cfg.get("status_timeout", 0.5)),
                          require_status=bool(cfg.get("require_status", False)),
                          qr_edge_dots=round(edge_mm * DOTS_PER_MM))


def _int(cfg: Mapping, key: str, default: int) -> int:
    value = cfg.get(key, default)
    try:
        return int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"[printer] {key} must be an integer (e.g. 0x0416), got {value!r}",
                          field=f"printer.{key}") from None


def _required(cfg: Mapping, key: str) -> str:
    value = cfg.get(key)
    if not value or not isinstance(value, str):
        raise ConfigError(f"[printer] {key} is required for a {cfg.get('connection')} printer",
                          field=f"printer.{key}")
    return value
