"""The sale flow: POS sale + pending buyer data → issue (ledger) → print or not → OLED → outbox,
and the void (註銷), cancel (作廢), allowance (折讓) and reprint (補印) flows.

``Terminal`` holds no hardware itself: the ledger, printer, display, panel and uploader are injected by
the composition root (``terminal.bootstrap``), and so are the clock and the random source. Every public
method returns plain dicts shaped for the LAN API (shared/reference/interfaces.md §1).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import threading
from typing import Any, Mapping

from terminal.core import screens
from terminal.core.pending import PendingBuyerData
from terminal.core.vac_deadline import deadline_status
from terminal.core.errors import CannotIssue, TerminalError, ValidationError
from terminal.core.invoice import Seller, parse_sale
from terminal.core.messages import AllowanceLine
from terminal.core.numbers import InvoiceNumber
from terminal.core.period import Period

log = logging.getLogger("receipt_terminal")
ISSUED_HOLD_S = 10.0  # the issued / error screens stay up this long before the status screen returns
ERROR_HOLD_S = 20.0
PRINTER_POLL_S = 30.0  # printer status queries are real traffic on the printer's link: not every tick
STATUS_REFRESH_S = 15.0
PRINTER_PROBLEMS_ZH = {"paper_out": "印表機缺紙", "cover_open": "印表機上蓋未關", "offline": "印表機未連線"}


class NotFound(TerminalError):
    code = "not_found"
    message_zh = "查無資料"


class Conflict(TerminalError):
    code = "conflict"
    message_zh = "資料衝突"


def sale_fingerprint(body: Mapping[str, Any]) -> str:
    """Canonical hash of a POS sale body: the same sale retried hashes the same."""
    canon = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class Terminal:
    def __init__(self, cfg, *, ledger, printer, display, clock, rng: random.Random,
                 panel=None, uploader=None, layout=None) -> None:
        self.cfg = cfg
        self.ledger = ledger
        self.printer = printer
        self.display = display
        self.panel = panel
        self.uploader = uploader
        self.clock = clock
        self.rng = rng
        s = cfg.seller
        self.seller = Seller(s.tax_id, s.name, s.address)
        self._issue_lock = threading.Lock()
        self._print_lock = threading.Lock()
        self.pending = PendingBuyerData(cfg.terminal.pending_seconds)
        self._last_error: TerminalError | None = None
        self._last_number: str | None = None
        self._hold_until = 0.0
        self._status_due = 0.0
        self._status_synced: bool | None = None
        self._closed_for: Period | None = None
        self._printer_state = "unknown"
        self._printer_message = "not asked yet"
        self._next_printer_poll = 0.0
        if layout is None:
            from terminal.core import receipt as layout
        self.layout = layout

    # ------------------------------------------------------------------ scanning
    def handle_scan(self, raw: str) -> dict:
        """A code from the scanner: becomes the pending buyer data, or beeps and says why."""
        outcome = self.pending.scan(raw, self.clock.monotonic())
        if not outcome.accepted:
            exc = outcome.error
            log.info("scan rejected: %s", exc.code)
            self._beep("reject")
            self._show(screens.scan_rejected_screen(exc.message_zh, raw), hold_s=ERROR_HOLD_S)
            return {"accepted": False, "error": exc.as_dict()}
        self._beep("accept")
        self._show(screens.pending_screen(outcome.pending.choice, int(self.pending.hold_s)))
        return {"accepted": True, "kind": type(outcome.pending.choice).__name__}

    def clear_pending(self) -> None:
        self.pending.clear()
        self.refresh_display()

    # ------------------------------------------------------------------ issuing
    def check_can_issue(self) -> None:
        if self.cfg.terminal.require_clock_sync and not self.clock.synchronized():
            raise CannotIssue("the system clock is not synchronised (NTP); refusing to issue",
                              code="clock_not_synchronized", message_zh="時間未同步，暫停開立")

    def sale(self, body: Any) -> tuple[int, dict]:
        sale = parse_sale(body)
        fingerprint = sale_fingerprint(body)
        with self._issue_lock:
            try:
                if self.ledger.get_by_sale_id(sale.sale_id) is None:
                    self.check_can_issue()
                    sale = sale.with_scanned(self.pending.take(self.clock.monotonic()))
                inv, created = self.ledger.issue(
                    sale, now=self.clock.now(), seller=self.seller,
                    random_code=lambda: self.rng.randrange(10000), sale_fingerprint=fingerprint,
                    split_consumer_tax=self.cfg.terminal.split_consumer_tax)
            except CannotIssue as exc:
                self._set_error(exc)
                raise
        if created:
            self._last_number = str(inv.number)
            self._after_issue(inv)
        rec = self.ledger.get_invoice(str(inv.number))
        return (201 if created else 200), self.invoice_json(rec)

    def _after_issue(self, inv) -> None:
        number = str(inv.number)
        if inv.prints_proof:
            state = self._print_proof(number, reprint=False)
            outcome = "printed" if state == "printed" else "queued"
        else:
            self.ledger.set_print_state(number, "not_printed", now=self.clock.now())
            if self.cfg.printer.detail_slip and self.cfg.printer.connection != "none":
                self._print_slip(inv)
            outcome = "carrier" if inv.carrier else "donation"
        self._clear_error()
        self._show(screens.issued_screen(inv.number.printed, outcome), hold_s=ISSUED_HOLD_S)

    def _print_proof(self, number: str, *, reprint: bool, fail_state: str = "queued") -> str:
        """Print the proof; returns the new print state. A failure queues the print (the invoice stays
        issued; the number is never burnt for a printer problem)."""
        rec = self.ledger.get_invoice(number)
        reprint = reprint or rec.print_count >= 1
        qr = rec.invoice.qr_codes(self.cfg.secrets.qr_aes_key, encoding=self.cfg.terminal.qr_encoding,
                                  max_version=self.cfg.terminal.max_qr_version)
        receipt = self.layout.proof_layout(rec.invoice, qr, store_name=self.cfg.seller.store_name,
                                           reprint=reprint, test=self.cfg.terminal.test_mode,
                                           footer=self.cfg.terminal.receipt_footer or None)
        try:
            with self._print_lock:
                self.printer.print_receipt(receipt)
        except TerminalError as exc:
            log.warning("print of %s failed: %s", number, exc.code)
            if fail_state != "pending":
                self.ledger.set_print_state(number, fail_state, now=self.clock.now())
            self._printer_state = getattr(getattr(exc, "status", None), "state", None) or exc.code
            self._printer_message = exc.message
            self._set_error(exc)
            return fail_state
        self._printer_state, self._printer_message = "ok", "printed"
        self.ledger.set_print_state(number, "printed", now=self.clock.now())
        return "printed"

    def _print_slip(self, inv) -> None:
        try:
            with self._print_lock:
                self.printer.print_receipt(self.layout.detail_slip_layout(inv, store_name=self.cfg.seller.store_name))
        except TerminalError as exc:  # a detail slip is a courtesy; never queue it
            log.warning("detail slip for %s not printed: %s", inv.number, exc.code)

    def recover_interrupted_prints(self) -> list[str]:
        """At start-up: proofs whose print outcome was never recorded (the service stopped between
        issuing and printing). Whether the original came out is unknown, so they are printed as 補印:
        a customer may get a copy instead of an original, but two originals never exist. One that fails
        again stays pending (not queued, which would print an original) until the next start."""
        numbers = list(self.ledger.pending_prints())
        for number in numbers:
            log.warning("print of %s was interrupted; printing it as a reprint (補印)", number)
            self._print_proof(number, reprint=True, fail_state="pending")
        return numbers

    def retry_queued_prints(self) -> int:
        done = 0
        for number in self.ledger.queued_prints():
            if self._print_proof(number, reprint=False) != "printed":
                break
            done += 1
        return done

    def reprint(self, number: str) -> dict:
        rec = self._record(number)
        if not rec.invoice.prints_proof:
            raise ValidationError(f"invoice {number} went to a carrier or a donation: there is no proof to print",
                                  code="no_printed_proof", message_zh="載具或捐贈發票不列印證明聯")
        if rec.cancelled_at:
            raise Conflict(f"invoice {number} is cancelled", code="invoice_cancelled", message_zh="發票已作廢")
        state = self._print_proof(str(rec.invoice.number), reprint=True)
        return {**self.invoice_json(self.ledger.get_invoice(str(rec.invoice.number))), "reprint_state": state}

    def reprint_last(self) -> dict | None:
        last = self.ledger.last_invoice()
        if last is None or not last.invoice.prints_proof:
            return None
        return self.reprint(str(last.invoice.number))

    # ------------------------------------------------------------------ corrections
    def _record(self, number: str):
        try:
            InvoiceNumber.parse(number)
        except ValidationError as exc:
            raise NotFound(str(exc), code="not_found", field="number") from None
        rec = self.ledger.get_invoice(number.replace("-", ""))
        if rec is None:
            raise NotFound(f"no invoice {number} in this terminal's ledger", code="not_found")
        return rec

    def cancel(self, number: str, body: Any) -> dict:
        """作廢 (F0501)."""
        reason = _reason(body)
        rec = self._record(number)
        with self._issue_lock:
            self.ledger.cancel(str(rec.invoice.number), now=self.clock.now(), reason=reason)
        return self.invoice_json(self.ledger.get_invoice(str(rec.invoice.number)))

    def void(self, number: str, body: Any) -> dict:
        """註銷 (F0701): withdraw the uploaded record; with corrected buyer data, re-issue the same number."""
        reason = _reason(body)
        rec = self._record(number)
        corrected = None
        if isinstance(body, Mapping) and body.get("corrected") is not None:
            fix = body["corrected"]
            if not isinstance(fix, Mapping):
                raise ValidationError("corrected must be an object", code="malformed", field="corrected")
            allowed = {"buyer_tax_id", "carrier", "donation_code"}
            extra = set(fix) - allowed
            if extra:
                raise ValidationError(f"unknown field {sorted(extra)[0]!r}", code="unknown_field",
                                      field=f"corrected.{sorted(extra)[0]}")
            inv = rec.invoice
            corrected = parse_sale({
                "sale_id": inv.sale_id or str(inv.number),
                "items": [{"name": i.name, "quantity": i.quantity, "unit_price": i.unit_price} for i in inv.items],
                "total": inv.total, **{k: fix.get(k) for k in allowed}})
        with self._issue_lock:
            self.ledger.void(str(rec.invoice.number), now=self.clock.now(), reason=reason, corrected=corrected)
        return self.invoice_json(self.ledger.get_invoice(str(rec.invoice.number)))

    def allowance(self, number: str, body: Any) -> dict:
        """折讓 (G0401): body {"lines": [{"line": 1, "quantity": 1, "amount": 45}]}."""
        rec = self._record(number)
        if not isinstance(body, Mapping) or not isinstance(body.get("lines"), list) or not body["lines"]:
            raise ValidationError("lines must be a non-empty list", code="invalid_allowance", field="lines")
        lines = []
        for n, line in enumerate(body["lines"]):
            if not isinstance(line, Mapping):
                raise ValidationError(f"lines[{n}] must be an object", code="invalid_allowance", field=f"lines[{n}]")
            vals = []
            for key in ("line", "quantity", "amount"):
                v = line.get(key)
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise ValidationError(f"lines[{n}].{key} must be a positive integer", code="invalid_allowance",
                                          field=f"lines[{n}].{key}")
                vals.append(v)
            lines.append(AllowanceLine(*vals))
        with self._issue_lock:
            allowance_number = self.ledger.add_allowance(str(rec.invoice.number), lines, now=self.clock.now())
        return {"allowance_number": allowance_number, "invoice_number": str(rec.invoice.number)}

    def cancel_allowance(self, allowance_number: str, body: Any) -> dict:
        reason = _reason(body)
        with self._issue_lock:
            self.ledger.cancel_allowance(allowance_number, now=self.clock.now(), reason=reason)
        return {"allowance_number": allowance_number, "cancelled": True}

    # ------------------------------------------------------------------ reading
    def get_invoice(self, number: str) -> dict:
        return self.invoice_json(self._record(number))

    @staticmethod
    def invoice_json(rec) -> dict:
        inv = rec.invoice
        return {
            "invoice_number": str(inv.number), "period": inv.period.code,
            "issued_at": inv.issued_at.isoformat(timespec="seconds"), "random_code": inv.random_code,
            "total": inv.total, "sales_amount": inv.sales_amount, "tax_amount": inv.tax_amount,
            "printed": rec.print_state == "printed", "print_state": rec.print_state,
            "print_count": rec.print_count,
            "carrier": {"type": inv.carrier.type, "id": inv.carrier.id} if inv.carrier else None,
            "donation_code": inv.donation.code if inv.donation else None,
            "buyer_tax_id": inv.buyer_tax_id, "sale_id": inv.sale_id,
            "items": [{"name": i.name, "quantity": i.quantity, "unit_price": i.unit_price} for i in inv.items],
            "cancelled_at": _iso(rec.cancelled_at), "voided_at": _iso(rec.voided_at),
        }

    def status(self) -> dict:
        now = self.clock.now()
        health = self.ledger.pool_health(now, warn_days=self.cfg.terminal.pool_warn_days)
        backlog = self.ledger.outbox.backlog(now)
        self._poll_printer()
        return {
            "time": now.isoformat(timespec="seconds"),
            "clock": {"synchronized": bool(self.clock.synchronized()),
                      "required": self.cfg.terminal.require_clock_sync},
            "pool": {"period": health.period, "numbers_left": health.numbers_left,
                     "issued_today": health.issued_today, "rate_per_day": health.rate_per_day,
                     "runs_out_on": _iso(health.runs_out_on), "next_period_imported": health.next_period_imported,
                     "next_period_warning": health.next_period_warning, "low": health.low},
            "printer": {"state": self._printer_state, "message": self._printer_message},
            "queued_prints": len(self.ledger.queued_prints()),
            "uploads": {"pending": backlog.pending, "rejected": backlog.rejected,
                        "oldest_pending_at": _iso(backlog.oldest_pending_at)},
            "pending_scan": _pending_kind(self.pending.current(self.clock.monotonic())),
            "last_error": self._last_error.as_dict() if self._last_error else None,
            "last_invoice": self._last_number,
        }

    def _poll_printer(self) -> bool:
        """Ask the printer for its state when the last answer is older than ``PRINTER_POLL_S`` (the
        query is real traffic on the printer's link, shared by the OLED loop and /v1/status); the print
        lock keeps a query from landing in the middle of a job. Returns True if it asked."""
        mono = self.clock.monotonic()
        if mono < self._next_printer_poll:
            return False
        self._next_printer_poll = mono + PRINTER_POLL_S
        try:
            with self._print_lock:
                st = self.printer.status()
            self._printer_state, self._printer_message = st.state, st.message_en
        except Exception as exc:  # a status query must never break the loop or /v1/status
            self._printer_state, self._printer_message = "unknown", str(exc)
        return True

    # ------------------------------------------------------------------ display and periodic work
    def status_screen(self):
        """What the idle OLED shows: a blocking condition as an error, else the pool with warnings."""
        now = self.clock.now()
        try:
            health = self.ledger.pool_health(now, warn_days=self.cfg.terminal.pool_warn_days)
            backlog = self.ledger.outbox.backlog(now)
            queued = len(self.ledger.queued_prints())
        except TerminalError as exc:
            return screens.error_screen(exc.code, exc.message_zh)
        if self.cfg.terminal.require_clock_sync and not self.clock.synchronized():
            return screens.error_screen("clock_not_synchronized", "時間未同步，暫停開立")
        if health.numbers_left == 0:
            return screens.error_screen("no_numbers", "未收到發票號碼", "請匯入本期字軌")
        warnings = []
        if health.next_period_warning:
            warnings.append("下期字軌未匯入")
        if health.low:
            warnings.append("號碼即將用完")
        if self._printer_state in PRINTER_PROBLEMS_ZH:
            warnings.append(PRINTER_PROBLEMS_ZH[self._printer_state])
        if queued:
            warnings.append(f"待列印 {queued} 張")
        upload_state, _ = deadline_status(backlog, now)
        if upload_state != "ok":
            warnings.append("上傳逾期" if upload_state == "overdue" else "發票待上傳逾一天")
        if backlog.rejected:
            warnings.append(f"上傳被退回 {backlog.rejected} 筆")
        return screens.ready_screen(health.period_label, health.numbers_left, health.days_left, warnings)

    def refresh_display(self) -> None:
        """Redraw what the OLED should show. The status screen costs a few ledger queries, so it is
        recomputed when something changed (a transient screen ended, the clock's sync state flipped)
        or every ``STATUS_REFRESH_S``; idle, a tick is then nearly free (the Pi Zero target: < 1 %)."""
        mono = self.clock.monotonic()
        if mono < self._hold_until:
            return  # an issued / error / rejected-scan screen is still up
        current = self.pending.current(mono)
        if current is not None:
            self._show(screens.pending_screen(current.choice, current.expires_in(mono)))
            return
        synced = self.clock.synchronized()
        if mono >= self._status_due or synced != self._status_synced:
            self._status_synced = synced
            self._show(self.status_screen())
            self._status_due = mono + STATUS_REFRESH_S

    def tick(self) -> None:
        """Periodic work from the service loop: close ended periods, poll the printer now and then,
        retry queued prints, refresh the OLED (transient screens stay up for their hold time)."""
        mono = self.clock.monotonic()
        # A clock that jumped forward must not close the current period for good: only a trusted clock
        # closes periods (their unused numbers become the E0402 report and are locked).
        # Closing is idempotent but writes (and fsyncs): run it once per period seen, retried on failure.
        period = Period.of(self.clock.now().date())
        if period != self._closed_for and (self.clock.synchronized() or not self.cfg.terminal.require_clock_sync):
            try:
                self.ledger.close_periods(self.clock.now(), head_ban=self.cfg.seller.head_ban,
                                          branch_ban=self.cfg.seller.tax_id)
                self._closed_for = period
            except TerminalError as exc:
                self._set_error(exc)
        if self._poll_printer() and self._printer_state not in PRINTER_PROBLEMS_ZH and self.ledger.queued_prints():
            self.retry_queued_prints()
        if self.display is not None:
            self.display.tick(mono)
        self.refresh_display()

    def test_print(self) -> None:
        """The test-print button: a sample proof marked 測試; nothing is issued."""
        from terminal.selftest import test_page

        with self._print_lock:
            test_page(self.cfg, self.printer, self.clock.now())

    def upload_now(self):
        if self.uploader is None:
            return None
        return self.uploader.upload_once()

    def _set_error(self, exc: TerminalError) -> None:
        self._last_error = exc
        self._show(screens.error_screen(exc.code, exc.message_zh), hold_s=ERROR_HOLD_S)
        self._beep("error")
        if self.panel is not None:
            self.panel.led("error")

    def _clear_error(self) -> None:
        self._last_error = None
        if self.panel is not None:
            self.panel.led("ok")

    def _beep(self, kind: str) -> None:
        if self.panel is not None:
            self.panel.beep(kind)

    def _show(self, screen, *, hold_s: float = 0.0) -> None:
        if self.display is not None:
            self.display.show(screen)
        self._hold_until = self.clock.monotonic() + hold_s
        if screen.kind in ("issued", "pending", "scan_rejected") or hold_s:
            self._status_due = 0.0  # the status screen after this one is recomputed


def _reason(body: Any) -> str:
    if not isinstance(body, Mapping):
        raise ValidationError("the body must be a JSON object", code="malformed")
    reason = body.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 20:
        raise ValidationError("reason must be 1 to 20 characters", code="invalid_reason", field="reason")
    return reason.strip()


def _pending_kind(p) -> str | None:
    return None if p is None else type(p.choice).__name__


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else value.isoformat()
