"""The invoice ledger: the terminal's legal record of every number it was given and every invoice it
issued, until the value-added center has them.

Issuing is one transaction: take the next number of the period's first open range, write the
invoice (with its items) and its F0401 upload message, move the range's next number. WAL with
``synchronous=FULL`` makes the commit durable (one fsync), so a sale acknowledged to the POS
survives a crash or power cut, and nothing of an interrupted sale is left behind. The invoice rows
are the record of issuing; the event log holds everything else (imports, prints, corrections,
period closes, backups, upload rejections). Numbers are handed
out strictly in order and never twice; after the period ends the rest of every range is reported
blank (E0402) and can never be issued. Retried sales (same POS ``sale_id``) return the invoice
already issued.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Callable, Sequence

from terminal.core import messages, mig
from terminal.core import pool as pool_math
from terminal.core.errors import CannotIssue, ConfigError, ValidationError
from terminal.core.invoice import (Invoice, Sale, Seller, build_invoice, check_buyer_choice, check_issue_time,
                                   format_random_code)
from terminal.core.messages import AllowanceLine
from terminal.core.money import split_tax
from terminal.core.numbers import InvoiceNumber, NumberRange
from terminal.core.period import Period, roc_date7
from terminal.core.pool import PoolHealth

from . import invariants, outbox as outbox_mod
from .db import (Session, classify, connect, corrupt, create, fsync_path, integrity_problems, unavailable,
                 write_transaction)
from .migrations import MIGRATION_SET, NAMES, migrations
from .records import (PRINT_STATES, TAIPEI, AllowanceRecord, InvoiceRecord, RangeState, VoidRecord, buyer_columns,
                      buyer_from, items_from, items_json, lines_from, lines_json, stamp, unstamp)
from .trackfiles import FoundRange, read_range_file

__all__ = ["Ledger", "RangeState", "InvoiceRecord", "AllowanceRecord", "VoidRecord", "PoolHealth"]

RECENT_CODES = 1000  # a new random code differs from the last this many
PENDING_WINDOW = 1000
_CODE_DRAWS = 50

_INVOICE_SQL = (
    "SELECT i.id, t.prefix, i.serial, i.issued_at, i.random_code, s.tax_id, s.name, s.address, i.total, "
    "i.sales_amount, i.tax_amount, i.buyer_tax_id, i.carrier_type, i.carrier_id, i.donation_code, i.sale_id, "
    "i.items, i.print_state, i.print_count FROM invoices i JOIN tracks t ON t.id = i.track_id "
    "JOIN sellers s ON s.id = i.seller_id WHERE i.id = ?")


def _subject(invoice_id: int) -> str:
    return f"invoice:{invoice_id}"


def _rule(message: str, code: str, zh: str, field: str | None = None) -> ValidationError:
    return ValidationError(message, code=code, message_zh=zh, field=field)


def _aware(now: dt.datetime) -> dt.datetime:
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValueError("the ledger needs timezone-aware times")
    return now.astimezone(TAIPEI)


class Ledger:
    """Open with ``Ledger.open(path)``; one instance per process, safe to share between threads."""

    def __init__(self, session: Session, terminal_id: str) -> None:
        self._s = session
        self.path = session.path
        self.terminal_id = terminal_id
        self._outbox = outbox_mod.SqliteOutbox(session)
        self._sellers: dict[Seller, int] = {}
        self._recent_codes: collections.deque[str] = collections.deque(maxlen=RECENT_CODES)
        self._recent_version: int | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike, *, terminal_id: str = "T1", integrity: str = "full") -> "Ledger":
        """Open the ledger at ``path``, creating it only if nothing is there. The file is checked
        (``integrity="full"``: PRAGMA integrity_check; ``"quick"``: quick_check) and its invariants
        verified before anything is written to it. CannotIssue ``ledger_corrupt`` or
        ``ledger_unavailable`` otherwise; a bad file is never modified."""
        if integrity not in ("full", "quick"):
            raise ValueError('integrity must be "full" or "quick"')
        if not isinstance(terminal_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", terminal_id):
            raise ConfigError(f"terminal id {terminal_id!r} must be 1 to 32 letters, digits, '_', '.' or '-'",
                              code="invalid_terminal_id", field="terminal.id")
        path = Path(path)
        if not os.path.lexists(path):
            create(path, lambda db: _setup(db, terminal_id))
        db = connect(path)
        try:
            _check_is_ledger(db, path)
            problems = integrity_problems(db, quick=integrity == "quick")
            if problems:
                raise corrupt(f"the ledger {path} failed its integrity check ({'; '.join(problems[:5])}); "
                              "issuing stopped, the file is left untouched for recovery from a backup")
            db.enable_wal()
            if migrations.pending(db):
                with write_transaction(db.conn):
                    migrations.apply(db)
            broken = invariants.problems(db.conn)
            if broken:
                raise corrupt(f"the ledger {path} breaks its invariants: {'; '.join(broken[:5])}")
            row = db.conn.execute("SELECT value FROM meta WHERE key = 'terminal_id'").fetchone()
            if row is None:
                raise corrupt(f"the ledger {path} does not say which terminal it belongs to")
            if row[0] != terminal_id:
                raise ConfigError(f"the ledger {path} belongs to terminal {row[0]!r}, not {terminal_id!r}",
                                  code="terminal_id_mismatch", field="terminal.id")
        except sqlite3.Error as exc:
            db.close()
            raise classify(exc, path) from exc
        except BaseException:
            db.close()
            raise
        return cls(Session(db, path), terminal_id)

    def close(self) -> None:
        self._s.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def outbox(self) -> outbox_mod.SqliteOutbox:
        return self._outbox

    def check(self, *, deep: bool = False) -> list[str]:
        """Integrity and invariant problems now ([] when sound); ``deep`` adds row-by-row checks."""
        with self._s.reading() as conn:
            return integrity_problems(self._s.db, quick=not deep) + invariants.problems(conn, deep=deep)

    # ------------------------------------------------------------------ ranges
    def import_ranges(self, ranges: Sequence[NumberRange], *, source: str, now: dt.datetime) -> int:
        """Add ranges from the value-added center; returns the count of new numbers. All or nothing:
        an overlapping, partial-booklet or past-period range raises ValidationError naming it. A range
        already imported exactly as given is skipped (the center may list it again)."""
        found = []
        for i, rng in enumerate(ranges):
            if not isinstance(rng, NumberRange):
                raise _rule(f"ranges[{i}] is not a NumberRange", "invalid_range", "字軌資料錯誤", f"ranges[{i}]")
            found.append(FoundRange(rng, f"ranges[{i}] ({rng})"))
        return self._import(found, source, now)

    def import_file(self, path: str | os.PathLike, *, now: dt.datetime) -> int:
        """Import a CSV or E0401/E0501 XML allocation file (see ``storage.trackfiles``)."""
        return self._import(read_range_file(path), f"file:{Path(path).name}", now)

    def _import(self, found: list[FoundRange], source: str, now: dt.datetime) -> int:
        now = _aware(now)
        today = now.date()
        if not found:
            raise _rule("no ranges to import", "invalid_range", "沒有字軌資料")
        for f in found:
            try:
                f.range.require_booklets()
            except ValidationError as exc:
                raise _rule(f"{f.where}: {exc.message}", "range_not_booklets", "字軌區間須為50張一本", f.where) from None
            if f.range.period.last_day < today:
                raise _rule(f"{f.where}: period {f.range.period.code} ended on {f.range.period.last_day}; its numbers "
                            "can no longer be issued", "range_period_past", "字軌期別已過", f.where)
        ordered = sorted(found, key=lambda f: (f.range.period, f.range.track, f.range.start))
        for a, b in zip(ordered, ordered[1:]):
            if a.range.overlaps(b.range):
                raise _rule(f"{b.where}: range {b.range} overlaps {a.where}", "range_overlap", "字軌區間重疊", b.where)
        added: list[NumberRange] = []
        with self._s.writing() as conn:
            existing = [(NumberRange(Period.parse(p), pre, a, b), owner) for p, pre, a, b, owner in conn.execute(
                "SELECT period, prefix, first_serial, last_serial, owner FROM tracks")]
            for f in ordered:
                clash = next(((r, o) for r, o in existing if r.overlaps(f.range)), None)
                if clash is not None and clash == (f.range, self.terminal_id):
                    continue  # imported before, exactly so
                if clash is not None:
                    raise _rule(f"{f.where}: range {f.range} overlaps {clash[0]} already in the ledger",
                                "range_overlap", "字軌區間重疊", f.where)
                conn.execute(
                    "INSERT INTO tracks (period, prefix, first_serial, last_serial, next_serial, owner, source, "
                    "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (f.range.period.code, f.range.track, f.range.start, f.range.end, f.range.start,
                     self.terminal_id, source, stamp(now)))
                added.append(f.range)
            if added:
                self._event(conn, now, "ranges_imported", source,
                            {"ranges": [str(r) for r in added], "numbers": sum(r.count for r in added)})
        return sum(r.count for r in added)

    def list_ranges(self) -> list[RangeState]:
        with self._s.reading() as conn:
            rows = conn.execute("SELECT period, prefix, first_serial, last_serial, next_serial, closed_at FROM tracks "
                                "WHERE owner = ? ORDER BY period, prefix, first_serial", (self.terminal_id,)).fetchall()
        return [RangeState(NumberRange(Period.parse(p), pre, a, b), nxt, nxt - a,
                           0 if closed else b - nxt + 1, closed is not None)
                for p, pre, a, b, nxt, closed in rows]

    # ------------------------------------------------------------------ issuing
    def issue(self, sale: Sale, *, now: dt.datetime, seller: Seller, random_code: Callable[[], int],
              sale_fingerprint: str, split_consumer_tax: bool = True) -> tuple[Invoice, bool]:
        """Issue the invoice for ``sale`` at ``now``; returns (invoice, created). A retried sale
        (same ``sale_id`` and fingerprint) returns the invoice issued before with created=False; the
        same ``sale_id`` with another fingerprint raises ValidationError ``sale_id_conflict``.
        CannotIssue: ``no_numbers``, the clock guard's codes, ``ledger_full`` and the ledger's own.

        The invoice and its F0401 are prepared from a read, then written under the write lock; if
        another process wrote in between (``PRAGMA data_version`` moved), they are prepared again
        under the lock, so the lock is held only for the inserts and the commit."""
        now = _aware(now)
        if not isinstance(sale_fingerprint, str) or not sale_fingerprint:
            raise ValueError("sale_fingerprint must be a non-empty string")
        args = (sale, now, seller, random_code, sale_fingerprint, split_consumer_tax)
        with self._s.lock:
            with self._s.reading() as conn:
                plan = self._plan(conn, *args)
            if isinstance(plan, Invoice):
                return plan, False
            with self._s.writing() as conn:
                if _data_version(conn) != plan.version:
                    plan = self._plan(conn, *args)
                    if isinstance(plan, Invoice):
                        return plan, False
                seller_id = self._write_invoice(conn, plan, sale, sale_fingerprint, seller, now)
            self._recent_codes.append(plan.invoice.random_code)
            self._sellers[seller] = seller_id
            return plan.invoice, True

    def _plan(self, conn: sqlite3.Connection, sale: Sale, now: dt.datetime, seller: Seller,
              random_code: Callable[[], int], fingerprint: str, split_consumer_tax: bool) -> "Invoice | _Plan":
        """Everything a sale needs before it is written: the existing invoice of a retried sale, or
        the number, the clock guard passed, the random code, the invoice and its F0401."""
        version = _data_version(conn)
        row = conn.execute("SELECT id, fingerprint FROM invoices WHERE sale_id = ?", (sale.sale_id,)).fetchone()
        if row is not None:
            if row[1] != fingerprint:
                raise _rule(f"sale {sale.sale_id!r} was already issued with a different body", "sale_id_conflict",
                            "銷售編號重複但內容不同", "sale_id")
            return self._record(conn, row[0]).invoice
        (last,) = conn.execute("SELECT max(issued_at) FROM invoices").fetchone()
        period = Period.of(now.date())
        track = conn.execute(
            "SELECT id, prefix, next_serial FROM tracks WHERE period = ? AND owner = ? AND closed_at IS NULL "
            "AND next_serial <= last_serial ORDER BY prefix, first_serial LIMIT 1",
            (period.code, self.terminal_id)).fetchone()
        check_issue_time(now, period, unstamp(last))
        if track is None:
            raise self._no_numbers(conn, period)
        track_id, prefix, serial = track
        code = self._draw_code(conn, version, random_code)
        inv = build_invoice(sale, InvoiceNumber(prefix, serial), now, code, seller,
                            split_consumer_tax=split_consumer_tax)
        payload = outbox_mod.compress(mig.build(messages.f0401(inv, printed=inv.prints_proof)))
        return _Plan(version, track_id, serial, inv, payload)

    def _write_invoice(self, conn: sqlite3.Connection, plan: "_Plan", sale: Sale, fingerprint: str, seller: Seller,
                       now: dt.datetime) -> int:
        inv = plan.invoice
        seller_id = self._seller_id(conn, seller)
        buyer = buyer_columns(inv.buyer_tax_id, inv.carrier, inv.donation)
        invoice_id = conn.execute(
            "INSERT INTO invoices (track_id, serial, sale_id, fingerprint, issued_at, random_code, seller_id, "
            "total, sales_amount, tax_amount, buyer_tax_id, carrier_type, carrier_id, donation_code, items, "
            "print_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (plan.track_id, plan.serial, sale.sale_id, fingerprint, stamp(now), inv.random_code, seller_id,
             inv.total, inv.sales_amount, inv.tax_amount, buyer["buyer_tax_id"], buyer["carrier_type"],
             buyer["carrier_id"], buyer["donation_code"], items_json(inv.items),
             "pending" if inv.prints_proof else "not_printed"),
        ).lastrowid
        moved = conn.execute("UPDATE tracks SET next_serial = next_serial + 1 WHERE id = ? AND next_serial = ?",
                             (plan.track_id, plan.serial)).rowcount
        if moved != 1:  # cannot happen under the write lock with an unchanged data_version; refuse anyway
            raise CannotIssue(f"the range of {inv.number} moved during the sale", code="ledger_busy",
                              message_zh="帳本忙碌中，請重試")
        outbox_mod.put_compressed(conn, "F0401", str(inv.number), _subject(invoice_id), plan.payload, now)
        return seller_id

    def _no_numbers(self, conn: sqlite3.Connection, period: Period) -> CannotIssue:
        (had,) = conn.execute("SELECT count(*) FROM tracks WHERE period = ? AND owner = ?",
                              (period.code, self.terminal_id)).fetchone()
        if had:
            return CannotIssue(f"all numbers of period {period.code} are used up; import more ranges",
                               code="no_numbers", message_zh="本期發票號碼已用完")
        return CannotIssue(f"no number ranges imported for period {period.code} ({period.label})",
                           code="no_numbers", message_zh="未收到本期發票號碼")

    def _draw_code(self, conn: sqlite3.Connection, version: int, random_code: Callable[[], int]) -> str:
        if version != self._recent_version:  # first use, or another process wrote to the ledger
            rows = conn.execute("SELECT random_code FROM invoices ORDER BY id DESC LIMIT ?", (RECENT_CODES,))
            self._recent_codes.clear()
            self._recent_codes.extend(reversed([r[0] for r in rows]))
            self._recent_version = version
        recent = set(self._recent_codes)
        for _ in range(_CODE_DRAWS):
            code = format_random_code(random_code())
            if code not in recent:
                return code
        # a source this repetitive is broken, but the sale must not fail: step to the next free code
        taken = {int(c) for c in recent}
        n = int(code)
        while n in taken:
            n = (n + 1) % 10000
        return format_random_code(n)

    def _seller_id(self, conn: sqlite3.Connection, seller: Seller) -> int:
        """The seller's row id (the caller caches it once its transaction has committed)."""
        sid = self._sellers.get(seller)
        if sid is None:
            conn.execute("INSERT OR IGNORE INTO sellers (tax_id, name, address) VALUES (?, ?, ?)",
                         (seller.tax_id, seller.name, seller.address))
            (sid,) = conn.execute("SELECT id FROM sellers WHERE tax_id = ? AND name = ? AND address = ?",
                                  (seller.tax_id, seller.name, seller.address)).fetchone()
        return sid

    # ------------------------------------------------------------------ reading invoices
    def _record(self, conn: sqlite3.Connection, invoice_id: int) -> InvoiceRecord:
        row = conn.execute(_INVOICE_SQL, (invoice_id,)).fetchone()
        (iid, prefix, serial, issued_at, code, s_tax, s_name, s_addr, total, sales, tax, ban, ctype, cid, don,
         sale_id, items, print_state, print_count) = row
        items = items_from(items)
        buyer = buyer_from({"buyer_tax_id": ban, "carrier_type": ctype, "carrier_id": cid, "donation_code": don})
        voids, voided_at = [], None
        for at, reason, corrected in conn.execute(
                "SELECT voided_at, reason, corrected FROM voids WHERE invoice_id = ? ORDER BY id", (iid,)):
            voids.append(VoidRecord(unstamp(at), reason, corrected is not None))
            if corrected is None:
                voided_at = unstamp(at)
            else:
                fix = json.loads(corrected)
                buyer, sales, tax, voided_at = buyer_from(fix), fix["sales_amount"], fix["tax_amount"], None
        invoice = Invoice(number=InvoiceNumber(prefix, serial), issued_at=unstamp(issued_at), random_code=code,
                          seller=Seller(s_tax, s_name, s_addr), items=items, total=total, sales_amount=sales,
                          tax_amount=tax, sale_id=sale_id, **buyer)
        cancel = conn.execute("SELECT cancelled_at, reason FROM cancellations WHERE invoice_id = ?", (iid,)).fetchone()
        allowances = tuple(
            AllowanceRecord(number, unstamp(at), lines_from(lines), amount, unstamp(c_at), c_reason)
            for number, at, lines, amount, c_at, c_reason in conn.execute(
                "SELECT number, created_at, lines, amount, cancelled_at, cancel_reason FROM allowances "
                "WHERE invoice_id = ? ORDER BY id", (iid,)))
        return InvoiceRecord(invoice=invoice, print_state=print_state, print_count=print_count,
                             cancelled_at=unstamp(cancel[0]) if cancel else None, voided_at=voided_at,
                             allowances=allowances, voids=tuple(voids), cancel_reason=cancel[1] if cancel else None)

    @staticmethod
    def _find(conn: sqlite3.Connection, number: str) -> int | None:
        n = InvoiceNumber.parse(number)
        row = conn.execute("SELECT i.id FROM tracks t CROSS JOIN invoices i ON i.track_id = t.id AND i.serial = ? "
                           "WHERE t.prefix = ? ORDER BY i.id DESC LIMIT 1", (n.serial, n.track)).fetchone()
        return row[0] if row else None

    def _require(self, conn: sqlite3.Connection, number: str) -> tuple[int, InvoiceRecord]:
        iid = self._find(conn, number)
        if iid is None:
            raise _rule(f"no invoice {number} in this ledger", "not_found", "查無此發票", "number")
        return iid, self._record(conn, iid)

    def get_invoice(self, number: str) -> InvoiceRecord | None:
        """The invoice with this number (the latest, should a track's letters recur in a later year)."""
        with self._s.reading() as conn:
            iid = self._find(conn, number)
            return None if iid is None else self._record(conn, iid)

    def get_by_sale_id(self, sale_id: str) -> InvoiceRecord | None:
        with self._s.reading() as conn:
            row = conn.execute("SELECT id FROM invoices WHERE sale_id = ?", (sale_id,)).fetchone()
            return None if row is None else self._record(conn, row[0])

    def last_invoice(self) -> InvoiceRecord | None:
        with self._s.reading() as conn:
            (iid,) = conn.execute("SELECT max(id) FROM invoices").fetchone()
            return None if iid is None else self._record(conn, iid)

    # ------------------------------------------------------------------ printing
    def set_print_state(self, number: str, state: str, *, now: dt.datetime) -> int:
        """Record a print outcome; ``printed`` counts one more print. Returns the print count."""
        now = _aware(now)
        if state not in PRINT_STATES:
            raise _rule(f"print state {state!r} is not one of {', '.join(PRINT_STATES)}", "invalid_print_state",
                        "列印狀態錯誤", "state")
        with self._s.writing() as conn:
            iid, rec = self._require(conn, number)
            if state in ("printed", "queued") and not rec.active:
                raise _rule(f"invoice {number} is cancelled or voided: it is not printed", "invoice_cancelled",
                            "發票已作廢", "number")
            conn.execute("UPDATE invoices SET print_state = ?, print_count = print_count + ? WHERE id = ?",
                         (state, 1 if state == "printed" else 0, iid))
            count = rec.print_count + (1 if state == "printed" else 0)
            self._event(conn, now, f"print_{state}", number, {"print_count": count})
        return count

    def _numbers(self, conn: sqlite3.Connection, sql: str, params=()) -> list[str]:
        """Invoice numbers of the rows ``sql`` selects (ids), oldest first, leaving out the ones
        cancelled or standing voided."""
        ids = sorted(r[0] for r in conn.execute(sql, params))
        return [str(rec.invoice.number) for rec in (self._record(conn, i) for i in ids) if rec.active]

    def queued_prints(self) -> list[str]:
        """Proofs whose print failed, oldest first (cancelled or voided ones are dropped)."""
        with self._s.reading() as conn:
            return self._numbers(conn, "SELECT id FROM invoices WHERE print_state = 'queued'")

    def pending_prints(self) -> list[str]:
        """Proofs issued but never printed nor queued: a crash came between commit and print. The
        service prints right after issuing, so only the newest invoices can be left so; the last
        ``PENDING_WINDOW`` are looked at (no index is kept for a state every invoice passes through)."""
        with self._s.reading() as conn:
            return self._numbers(conn, "SELECT id FROM (SELECT id, print_state FROM invoices ORDER BY id DESC "
                                       "LIMIT ?) WHERE print_state = 'pending'", (PENDING_WINDOW,))

    # ------------------------------------------------------------------ corrections
    def cancel(self, number: str, *, now: dt.datetime, reason: str) -> None:
        """作廢 (F0501), until the VAT deadline of the invoice's period; allowances must be cancelled first."""
        now = _aware(now)
        with self._s.writing() as conn:
            iid, rec = self._require(conn, number)
            inv = rec.invoice
            if rec.cancelled_at is not None:
                raise _rule(f"invoice {number} is already cancelled", "already_cancelled", "發票已作廢")
            if rec.voided_at is not None:
                raise _rule(f"invoice {number} is voided (註銷) and not re-issued", "invoice_voided", "發票已註銷")
            if any(a.cancelled_at is None for a in rec.allowances):
                raise _rule(f"invoice {number} has allowances: cancel them first", "allowances_active",
                            "請先作廢折讓單")
            self._not_before(now, inv)
            deadline = inv.period.cancel_deadline()
            if now.date() > deadline:
                raise _rule(f"invoice {number} can be cancelled only until {deadline}; issue an allowance instead",
                            "cancel_deadline_passed", "已逾作廢期限，請開折讓")
            payload = mig.build(messages.f0501(inv, now, reason))
            oid = outbox_mod.put(conn, "F0501", number, _subject(iid), payload, now)
            conn.execute("INSERT INTO cancellations (invoice_id, cancelled_at, reason, outbox_id) VALUES (?, ?, ?, ?)",
                         (iid, stamp(now), reason.strip(), oid))
            self._event(conn, now, "cancelled", number, {"reason": reason.strip()})

    def void(self, number: str, *, now: dt.datetime, reason: str, corrected: Sale | None = None,
             split_consumer_tax: bool | None = None) -> None:
        """註銷 (F0701); with ``corrected``, re-issue (F0401) the same number, date and random code with
        the corrected buyer data. Items and total must not change. ``split_consumer_tax`` (see
        ``build_invoice``) defaults to what the original invoice shows."""
        now = _aware(now)
        with self._s.writing() as conn:
            iid, rec = self._require(conn, number)
            inv = rec.invoice
            if rec.cancelled_at is not None:
                raise _rule(f"invoice {number} is cancelled", "invoice_cancelled", "發票已作廢")
            if rec.voided_at is not None:
                raise _rule(f"invoice {number} is already voided", "already_voided", "發票已註銷")
            if any(a.cancelled_at is None for a in rec.allowances):
                raise _rule(f"invoice {number} has allowances: cancel them first", "allowances_active",
                            "請先作廢折讓單")
            self._not_before(now, inv)
            deadline = inv.period.cancel_deadline()
            if now.date() > deadline:
                raise _rule(f"invoice {number} can be voided only until {deadline}", "void_deadline_passed",
                            "已逾註銷期限")
            new = None
            if corrected is not None:
                if tuple(corrected.items) != inv.items or corrected.total != inv.total:
                    raise _rule("a void may correct the buyer data only; items and total must stay the same",
                                "void_changes_sale", "註銷重開不可變更品項金額", "corrected")
                check_buyer_choice(corrected)
                if split_consumer_tax is None:
                    # a consumer invoice shows it (tax 0 unless split); one with a tax ID is always split
                    split_consumer_tax = bool(inv.buyer_tax_id) or inv.tax_amount > 0 or split_tax(inv.total)[1] == 0
                new = build_invoice(dataclasses.replace(corrected, sale_id=inv.sale_id), inv.number, inv.issued_at,
                                    inv.random_code, inv.seller, split_consumer_tax=split_consumer_tax)
            f0701 = mig.build(messages.f0701(inv, now, reason))
            f0401 = mig.build(messages.f0401(new, printed=new.prints_proof)) if new else None
            void_oid = outbox_mod.put(conn, "F0701", number, _subject(iid), f0701, now)
            reissue_oid = outbox_mod.put(conn, "F0401", number, _subject(iid), f0401, now) if new else None
            fix = None
            if new is not None:
                fix = json.dumps({**buyer_columns(new.buyer_tax_id, new.carrier, new.donation),
                                  "sales_amount": new.sales_amount, "tax_amount": new.tax_amount},
                                 separators=(",", ":"), ensure_ascii=False)
                if new.prints_proof and not inv.prints_proof:
                    conn.execute("UPDATE invoices SET print_state = 'pending' WHERE id = ?", (iid,))
                elif inv.prints_proof and not new.prints_proof:
                    conn.execute("UPDATE invoices SET print_state = 'not_printed' WHERE id = ?", (iid,))
            conn.execute("INSERT INTO voids (invoice_id, voided_at, reason, corrected, f0701_outbox_id, f0401_outbox_id) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (iid, stamp(now), reason.strip(), fix, void_oid, reissue_oid))
            self._event(conn, now, "voided", number, {"reason": reason.strip(), "reissued": new is not None})

    def add_allowance(self, number: str, lines: Sequence[AllowanceLine], *, now: dt.datetime) -> str:
        """折讓 (G0401); returns the allowance number. What is credited per line, and in all, never
        exceeds the invoice (cancelled allowances do not count)."""
        now = _aware(now)
        lines = tuple(lines)
        with self._s.writing() as conn:
            iid, rec = self._require(conn, number)
            inv = rec.invoice
            if not rec.active:
                raise _rule(f"invoice {number} is cancelled or voided", "invoice_cancelled", "發票已作廢或註銷")
            self._not_before(now, inv)
            messages.g0401(inv, "0", now, lines)  # validates each line against the invoice
            credited = collections.Counter()
            credited_qty = collections.Counter()
            for a in rec.allowances:
                if a.cancelled_at is None:
                    for ln in a.lines:
                        credited[ln.line_no] += ln.amount
                        credited_qty[ln.line_no] += ln.quantity
            for n, ln in enumerate(lines):
                credited[ln.line_no] += ln.amount
                credited_qty[ln.line_no] += ln.quantity
                item = inv.items[ln.line_no - 1]
                if credited[ln.line_no] > item.amount or credited_qty[ln.line_no] > item.quantity:
                    raise _rule(f"line {ln.line_no}: allowances would exceed the line ({item.quantity} × "
                                f"{item.unit_price} = {item.amount})", "allowance_exceeds_line",
                                "折讓超過原品項金額", f"lines[{n}]")
            if sum(credited.values()) > inv.total:
                raise _rule(f"allowances would exceed the invoice total {inv.total}", "allowance_exceeds_total",
                            "折讓超過發票金額", "lines")
            allowance_number = self._allowance_number(conn, now)
            payload = mig.build(messages.g0401(inv, allowance_number, now, lines))
            oid = outbox_mod.put(conn, "G0401", allowance_number, _subject(iid), payload, now)
            amount = sum(ln.amount for ln in lines)
            conn.execute("INSERT INTO allowances (number, invoice_id, created_at, lines, amount, outbox_id) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (allowance_number, iid, stamp(now), lines_json(lines), amount, oid))
            self._event(conn, now, "allowance", number, {"allowance": allowance_number, "amount": amount})
        return allowance_number

    def _allowance_number(self, conn: sqlite3.Connection, now: dt.datetime) -> str:
        """Terminal tag + ROC date + sequence, 16 characters at most, unique (the sequence never repeats)."""
        tag = re.sub(r"[^A-Z0-9]", "", self.terminal_id.upper())[:4] or "AL"
        (seq,) = conn.execute("SELECT count(*) + 1 FROM allowances").fetchone()
        width = 16 - len(tag) - 7
        return f"{tag}{roc_date7(now.date())}{seq:0{width}d}"

    def cancel_allowance(self, allowance_number: str, *, now: dt.datetime, reason: str) -> None:
        """作廢折讓 (G0501)."""
        now = _aware(now)
        with self._s.writing() as conn:
            row = conn.execute("SELECT id, invoice_id, created_at, lines, cancelled_at FROM allowances WHERE number = ?",
                               (allowance_number,)).fetchone()
            if row is None:
                raise _rule(f"no allowance {allowance_number} in this ledger", "not_found", "查無此折讓單",
                            "allowance_number")
            aid, iid, created_at, lines, cancelled_at = row
            if cancelled_at is not None:
                raise _rule(f"allowance {allowance_number} is already cancelled", "already_cancelled", "折讓單已作廢")
            created = unstamp(created_at)
            if now < created:
                raise _rule(f"the time {now.isoformat()} is before the allowance ({created.isoformat()})",
                            "time_before_record", "時間早於原單據")
            original = messages.g0401(self._record(conn, iid).invoice, allowance_number, created, lines_from(lines))
            payload = mig.build(messages.g0501(original, now, reason))
            oid = outbox_mod.put(conn, "G0501", allowance_number, _subject(iid), payload, now)
            conn.execute("UPDATE allowances SET cancelled_at = ?, cancel_reason = ?, cancel_outbox_id = ? WHERE id = ?",
                         (stamp(now), reason.strip(), oid, aid))
            self._event(conn, now, "allowance_cancelled", allowance_number, {"reason": reason.strip()})

    @staticmethod
    def _not_before(now: dt.datetime, inv: Invoice) -> None:
        if now < inv.issued_at:
            raise _rule(f"the time {now.isoformat()} is before invoice {inv.number} was issued "
                        f"({inv.issued_at.isoformat()})", "time_before_record", "時間早於原單據")

    # ------------------------------------------------------------------ periods and pool
    def close_periods(self, now: dt.datetime, *, head_ban: str, branch_ban: str | None = None) -> list[str]:
        """Close every period that ended before ``now``: its ranges are locked for good and their unused
        numbers (holes included) go into the outbox as E0402 blank reports. Idempotent; returns the
        keys (``E0402:<period>:<track>``) of the reports added by this call."""
        now = _aware(now)
        today = now.date()
        keys: list[str] = []
        with self._s.writing() as conn:
            rows = conn.execute("SELECT id, period, prefix, first_serial, last_serial FROM tracks "
                                "WHERE owner = ? AND closed_at IS NULL", (self.terminal_id,)).fetchall()
            ended: dict[Period, list[tuple[int, NumberRange]]] = collections.defaultdict(list)
            for tid, p, prefix, a, b in rows:
                period = Period.parse(p)
                if period.last_day < today:
                    ended[period].append((tid, NumberRange(period, prefix, a, b)))
            for period in sorted(ended):
                tracks = ended[period]
                ids = [tid for tid, _ in tracks]
                marks = ",".join("?" * len(ids))
                used = (InvoiceNumber(prefix, serial) for prefix, serial in conn.execute(
                    f"SELECT t.prefix, i.serial FROM invoices i JOIN tracks t ON t.id = i.track_id "
                    f"WHERE i.track_id IN ({marks})", ids))
                reports = messages.e0402([r for _, r in tracks], used, head_ban=head_ban, branch_ban=branch_ban)
                for report in reports:
                    track = report.main.invoice_track
                    key = f"E0402:{period.code}:{track}"
                    oid = outbox_mod.put(conn, "E0402", key, key, mig.build(report), now)
                    for item in report.details:
                        a, b = int(item.invoice_begin_no), int(item.invoice_end_no)
                        tid = next(t for t, r in tracks if r.track == track and r.start <= a and b <= r.end)
                        conn.execute("INSERT INTO blank_reports (track_id, first_serial, last_serial, outbox_id, "
                                     "created_at) VALUES (?, ?, ?, ?, ?)", (tid, a, b, oid, stamp(now)))
                    keys.append(key)
                conn.execute(f"UPDATE tracks SET closed_at = ? WHERE id IN ({marks})", (stamp(now), *ids))
                self._event(conn, now, "period_closed", period.code,
                            {"ranges": [str(r) for _, r in tracks], "reports": [k for k in keys if f":{period.code}:" in k]})
        return keys

    def pool_health(self, now: dt.datetime, *, warn_days: int = 5) -> PoolHealth:
        now = _aware(now)
        today = now.date()
        period = Period.of(today)
        with self._s.reading() as conn:
            (left,) = conn.execute(
                "SELECT coalesce(sum(last_serial - next_serial + 1), 0) FROM tracks "
                "WHERE period = ? AND owner = ? AND closed_at IS NULL", (period.code, self.terminal_id)).fetchone()
            (next_imported,) = conn.execute("SELECT count(*) FROM tracks WHERE period = ? AND owner = ?",
                                            (period.next().code, self.terminal_id)).fetchone()
            since = dt.datetime.combine(today - dt.timedelta(days=pool_math.RATE_WINDOW_DAYS), dt.time(), TAIPEI)
            daily = {dt.date.fromisoformat(d): n for d, n in conn.execute(
                "SELECT substr(issued_at, 1, 10), count(*) FROM invoices WHERE issued_at >= ? GROUP BY 1",
                (stamp(since),))}
            (first,) = conn.execute("SELECT min(issued_at) FROM invoices").fetchone()
        first_day = unstamp(first).date() if first else None
        rate = pool_math.issue_rate(daily, today, first_day)
        return pool_math.health(today, numbers_left=left, issued_today=daily.get(today, 0), rate_per_day=rate,
                                next_imported=bool(next_imported), warn_days=warn_days)

    # ------------------------------------------------------------------ backup and events
    def backup(self, dest: str | os.PathLike, *, now: dt.datetime | None = None) -> None:
        """Online backup to ``dest`` (sqlite3 backup API, from its own read connection so issuing
        goes on). Written to a temporary file, checked, synced and renamed into place; ``now`` dates
        the event (default: the system clock)."""
        dest = Path(dest)
        live = self.path.resolve()
        if dest.resolve() in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
            raise _rule(f"the backup target {dest} is the ledger itself", "invalid_backup_target", "備份路徑錯誤")
        if not dest.parent.is_dir():
            raise _rule(f"the backup directory {dest.parent} does not exist", "invalid_backup_target", "備份路徑錯誤")
        tmp = dest.with_name(f".{dest.name}.partial")
        tmp.unlink(missing_ok=True)
        with self._s.reading():
            pass  # refuse on a closed or broken ledger
        try:
            source = sqlite3.connect(f"{live.as_uri()}?mode=ro", uri=True)
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
                problems = [r[0] for r in target.execute("PRAGMA quick_check")]
            finally:
                target.close()
                source.close()
            if problems != ["ok"]:
                raise corrupt(f"the backup {dest} failed its check: {problems[:3]}")
            fsync_path(tmp)
            os.replace(tmp, dest)
            fsync_path(dest.parent)
        except sqlite3.Error as exc:
            tmp.unlink(missing_ok=True)
            raise unavailable(f"backup to {dest} failed: {exc}") from exc
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise unavailable(f"backup to {dest} failed: {exc.strerror}") from exc
        with self._s.writing() as conn:
            self._event(conn, _aware(now) if now is not None else dt.datetime.now(TAIPEI), "backup", str(dest), None)

    def events(self, limit: int = 100) -> list[dict]:
        """The newest ``limit`` events of the append-only log, oldest first."""
        with self._s.reading() as conn:
            rows = conn.execute("SELECT id, at, kind, subject, detail FROM (SELECT * FROM events ORDER BY id DESC "
                                "LIMIT ?) ORDER BY id", (limit,)).fetchall()
        return [{"id": i, "at": unstamp(at), "kind": kind, "subject": subject,
                 "detail": json.loads(detail) if detail else None} for i, at, kind, subject, detail in rows]

    @staticmethod
    def _event(conn: sqlite3.Connection, now: dt.datetime, kind: str, subject: str | None, detail) -> None:
        conn.execute("INSERT INTO events (at, kind, subject, detail) VALUES (?, ?, ?, ?)",
                     (stamp(now), kind, subject,
                      None if detail is None else json.dumps(detail, ensure_ascii=False, separators=(",", ":"))))


@dataclasses.dataclass(frozen=True)
class _Plan:
    version: int  # PRAGMA data_version when planned: unchanged means nobody else wrote since
    track_id: int
    serial: int
    invoice: Invoice
    payload: bytes  # compressed F0401


def _data_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA data_version").fetchone()[0]


def _setup(db, terminal_id: str) -> None:
    """A new ledger: the schema, and the terminal it belongs to."""
    migrations.apply(db)
    db.conn.execute("INSERT INTO meta (key, value) VALUES ('terminal_id', ?)", (terminal_id,))


def _check_is_ledger(db, path: Path) -> None:
    """Refuse an SQLite file that is some other database, or a ledger of a newer version."""
    tables = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return
    if migrations.migrations_table not in tables:
        raise unavailable(f"{path} is an SQLite database but not a receipt-terminal ledger; refusing to touch it")
    applied = [m.name for m in migrations.applied(db)]
    unknown = [n for n in applied if n not in NAMES]
    if unknown:
        raise unavailable(f"the ledger {path} was written by a newer version (schema {unknown[-1]} of "
                          f"{MIGRATION_SET}); refusing to open it with this one")
