"""``receipt-terminal selftest``: printer test page, OLED test screen, LEDs and buzzer, scanner echo.

Each part is tried independently and reported as ok / failed with the reason, so a technician sees
every broken device at once. Nothing is issued: the test page uses a sample invoice marked 測試.
"""
from __future__ import annotations

import datetime as dt
import threading

from terminal.core import screens
from terminal.core.carriers import classify_scan
from terminal.core.errors import ValidationError
from terminal.core.invoice import Seller, build_invoice, parse_sale
from terminal.core.numbers import InvoiceNumber

SAMPLE_KEY_NOTE = "test pages use the configured QR key on a sample number AA00000000"


def sample_invoice(seller: Seller, now: dt.datetime):
    sale = parse_sale({"sale_id": "SELFTEST", "items": [{"name": "測試品項", "quantity": 1, "unit_price": 1}],
                       "total": 1})
    return build_invoice(sale, InvoiceNumber("AA", 0), now, "0000", seller)


def test_page(cfg, printer, now: dt.datetime) -> None:
    from terminal.core import receipt

    seller = Seller(cfg.seller.tax_id, cfg.seller.name, cfg.seller.address)
    inv = sample_invoice(seller, now)
    qr = inv.qr_codes(cfg.secrets.qr_aes_key, encoding=cfg.terminal.qr_encoding)
    printer.print_receipt(receipt.proof_layout(inv, qr, store_name=cfg.seller.store_name, reprint=False, test=True))


def run(args, cfg, emit) -> int:
    from drivers.clock import SystemClock
    from terminal import bootstrap

    clock = SystemClock()
    results: dict[str, dict] = {}

    def attempt(name, fn):
        try:
            detail = fn()
            results[name] = {"ok": True, "detail": detail or ""}
        except Exception as exc:  # report every device, do not stop at the first
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}

    printer = None

    def do_printer():
        nonlocal printer
        printer = bootstrap.open_printer(cfg, simulate=False)
        st = printer.status()
        test_page(cfg, printer, clock.now())
        return f"status before: {st.state}; test page sent"

    def do_oled():
        d = bootstrap.open_display(cfg, simulate=False)
        if d is None:
            return "disabled in config"
        d.show(screens.error_screen("selftest", "自我測試", "OLED OK"))
        return "test screen shown"

    def do_gpio():
        panel = bootstrap.open_panel(cfg, lambda: None, simulate=False)
        if panel is None:
            return "disabled in config"
        panel.led("ok")
        panel.beep("accept")
        panel.close()
        return "LED and buzzer driven"

    def do_clock():
        return f"now {clock.now().isoformat(timespec='seconds')}, synchronised: {clock.synchronized()}"

    attempt("clock", do_clock)
    attempt("printer", do_printer)
    attempt("oled", do_oled)
    attempt("gpio", do_gpio)
    if args.scan_seconds > 0:
        seen: list[str] = []

        def on_scan(raw: str) -> None:
            try:
                seen.append(f"{raw!r}: {type(classify_scan(raw)).__name__}")
            except ValidationError as exc:
                seen.append(f"{raw!r}: rejected ({exc.code})")
            print(seen[-1], flush=True)

        def do_scanner():
            sc = bootstrap.open_scanner(cfg, on_scan, simulate=False)
            if sc is None:
                return "disabled in config"
            stop = threading.Event()
            timer = threading.Timer(args.scan_seconds, stop.set)
            timer.start()
            sc.run(stop)
            return f"{len(seen)} scans"

        attempt("scanner", do_scanner)
    ok = all(r["ok"] for r in results.values())
    human = "\n".join(f"{'OK  ' if r['ok'] else 'FAIL'} {name}: {r['detail']}" for name, r in results.items())
    emit(args, {"ok": ok, "results": results}, human)
    return 0 if ok else 1
