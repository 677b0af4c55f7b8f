"""The composition root: the one place that picks concrete adapters (real hardware or simulated) and
wires them into a ``Terminal``. Hardware libraries are imported here, lazily, inside functions.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from terminal import config as config_mod
from terminal.core.errors import TerminalError
from terminal.core.numbers import NumberRange
from terminal.core.period import Period
from terminal.service import Terminal

log = logging.getLogger("receipt_terminal")
SIM_TRACK = "ZZ"  # simulate mode only; never a real allocation of this terminal


def open_ledger(cfg):
    from storage.ledger import Ledger

    state = Path(cfg.terminal.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    return Ledger.open(state / "ledger.sqlite3", terminal_id=cfg.terminal.id)


def open_printer(cfg, *, simulate: bool):
    p = cfg.printer
    if simulate:
        from drivers.printer import PngFilePrinter

        return PngFilePrinter(Path(cfg.terminal.state_dir) / "receipts", mode=p.mode, font_path=p.font or None)
    if p.connection == "none":
        return _NoPrinter()
    from drivers.printer import open_printer as open_escpos

    return open_escpos(cfg.section("printer"))


def open_display(cfg, *, simulate: bool):
    if simulate:
        from display import PngFrameDisplay

        return PngFrameDisplay(Path(cfg.terminal.state_dir) / "oled", font_path=cfg.oled.font or None)
    if not cfg.oled.enabled:
        return None
    from display import open_oled

    section = cfg.section("oled")
    for key in ("dim_after_s", "off_after_s", "orbit_s"):  # 0 in the config file means "never"
        section[key] = section[key] or None
    try:
        return open_oled(section)
    except TerminalError as exc:  # a missing panel must not stop sales; the API and LEDs still report
        log.error("OLED not available: %s", exc)
        return None


def open_panel(cfg, terminal_ref: Callable[[], Terminal], *, simulate: bool):
    """Buttons, LEDs and buzzer; gpiozero's MockFactory in simulate mode."""
    if not cfg.gpio.enabled and not simulate:
        return None
    from drivers.gpio import CounterPanel

    factory = None  # gpiozero's default (lgpio on Pi OS Bookworm)
    if simulate:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        factory = MockFactory(pin_class=MockPWMPin)
    g, t = cfg.gpio, terminal_ref
    pins = {name: getattr(g, f"{name}_pin") for name in
            ("reprint", "clear", "test_print", "upload", "led_ok", "led_error", "buzzer")}
    try:
        return CounterPanel(pins, pin_factory=factory, **({"bounce_s": None} if simulate else {}),
                            hold_s={"reprint": g.hold_seconds, "test_print": g.hold_seconds,
                                    "upload": g.hold_seconds, "clear": 0.0},
                            on_reprint=lambda: _safely(lambda: t().reprint_last()),
                            on_clear=lambda: _safely(lambda: t().clear_pending()),
                            on_test_print=lambda: _safely(lambda: t().test_print()),
                            on_upload=lambda: _safely(lambda: t().upload_now()))
    except Exception as exc:  # no GPIO (not a Pi, pins busy): sales go on without buttons and LEDs
        if simulate:
            raise
        log.error("GPIO panel not available: %s", exc)
        return None


def open_uploader(cfg, ledger, clock, rng):
    if cfg.upload.backend == "none":
        return None
    from drivers.vac import Uploader, make_client

    ccfg = {**cfg.section("upload"), **{k: v for k, v in cfg.section("secrets").items() if k.startswith("ecpay_")}}
    if ccfg["backend"] == "turnkey":
        ccfg["turnkey_state_dir"] = str(Path(cfg.terminal.state_dir) / "turnkey")
    client = make_client(ccfg, clock=clock.now)
    return Uploader(ledger.outbox, client, clock=clock.now, rng=rng)


def _safely(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # a button press must never kill the service
        log.exception("button action failed")


class _NoPrinter:
    """``[printer] connection = "none"``: every print is queued."""

    def status(self):
        from types import SimpleNamespace

        return SimpleNamespace(state="offline", message_en="no printer configured", message_zh="未設定印表機")

    def print_receipt(self, receipt) -> None:
        from terminal.core.errors import TerminalError

        raise TerminalError("no printer configured", code="printer_offline", message_zh="未設定印表機")


def seed_simulated_pool(ledger, now: dt.datetime) -> None:
    """Give simulate mode a demo range of 1,000 numbers in the current period (and the next)."""
    have = {(r.range.period, r.range.track) for r in ledger.list_ranges()}
    for period in (Period.of(now.date()), Period.of(now.date()).next()):
        if (period, SIM_TRACK) not in have:
            try:
                ledger.import_ranges([NumberRange(period, SIM_TRACK, 0, 999)], source="simulate", now=now)
            except Exception as exc:  # e.g. the next period starts in the past of a later restart
                log.info("simulate pool for %s not added: %s", period.code, exc)


@dataclass
class Built:
    terminal: Terminal
    ledger: Any
    scanner: Any = None


def build(cfg, *, simulate: bool = False, clock=None, rng: random.Random | None = None,
          scanner_stream=None) -> Built:
    if clock is None:
        from drivers.clock import SystemClock

        clock = SystemClock()
    rng = rng or random.SystemRandom()
    ledger = open_ledger(cfg)
    if simulate:
        seed_simulated_pool(ledger, clock.now())
    printer = open_printer(cfg, simulate=simulate)
    display = open_display(cfg, simulate=simulate)
    holder: dict[str, Terminal] = {}
    panel = open_panel(cfg, lambda: holder["t"], simulate=simulate)
    uploader = open_uploader(cfg, ledger, clock, rng)
    term = Terminal(cfg, ledger=ledger, printer=printer, display=display, panel=panel, clock=clock, rng=rng,
                    uploader=uploader)
    holder["t"] = term
    scanner = open_scanner(cfg, term.handle_scan, simulate=simulate, stream=scanner_stream)
    return Built(term, ledger, scanner)


def open_scanner(cfg, on_scan, *, simulate: bool, stream=None):
    s = cfg.scanner
    if s.type == "none":
        return None
    if s.type == "stdin" or simulate:
        import sys

        from drivers.scanner import StdinScanner

        return StdinScanner(stream if stream is not None else sys.stdin, on_scan=on_scan)
    from drivers.scanner import open_scanner as open_real

    return open_real(cfg.section("scanner"), on_scan)


def simulate_config(state_dir: Path, port: int | None):
    state_dir.mkdir(parents=True, exist_ok=True)
    token_file = state_dir / "api-token"
    if token_file.exists():
        token = token_file.read_text().strip()
    else:
        token = secrets.token_urlsafe(24)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
    return config_mod.simulated(state_dir, port=port, api_token=token)
