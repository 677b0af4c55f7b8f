"""The upload outbox in the ledger: MIG messages waiting for the value-added center, written in the
same transaction as the invoice (or cancellation, void, allowance, blank report) they carry.

Implements ``terminal.core.ports.Outbox``. Messages about one subject (an invoice and its
cancellations, voids and allowances; one E0402 report) are handed out strictly in creation order:
a later message waits while an earlier one of its subject is unacknowledged and not yet due, or
rejected. Payloads are stored zlib-compressed with a preset dictionary of MIG 4.1 element names
(an F0401 shrinks from about 1.4 kB to under 200 bytes).
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import zlib
from typing import Sequence

from terminal.core.errors import ValidationError
from terminal.core.ports import MESSAGE_TYPES, Backlog, OutboxMessage

from .db import Session
from .records import stamp, unstamp

MAX_ERROR_LEN = 500


# The preset dictionary: the MIG skeleton every payload shares. Stored payloads need these exact bytes
# to be read back, so this is frozen (tests pin its checksum); a better one would be a _ZDICT_V2
# chosen by the dictionary id in the zlib header, never an edit of this one.
_ZDICT_V1 = (
    b'<CancelAllowance xmlns="urn:GEINV:eInvoiceMessage:G0501:4.1"><CancelAllowanceNumber></CancelAllowanceNumber>'
    b'<Allowance xmlns="urn:GEINV:eInvoiceMessage:G0401:4.1"><AllowanceNumber></AllowanceNumber><AllowanceDate>'
    b'</AllowanceDate><AllowanceType>2</AllowanceType><OriginalInvoiceDate></OriginalInvoiceDate>'
    b'<OriginalInvoiceNumber></OriginalInvoiceNumber><OriginalSequenceNumber></OriginalSequenceNumber>'
    b'<OriginalDescription></OriginalDescription><Unit></Unit><Tax></Tax><AllowanceSequenceNumber>'
    b'</AllowanceSequenceNumber><BranchTrackBlank xmlns="urn:GEINV:eInvoiceMessage:E0402:4.1"><HeadBan></HeadBan>'
    b'<BranchBan></BranchBan><YearMonth></YearMonth><InvoiceTrack></InvoiceTrack><BranchTrackBlankItem>'
    b'<InvoiceBeginNo></InvoiceBeginNo><InvoiceEndNo></InvoiceEndNo></BranchTrackBlankItem>'
    b'<VoidInvoice xmlns="urn:GEINV:eInvoiceMessage:F0701:4.1"><VoidInvoiceNumber></VoidInvoiceNumber>'
    b'<VoidDate></VoidDate><VoidTime></VoidTime><VoidReason></VoidReason>'
    b'<CancelInvoice xmlns="urn:GEINV:eInvoiceMessage:F0501:4.1"><CancelInvoiceNumber></CancelInvoiceNumber>'
    b'<BuyerId>0000000000</BuyerId><SellerId></SellerId><CancelDate></CancelDate><CancelTime></CancelTime>'
    b'<CancelReason></CancelReason><ReturnTaxDocumentNumber></ReturnTaxDocumentNumber><Remark></Remark>'
    b'<CarrierType>3J0002</CarrierType>\n    <CarrierId1></CarrierId1>\n    <CarrierId2></CarrierId2>\n    '
    b'<NPOBAN></NPOBAN>\n    <MainRemark></MainRemark>\n    <Identifier></Identifier>\n      <Name></Name>\n'
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:GEINV:eInvoiceMessage:F0401:4.1">\n  <Main>\n'
    b'    <InvoiceNumber></InvoiceNumber>\n    <InvoiceDate>2026</InvoiceDate>\n    <InvoiceTime></InvoiceTime>\n'
    b'    <Seller>\n      <Identifier></Identifier>\n      <Name></Name>\n      <Address></Address>\n    </Seller>\n'
    b'    <Buyer>\n      <Identifier>0000000000</Identifier>\n      <Name>0000000000</Name>\n    </Buyer>\n'
    b'    <RelateNumber></RelateNumber>\n    <InvoiceType>07</InvoiceType>\n    <DonateMark>0</DonateMark>\n'
    b'    <PrintMark>Y</PrintMark>\n    <RandomNumber></RandomNumber>\n  </Main>\n  <Details>\n'
    b'    <ProductItem>\n      <Description></Description>\n      <Quantity>1</Quantity>\n'
    b'      <UnitPrice></UnitPrice>\n      <TaxType>1</TaxType>\n      <Amount></Amount>\n'
    b'      <SequenceNumber>000</SequenceNumber>\n    </ProductItem>\n  </Details>\n  <Amount>\n'
    b'    <SalesAmount></SalesAmount>\n    <FreeTaxSalesAmount>0</FreeTaxSalesAmount>\n'
    b'    <ZeroTaxSalesAmount>0</ZeroTaxSalesAmount>\n    <TaxType>1</TaxType>\n    <TaxRate>0.05</TaxRate>\n'
    b'    <TaxAmount></TaxAmount>\n    <TotalAmount></TotalAmount>\n  </Amount>\n</Invoice>\n'
)


def compress(payload: bytes) -> bytes:
    c = zlib.compressobj(9, zdict=_ZDICT_V1)
    return c.compress(payload) + c.flush()


def decompress(blob: bytes) -> bytes:
    d = zlib.decompressobj(zdict=_ZDICT_V1)
    return d.decompress(blob) + d.flush()


def put(conn: sqlite3.Connection, message_type: str, key: str, subject: str, payload: bytes,
        now: dt.datetime) -> int:
    """Add a message inside the caller's transaction; returns its id."""
    return put_compressed(conn, message_type, key, subject, compress(payload), now)


