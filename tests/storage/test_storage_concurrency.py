"""The service and the CLI may hold the ledger open at the same time: WAL readers never block, the
write lock is taken up front and waited for (busy timeout), and a sale planned before another
process wrote is planned again, so numbers and random codes stay unique."""
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_helpers import P11310, Till, at
from storage import db as db_mod
from storage.ledger import Ledger
from terminal.core.errors import CannotIssue
from terminal.core.numbers import NumberRange


def test_two_connections_share_the_number_sequence_and_recent_codes(stocked, ledger_path):
    with Ledger.open(ledger_path) as other:
        a, b = Till(stocked, at(2024, 9, 15, 10), seed=1), Till(other, at(2024, 9, 15, 10), seed=2)
        a.rng.randrange = b.rng.randrange = lambda n: 4242  # both sources stuck on one code
        got = []
        for i in range(20):
            t = a if i % 2 else b
            t.now = at(2024, 9, 15, 10) + dt.timedelta(minutes=i)
            got.append(t.sale(f"S{i}", step=dt.timedelta(0))[0])
        assert [str(inv.number) for inv in got] == [f"AB{n:08d}" for n in range(20)]
        assert len({inv.random_code for inv in got}) == 20
        assert other.get_invoice("AB00000001") == stocked.get_invoice("AB00000001")


def test_a_sale_planned_before_another_writer_is_planned_again(stocked, ledger_path, monkeypatch):
    with Ledger.open(ledger_path) as other:
        mine, theirs = Till(stocked, at(2024, 9, 15, 10)), Till(other, at(2024, 9, 15, 10))
        real_plan = stocked._plan
        calls = []

        def plan_then_other_writes(conn, *args):
            result = real_plan(conn, *args)
            calls.append(str(result.invoice.number))
            if len(calls) == 1:
                theirs.sale("THEIRS")  # commits between our plan and our write
            return result

        monkeypatch.setattr(stocked, "_plan", plan_then_other_writes)
        inv, created = mine.sale("MINE", step=dt.timedelta(minutes=2))
        assert calls == ["AB00000000", "AB00000001"]
        assert created and str(inv.number) == "AB00000001"
        assert str(stocked.get_by_sale_id("THEIRS").invoice.number) == "AB00000000"
        assert stocked.check(deep=True) == []


def test_a_write_lock_held_too_long_fails_the_sale_cleanly(ledger_path, monkeypatch):
    monkeypatch.setattr(db_mod, "BUSY_TIMEOUT_MS", 50)
    with Ledger.open(ledger_path) as led:
        led.import_ranges([NumberRange(P11310, "AB", 0, 49)], source="test", now=at(2024, 9, 1))
        till = Till(led, at(2024, 9, 15, 10))
        blocker = sqlite3.connect(ledger_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(CannotIssue) as err:
            till.sale("S1")
        assert err.value.code == "ledger_busy"
        blocker.execute("ROLLBACK")
        blocker.close()
        inv, created = till.sale("S1")
        assert created and str(inv.number) == "AB00000000"


def test_another_process_imports_while_the_service_holds_the_ledger(stocked, ledger_path, till):
    till.sale()
    code = ("import datetime as dt, sys; from storage.ledger import Ledger; "
            "from terminal.core.numbers import NumberRange; from terminal.core.period import Period; "
            "led = Ledger.open(sys.argv[1]); "
            "print(led.import_ranges([NumberRange(Period(2024, 10), 'AA', 0, 49)], source='cli', "
            "now=dt.datetime(2024, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=8))))); "
            "print(led.list_ranges()[1].used); led.close()")
    root = Path(__file__).parents[2]
    r = subprocess.run([sys.executable, "-c", code, str(ledger_path)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(root)}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["50", "1"]
    inv, _ = till.sale()
    assert str(inv.number) == "AA00000000"  # the service sees the CLI's import at once
