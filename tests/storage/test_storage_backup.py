"""Online backup through the sqlite3 backup API: a consistent, checked copy taken while the ledger
stays open, written to a temporary file and renamed into place."""
import pytest

from ledger_helpers import at
from storage.ledger import Ledger
from terminal.core.errors import ValidationError


def test_backup_is_a_sound_ledger_with_everything_committed(till, stocked, tmp_path):
    numbers = [str(till.sale()[0].number) for _ in range(25)]  # still in the WAL, not checkpointed
    dest = tmp_path / "backups" / "ledger-1.sqlite3"
    dest.parent.mkdir()
    stocked.backup(dest)
    for _ in range(5):
        till.sale()  # after the backup: not in it
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ledger-1.sqlite3"]  # no partial file left
    with Ledger.open(dest) as copy:  # full integrity check and invariants
        assert copy.list_ranges()[0].used == 25
        assert str(copy.last_invoice().invoice.number) == numbers[-1]
        assert copy.get_invoice(numbers[3]).invoice == stocked.get_invoice(numbers[3]).invoice
        assert len(copy.outbox.pending(at(2030, 1, 1))) == 25
    assert stocked.events()[-1]["kind"] == "backup"


def test_a_backup_replaces_the_previous_one(till, stocked, tmp_path):
    dest = tmp_path / "b.sqlite3"
    till.sale()
    stocked.backup(dest)
    till.sale()
    stocked.backup(dest)
    with Ledger.open(dest) as copy:
        assert copy.list_ranges()[0].used == 2


def test_backup_never_targets_the_ledger_itself(stocked, ledger_path, tmp_path):
    for dest in (ledger_path, f"{ledger_path}-wal", tmp_path / "missing-dir" / "b.sqlite3"):
        with pytest.raises(ValidationError) as err:
            stocked.backup(dest)
        assert err.value.code == "invalid_backup_target"
    assert stocked.check() == []