def put_compressed(conn: sqlite3.Connection, message_type: str, key: str, subject: str, blob: bytes,
                   now: dt.datetime) -> int:
    if message_type not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {message_type!r}")
    cur = conn.execute(
        "INSERT INTO outbox (message_type, key, subject, payload, created_at) VALUES (?, ?, ?, ?, ?)",
        (message_type, key, subject, blob, stamp(now)))
    return cur.lastrowid


def _message(row) -> OutboxMessage:
    return OutboxMessage(id=row[0], message_type=row[1], key=row[2], payload=decompress(row[3]),
                         created_at=unstamp(row[4]), attempts=row[5], last_error=row[6])


_COLUMNS = "id, message_type, key, payload, created_at, attempts, last_error"


class SqliteOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def pending(self, now: dt.datetime, limit: int = 100) -> Sequence[OutboxMessage]:
        due_by = stamp(now)
        out: list[OutboxMessage] = []
        blocked: set[str] = set()
        with self._s.reading() as conn:
            rows = conn.execute(
                "SELECT id, subject, rejected_at IS NULL AND (retry_at IS NULL OR retry_at <= ?) "
                "FROM outbox WHERE acked_at IS NULL ORDER BY id", (due_by,))
            ids = []
            for mid, subject, due in rows:
                if subject in blocked:
                    continue
                if not due:
                    blocked.add(subject)
                    continue
                ids.append(mid)
                if len(ids) >= limit:
                    break
            for mid in ids:
                out.append(_message(conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (mid,)).fetchone()))
        return out

    def get(self, message_id: int) -> OutboxMessage:
        with self._s.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise _unknown(message_id)
        return _message(row)

    def state(self, message_id: int) -> dict:
        """Delivery state of one message (for the CLI and tests)."""
        with self._s.reading() as conn:
            row = conn.execute("SELECT attempts, last_error, retry_at, acked_at, center_ref, rejected_at, "
                               "reject_reason FROM outbox WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise _unknown(message_id)
        keys = ("attempts", "last_error", "retry_at", "acked_at", "center_ref", "rejected_at", "reject_reason")
        state = dict(zip(keys, row))
        for k in ("retry_at", "acked_at", "rejected_at"):
            state[k] = unstamp(state[k])
        return state

    def _update(self, message_id: int, sql: str, params: tuple, event: tuple | None = None) -> None:
        with self._s.writing() as conn:
            cur = conn.execute(f"UPDATE outbox SET {sql} WHERE id = ? AND acked_at IS NULL",
                               (*params, message_id))
            if cur.rowcount == 0:
                if conn.execute("SELECT 1 FROM outbox WHERE id = ?", (message_id,)).fetchone() is None:
                    raise _unknown(message_id)
                return  # already acknowledged: a late failure or ack changes nothing
            if event is not None:
                conn.execute("INSERT INTO events (at, kind, subject, detail) VALUES (?, ?, ?, ?)", event)

    def mark_acked(self, message_id: int, at: dt.datetime, center_ref: str | None = None) -> None:
        self._update(message_id, "acked_at = ?, center_ref = ?", (stamp(at), center_ref))

    def mark_failed(self, message_id: int, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        self._update(message_id, "attempts = attempts + 1, last_error = ?, retry_at = ?",
                     (str(error)[:MAX_ERROR_LEN], stamp(retry_at)))

    def mark_rejected(self, message_id: int, at: dt.datetime, reason: str) -> None:
        reason = str(reason)[:MAX_ERROR_LEN]
        self._update(message_id, "attempts = attempts + 1, rejected_at = ?, reject_reason = ?, last_error = ?",
                     (stamp(at), reason, reason),
                     (stamp(at), "upload_rejected", f"outbox:{message_id}", None))

    def requeue(self, message_id: int, at: dt.datetime) -> None:
        """A technician fixed the cause of a rejection: send the message again from now on."""
        self._update(message_id, "rejected_at = NULL, retry_at = ?", (stamp(at),),
                     (stamp(at), "upload_requeued", f"outbox:{message_id}", None))

    def backlog(self, now: dt.datetime) -> Backlog:
        with self._s.reading() as conn:
            pending, rejected, oldest = conn.execute(
                "SELECT count(*) - count(rejected_at), count(rejected_at), "
                "min(CASE WHEN rejected_at IS NULL THEN created_at END) FROM outbox WHERE acked_at IS NULL"
            ).fetchone()
        return Backlog(pending=pending, rejected=rejected, oldest_pending_at=unstamp(oldest))


def _unknown(message_id: int) -> ValidationError:
    return ValidationError(f"no outbox message {message_id}", code="unknown_message", field="message_id")
