"""The ledger's schema as named, append-only migrations (sqlite-utils ``Migrations``).

Never edit a migration that has shipped: add a new one. Each runs in one transaction with the record
of it having run. The guards (triggers) make the legal record append-only at the SQL level: invoice
rows, cancellations, voids, blank reports and events are never updated or deleted, a track's range never
changes, its next number only moves forward and never once the track is closed.
"""
from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "receipt_terminal_ledger"
NAMES = ("0001_tables", "0002_append_only_guards")  # in order; a ledger with others is from a newer version
migrations = Migrations(MIGRATION_SET)

_TABLES = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE tracks (                  -- 字軌 ranges allocated to this terminal
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,              -- period code, 11310
    prefix TEXT NOT NULL,              -- the two letters
    first_serial INTEGER NOT NULL,
    last_serial INTEGER NOT NULL,
    next_serial INTEGER NOT NULL,      -- last_serial + 1 when used up
    owner TEXT NOT NULL,               -- terminal id
    source TEXT NOT NULL,              -- file name or center that supplied it
    imported_at TEXT NOT NULL,
    closed_at TEXT,                    -- set when the period ended and its blanks were reported
    CHECK (first_serial % 50 = 0 AND last_serial % 50 = 49 AND first_serial <= last_serial
           AND last_serial <= 99999999),
    CHECK (next_serial BETWEEN first_serial AND last_serial + 1),
    UNIQUE (period, prefix, first_serial)
) STRICT;

CREATE TABLE sellers (
    id INTEGER PRIMARY KEY,
    tax_id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    UNIQUE (tax_id, name, address)
) STRICT;

CREATE TABLE outbox (                  -- messages for the value-added center
    id INTEGER PRIMARY KEY,
    message_type TEXT NOT NULL CHECK (message_type IN ('F0401','F0501','F0701','G0401','G0501','E0402')),
    key TEXT NOT NULL,                 -- what the center deduplicates on
    subject TEXT NOT NULL,             -- messages of one subject are sent in creation order
    payload BLOB NOT NULL,             -- zlib-compressed MIG 4.1 XML
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    retry_at TEXT,
    acked_at TEXT,
    center_ref TEXT,
    rejected_at TEXT,
    reject_reason TEXT
) STRICT;
CREATE INDEX outbox_open ON outbox (id) WHERE acked_at IS NULL;

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    track_id INTEGER NOT NULL REFERENCES tracks (id),
    serial INTEGER NOT NULL,
    sale_id TEXT NOT NULL UNIQUE,      -- the POS's idempotency key
    fingerprint TEXT NOT NULL,         -- canonical hash of the sale body
    issued_at TEXT NOT NULL,           -- ISO 8601, +08:00, microseconds: sorts as text
    random_code TEXT NOT NULL,
    seller_id INTEGER NOT NULL REFERENCES sellers (id),
    total INTEGER NOT NULL,
    sales_amount INTEGER NOT NULL,
    tax_amount INTEGER NOT NULL,
    buyer_tax_id TEXT,
    carrier_type TEXT,
    carrier_id TEXT,
    donation_code TEXT,
    items TEXT NOT NULL CHECK (json_array_length(items) >= 1),  -- JSON [[name, quantity, unit_price], ...]
    print_state TEXT NOT NULL CHECK (print_state IN ('pending', 'printed', 'queued', 'not_printed')),
    print_count INTEGER NOT NULL DEFAULT 0 CHECK (print_count >= 0),
    UNIQUE (track_id, serial)
) STRICT;
CREATE INDEX invoices_issued_at ON invoices (issued_at);
-- only failed prints: an insert (pending) or a print (printed) then touches no index page
CREATE INDEX invoices_queued ON invoices (id) WHERE print_state = 'queued';

CREATE TABLE cancellations (           -- 作廢 (F0501)
    invoice_id INTEGER PRIMARY KEY REFERENCES invoices (id),
    cancelled_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id)
) STRICT;

CREATE TABLE voids (                   -- 註銷 (F0701) and the re-issue with the same number
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    voided_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    corrected TEXT,                    -- JSON buyer data + amounts of the re-issue, NULL if none
    f0701_outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    f0401_outbox_id INTEGER REFERENCES outbox (id)
) STRICT;
CREATE INDEX voids_invoice ON voids (invoice_id);

CREATE TABLE allowances (              -- 折讓 (G0401) and their cancellation (G0501)
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE CHECK (length(number) <= 16),
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    created_at TEXT NOT NULL,
    lines TEXT NOT NULL,               -- JSON [[line_no, quantity, amount], ...], amounts tax-inclusive
    amount INTEGER NOT NULL,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    cancelled_at TEXT,
    cancel_reason TEXT,
    cancel_outbox_id INTEGER REFERENCES outbox (id)
) STRICT;
CREATE INDEX allowances_invoice ON allowances (invoice_id);

