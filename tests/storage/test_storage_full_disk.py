"""A full disk fails the sale cleanly: nothing of it is written, no number is skipped, and the sale
goes through once there is room. Simulated with SQLite's max_page_count, and for real on a tiny
tmpfs when the test may mount one (root)."""
import contextlib
import os
import subprocess

import pytest

from ledger_helpers import P11310, Till, at
from storage.ledger import Ledger
from terminal.core.errors import CannotIssue
from terminal.core.numbers import NumberRange


def fill_until_full(till: Till, limit: int = 5000) -> tuple[list[str], str]:
    """Issue until the ledger reports a full disk; returns the numbers issued and the failed sale id."""
    issued = []
    for n in range(limit):
        sale_id = f"FILL-{n:05d}"
        try:
            inv, _ = till.sale(sale_id)
        except CannotIssue as exc:
            assert exc.code == "ledger_full", exc.message
            assert exc.message_zh == "儲存空間已滿，暫停開立"
            return issued, sale_id
        issued.append(str(inv.number))
    raise AssertionError("the disk never filled")


def assert_clean_failure(led: Ledger, issued: list[str], failed_sale: str) -> None:
    assert led.get_by_sale_id(failed_sale) is None
    (state,) = led.list_ranges()
    assert state.used == len(issued)
    assert issued == [f"AB{n:08d}" for n in range(len(issued))]
    assert len(led.outbox.pending(at(2024, 12, 1))) == len(issued)
    assert led.check(deep=True) == []


def test_max_page_count_full_disk(stocked, till):
    conn = stocked._s.conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages + 8}")
    issued, failed = fill_until_full(till)
    assert issued, "some sales fit before the disk filled"
    assert_clean_failure(stocked, issued, failed)
    conn.execute("PRAGMA max_page_count = 1073741823")
    inv, created = till.sale(failed)
    assert created and str(inv.number) == f"AB{len(issued):08d}"  # the number that failed, not skipped


@contextlib.contextmanager
def tiny_tmpfs(where, size: str):
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_real_full_disk(tmp_path):
    with tiny_tmpfs(tmp_path / "mnt", "400k") as mnt:
        path = mnt / "ledger.sqlite3"
        led = Ledger.open(path)
        try:
            led.import_ranges([NumberRange(P11310, "AB", 0, 4999)], source="test", now=at(2024, 9, 1))
            till = Till(led, at(2024, 9, 15, 10))
            issued, failed = fill_until_full(till)
            assert_clean_failure(led, issued, failed)
            subprocess.run(["mount", "-o", "remount,size=8m", str(mnt)], check=True)
            inv, created = till.sale(failed)
            assert created and str(inv.number) == f"AB{len(issued):08d}"
        finally:
            led.close()
        with Ledger.open(path) as again:
            assert again.list_ranges()[0].used == len(issued) + 1
            assert again.check(deep=True) == []
