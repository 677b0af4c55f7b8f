"""Opening the ledger: creation and migrations, and every way a file can be bad: each stops issuing
with a clear code and leaves the file exactly as it was."""
import hashlib
import sqlite3

import pytest

from ledger_helpers import P11310, Till, at
from storage import db as db_mod
from storage.ledger import Ledger
from storage.migrations import NAMES
from terminal.core.errors import CannotIssue, ConfigError
from terminal.core.numbers import NumberRange


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filled(path, n=20) -> None:
    """A closed ledger at ``path`` with ``n`` invoices (WAL checkpointed into the file)."""
    with Ledger.open(path) as led:
        led.import_ranges([NumberRange(P11310, "AB", 0, 99)], source="test", now=at(2024, 9, 1))
        till = Till(led, at(2024, 9, 15, 10))
        for _ in range(n):
            till.sale()


def refused(path, code: str) -> CannotIssue:
    before = digest(path) if path.is_file() else None
    with pytest.raises(CannotIssue) as err:
        Ledger.open(path)
    assert err.value.code == code, err.value.message
    if before is not None:
        assert digest(path) == before, "a refused ledger file must be left untouched"
    return err.value


def test_a_new_ledger_is_created_with_named_migrations_in_wal_mode(ledger_path):
    with Ledger.open(ledger_path) as led:
        conn = led._s.conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (db_mod.BUSY_TIMEOUT_MS,)
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == list(NAMES)


def test_reopening_keeps_everything_and_applies_nothing_twice(ledger_path):
    filled(ledger_path, 5)
    with Ledger.open(ledger_path) as led:
        assert led.list_ranges()[0].used == 5
        assert str(led.last_invoice().invoice.number) == "AB00000004"
        assert led._s.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone() == (len(NAMES),)


def test_garbage_file_is_corrupt_and_untouched(ledger_path):
    ledger_path.write_bytes(b"this is not a database\n" * 200)
    err = refused(ledger_path, "ledger_corrupt")
    assert str(ledger_path) in err.message and err.message_zh == "帳本損毀，暫停開立"


def test_an_emptied_ledger_is_not_silently_replaced(ledger_path):
    ledger_path.write_bytes(b"")
    err = refused(ledger_path, "ledger_corrupt")
    assert "empty" in err.message
    assert ledger_path.stat().st_size == 0


def test_a_damaged_page_fails_the_integrity_check(ledger_path):
    filled(ledger_path, 60)
    conn = sqlite3.connect(ledger_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'invoices'").fetchone()
    conn.close()
    with open(ledger_path, "r+b") as f:  # scribble over the invoices b-tree's root page header
        f.seek((root - 1) * page_size)
        f.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff")
    refused(ledger_path, "ledger_corrupt")


def test_a_skipped_number_breaks_the_invariants(ledger_path):
    filled(ledger_path, 3)
    conn = sqlite3.connect(ledger_path)
    conn.execute("UPDATE tracks SET next_serial = next_serial + 1")  # forward moves pass the triggers
    conn.commit()
    conn.close()
    err = refused(ledger_path, "ledger_corrupt")
    assert "3 invoices for the 4 numbers handed out" in err.message


def test_a_number_both_issued_and_blank_breaks_the_invariants(ledger_path):
    filled(ledger_path, 3)
    conn = sqlite3.connect(ledger_path)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("INSERT INTO blank_reports (track_id, first_serial, last_serial, outbox_id, created_at) "
                 "VALUES (1, 2, 99, 1, '2024-11-01T00:00:00.000000+08:00')")
    conn.commit()
    conn.close()
    err = refused(ledger_path, "ledger_corrupt")
    assert "covers numbers that were issued" in err.message


def test_another_sqlite_database_is_not_a_ledger(ledger_path):
    conn = sqlite3.connect(ledger_path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    err = refused(ledger_path, "ledger_unavailable")
    assert "not a receipt-terminal ledger" in err.message


def test_a_ledger_from_a_newer_version_is_refused(ledger_path):
    filled(ledger_path, 1)
    conn = sqlite3.connect(ledger_path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('receipt_terminal_ledger', '0099_from_the_future', 'x')")
    conn.commit()
    conn.close()
    err = refused(ledger_path, "ledger_unavailable")
    assert "newer version" in err.message


def test_unopenable_paths_are_unavailable(tmp_path):
    refused(tmp_path / "no-such-dir" / "ledger.sqlite3", "ledger_unavailable")
    (tmp_path / "adir").mkdir()
    refused(tmp_path / "adir", "ledger_unavailable")
    assert not (tmp_path / "no-such-dir").exists()


def test_the_ledger_belongs_to_one_terminal(ledger_path):
    Ledger.open(ledger_path, terminal_id="T1").close()
    with pytest.raises(ConfigError) as err:
        Ledger.open(ledger_path, terminal_id="T2")
    assert err.value.code == "terminal_id_mismatch"
    with pytest.raises(ConfigError):
        Ledger.open(ledger_path, terminal_id="bad id!")


def test_the_record_is_append_only_at_the_sql_level(till, stocked, ledger_path):
    till.sale()
    raw = sqlite3.connect(ledger_path)
    for sql in ("DELETE FROM invoices", "UPDATE invoices SET total = 1", "UPDATE invoices SET items = '[]'",
                "UPDATE tracks SET next_serial = first_serial", "UPDATE tracks SET last_serial = 149",
                "DELETE FROM events", "UPDATE outbox SET payload = x'00'", "DELETE FROM outbox"):
        with pytest.raises(sqlite3.IntegrityError, match="ledger: "):
            raw.execute(sql)
    raw.close()
    assert stocked.check(deep=True) == []


def test_a_corruption_error_at_run_time_stops_all_further_work(till, stocked, monkeypatch):
    till.sale()
    exc = sqlite3.DatabaseError("database disk image is malformed")
    exc.sqlite_errorname = "SQLITE_CORRUPT"

    def broken_plan(*args, **kw):
        raise exc

    monkeypatch.setattr(stocked, "_plan", broken_plan)
    with pytest.raises(CannotIssue) as err:
        till.sale()
    assert err.value.code == "ledger_corrupt"
    monkeypatch.undo()
    for call in (lambda: till.sale(), stocked.list_ranges, lambda: stocked.outbox.backlog(till.now)):
        with pytest.raises(CannotIssue) as again:
            call()
        assert again.value.code == "ledger_corrupt"


def test_a_closed_ledger_refuses_work(ledger):
    ledger.close()
    with pytest.raises(CannotIssue) as err:
        ledger.list_ranges()
    assert err.value.code == "ledger_unavailable"
    ledger.close()  # closing twice is harmless


def test_an_interrupted_creation_leaves_no_ledger_behind(ledger_path, monkeypatch):
    from storage import ledger as ledger_mod

    def power_cut(db, terminal_id):
        db.conn.execute("CREATE TABLE half_made (x)")
        raise KeyboardInterrupt  # stands in for the process dying mid-creation

    monkeypatch.setattr(ledger_mod, "_setup", power_cut)
    with pytest.raises(KeyboardInterrupt):
        Ledger.open(ledger_path)
    assert list(ledger_path.parent.iterdir()) == []
    monkeypatch.undo()
    with Ledger.open(ledger_path) as led:
        assert led.list_ranges() == []