CREATE TABLE blank_reports (           -- E0402: unused numbers of a closed period
    id INTEGER PRIMARY KEY,
    track_id INTEGER NOT NULL REFERENCES tracks (id),
    first_serial INTEGER NOT NULL,
    last_serial INTEGER NOT NULL,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    created_at TEXT NOT NULL,
    CHECK (first_serial <= last_serial)
) STRICT;
CREATE INDEX blank_reports_track ON blank_reports (track_id);

CREATE TABLE events (                  -- append-only audit log
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    detail TEXT                        -- JSON
) STRICT;
"""

_GUARDS = """
CREATE TRIGGER tracks_no_delete BEFORE DELETE ON tracks
BEGIN SELECT RAISE(ABORT, 'ledger: tracks are never deleted'); END;
CREATE TRIGGER tracks_range_fixed
BEFORE UPDATE OF id, period, prefix, first_serial, last_serial, owner, source, imported_at ON tracks
BEGIN SELECT RAISE(ABORT, 'ledger: a track range never changes'); END;
CREATE TRIGGER tracks_forward_only BEFORE UPDATE OF next_serial ON tracks
WHEN NEW.next_serial < OLD.next_serial OR OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'ledger: numbers go forward only, and never from a closed track'); END;
CREATE TRIGGER tracks_closed_once BEFORE UPDATE OF closed_at ON tracks WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'ledger: a closed track stays closed'); END;

CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'ledger: invoices are never deleted'); END;
CREATE TRIGGER invoices_fixed
BEFORE UPDATE OF id, track_id, serial, sale_id, fingerprint, issued_at, random_code, seller_id, total,
                 sales_amount, tax_amount, buyer_tax_id, carrier_type, carrier_id, donation_code, items ON invoices
BEGIN SELECT RAISE(ABORT, 'ledger: an issued invoice never changes (void and re-issue instead)'); END;

CREATE TRIGGER cancellations_no_update BEFORE UPDATE ON cancellations
BEGIN SELECT RAISE(ABORT, 'ledger: cancellations never change'); END;
CREATE TRIGGER cancellations_no_delete BEFORE DELETE ON cancellations
BEGIN SELECT RAISE(ABORT, 'ledger: cancellations are never deleted'); END;
CREATE TRIGGER voids_no_update BEFORE UPDATE ON voids
BEGIN SELECT RAISE(ABORT, 'ledger: voids never change'); END;
CREATE TRIGGER voids_no_delete BEFORE DELETE ON voids
BEGIN SELECT RAISE(ABORT, 'ledger: voids are never deleted'); END;
CREATE TRIGGER allowances_no_delete BEFORE DELETE ON allowances
BEGIN SELECT RAISE(ABORT, 'ledger: allowances are never deleted'); END;
CREATE TRIGGER allowances_fixed
BEFORE UPDATE OF id, number, invoice_id, created_at, lines, amount, outbox_id ON allowances
BEGIN SELECT RAISE(ABORT, 'ledger: an allowance never changes (cancel it instead)'); END;
CREATE TRIGGER allowances_cancelled_once BEFORE UPDATE OF cancelled_at ON allowances
WHEN OLD.cancelled_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'ledger: an allowance is cancelled once'); END;
CREATE TRIGGER blank_reports_no_update BEFORE UPDATE ON blank_reports
BEGIN SELECT RAISE(ABORT, 'ledger: blank reports never change'); END;
CREATE TRIGGER blank_reports_no_delete BEFORE DELETE ON blank_reports
BEGIN SELECT RAISE(ABORT, 'ledger: blank reports are never deleted'); END;

CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
BEGIN SELECT RAISE(ABORT, 'ledger: outbox messages are never deleted'); END;
CREATE TRIGGER outbox_fixed BEFORE UPDATE OF id, message_type, key, subject, payload, created_at ON outbox
BEGIN SELECT RAISE(ABORT, 'ledger: an outbox message never changes'); END;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger: the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger: the event log is append-only'); END;
"""


def _statements(script: str):
    """Split a script into statements (``executescript`` would commit the migration's transaction)."""
    buf: list[str] = []
    for line in script.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf.append(line)
        if sqlite3.complete_statement("".join(buf)):
            yield "".join(buf)
            buf = []
    if "".join(buf).strip():
        raise ValueError(f"incomplete SQL statement: {''.join(buf)[:80]!r}")


@migrations(name=NAMES[0])
def _tables(db: Database) -> None:
    for statement in _statements(_TABLES):
        db.execute(statement)


@migrations(name=NAMES[1])
def _guards(db: Database) -> None:
    for statement in _statements(_GUARDS):
        db.execute(statement)
