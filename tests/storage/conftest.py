"""Fixtures for the ledger tests: a fresh ledger file, one stocked with numbers, and a till."""
import pytest

from ledger_helpers import P11310, Till, at
from storage.ledger import Ledger
from terminal.core.numbers import NumberRange


@pytest.fixture
def ledger_path(tmp_path):
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def ledger(ledger_path):
    led = Ledger.open(ledger_path)
    yield led
    led.close()


@pytest.fixture
def stocked(ledger):
    """A ledger holding 113年09-10月 AB00000000-00000099 (two booklets)."""
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 99)], source="test", now=at(2024, 9, 1, 8))
    return ledger


@pytest.fixture
def till(stocked):
    return Till(stocked, at(2024, 9, 15, 10))
