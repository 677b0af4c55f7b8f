"""Durability, counted at the system-call level: every issue is one commit that SQLite syncs to disk
(at least one fsync/fdatasync per issue, so an acknowledged sale survives a power cut) and at most
two. Counted with strace on a child process, as SQLite syncs from C."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import datetime as dt, sys
from storage.ledger import Ledger
from terminal.core.invoice import Seller, parse_sale
from terminal.core.numbers import NumberRange
from terminal.core.period import Period
tz = dt.timezone(dt.timedelta(hours=8))
path, n = sys.argv[1], int(sys.argv[2])
with Ledger.open(path) as led:
    if not led.list_ranges():
        led.import_ranges([NumberRange(Period(2024, 10), "AB", 0, 9999)], source="t",
                          now=dt.datetime(2024, 9, 1, tzinfo=tz))
    start = len(led.list_ranges()) and led.list_ranges()[0].used
    for i in range(start, start + n):
        body = {"sale_id": f"S{i}", "items": [{"name": "x", "quantity": 1, "unit_price": 10}], "total": 10}
        led.issue(parse_sale(body), now=dt.datetime(2024, 9, 15, 10, tzinfo=tz) + dt.timedelta(seconds=i),
                  seller=Seller("04595257", "s", "a"), random_code=lambda: i % 10000, sale_fingerprint=str(i))
"""


def sync_calls(path: Path, n: int, tmp: Path) -> int:
    out = tmp / f"strace-{n}.txt"
    r = subprocess.run(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(out), sys.executable, "-c",
                        CHILD, str(path), str(n)], cwd=Path(__file__).parents[2], capture_output=True, text=True,
                       env={"PYTHONPATH": str(Path(__file__).parents[2])})
    if r.returncode != 0 and "ptrace" in r.stderr:
        pytest.skip(f"strace cannot trace here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    return sum(int(m.group(1)) for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$",
                                                   out.read_text(), re.M))


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (scripts/setup.sh installs it)")
def test_one_or_two_syncs_per_issue(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    sync_calls(path, 0, tmp_path)  # create and import first: counted below is only the issuing
    base = sync_calls(path, 0, tmp_path)
    n = 200
    per_issue = (sync_calls(path, n, tmp_path) - base) / n
    assert 1.0 <= per_issue <= 2.0, per_issue
