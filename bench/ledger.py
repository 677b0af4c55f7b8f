"""Ledger benchmark: issue latency against a bare single-row insert+commit measured in the same run
(same file system, WAL, synchronous=FULL), fsyncs per issue counted with strace, bytes per invoice,
and issue latency as the ledger grows to 500,000 invoices.

    .venv/bin/python bench/ledger.py [--dir DIR] [--issues N] [--sizes 0,10000,...] [--quick]

``--dir`` puts the databases on the file system to measure (e.g. the Pi's SD card); default: a
temporary directory. Prints a table and writes bench/results/ledger.json (``--out`` to change).
The large ledgers are seeded in bulk with SQL rows shaped like issued invoices (closed past periods,
two items each, an acknowledged F0401 payload) — seeding through ``issue`` would take hours.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import db as db_mod  # noqa: E402
from storage import outbox as outbox_mod  # noqa: E402
from storage.ledger import Ledger  # noqa: E402
from terminal.core import messages, mig  # noqa: E402
from terminal.core.invoice import Seller, build_invoice, parse_sale  # noqa: E402
from terminal.core.numbers import InvoiceNumber, NumberRange  # noqa: E402
from terminal.core.period import Period  # noqa: E402

TAIPEI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=TAIPEI)  # period 11512
SELLER = Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號")
PER_PERIOD = 10_000  # seeded invoices per past period (200 booklets)
# Untimed first: both WALs past their first checkpoint (1,000 pages), so neither file still grows.
WARM_UP = 300  # issues (about 8 WAL frames each)
BARE_WARM_UP = 1500  # bare commits (about 1 frame each)


def sale_body(n: int) -> dict:
    return {"sale_id": f"BENCH-{n:08d}", "items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65},
                                                    {"name": "可頌", "quantity": 1, "unit_price": 45}], "total": 175}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary_ms(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values) * 1e3, 3), "p99_ms": round(pct(values, 99) * 1e3, 3),
            "n": len(values)}


# ---------------------------------------------------------------- the baseline
class Bare:
    """The baseline: one single-row INSERT + COMMIT per transaction on a connection kept open (as
    the ledger's is), with the ledger's pragmas: WAL (persistent) and synchronous=FULL."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, sale_id TEXT, total INTEGER)")
        (self.done,) = self.conn.execute("SELECT count(*) FROM t").fetchone()

    def commits(self, n: int) -> list[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO t (sale_id, total) VALUES (?, ?)", (f"BENCH-{self.done:08d}", 175))
            self.conn.execute("COMMIT")
            out.append(time.perf_counter() - t)
            self.done += 1
        return out

    def close(self) -> None:
        self.conn.close()


def bare_commits(path: Path, n: int) -> list[float]:
    bare = Bare(path)
    try:
        return bare.commits(n)
    finally:
        bare.close()


# ---------------------------------------------------------------- issuing
class LockTimer:
    """Times each write transaction (BEGIN IMMEDIATE .. COMMIT): how long the ledger holds the lock,
    the part of an issue comparable to the bare insert+commit."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._real = db_mod.write_transaction

    @contextlib.contextmanager
    def __call__(self, conn):
        t = time.perf_counter()
        with self._real(conn) as c:
            yield c
        self.times.append(time.perf_counter() - t)


def issue_many(led: Ledger, first: int, n: int, start: dt.datetime, lock: LockTimer | None = None) -> list[float]:
    out = []
    codes = iter(range(10 ** 9))
    if lock is not None:
        lock.times.clear()
    for i in range(first, first + n):
        body = sale_body(i)
        sale = parse_sale(body)
        now = start + dt.timedelta(seconds=i - first)
        t = time.perf_counter()
        led.issue(sale, now=now, seller=SELLER, random_code=lambda: next(codes) % 10000,
                  sale_fingerprint=body["sale_id"])
        out.append(time.perf_counter() - t)
    return out


# ---------------------------------------------------------------- fsyncs
_CHILD_ISSUE = r"""
import datetime as dt, sys
sys.path.insert(0, sys.argv[3])
from bench.ledger import Ledger, issue_many, NOW
with Ledger.open(sys.argv[1], integrity="quick") as led:
    used = led.list_ranges()[0].used
    issue_many(led, used, int(sys.argv[2]), NOW + dt.timedelta(seconds=used))
"""
_CHILD_BARE = r"""
import sys
sys.path.insert(0, sys.argv[3])
from bench.ledger import bare_commits
from pathlib import Path
bare_commits(Path(sys.argv[1]), int(sys.argv[2]))
"""


def sync_calls(child: str, path: Path, n: int, work: Path) -> int | None:
    if shutil.which("strace") is None:
        return None
    out = work / "strace.txt"
    r = subprocess.run(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(out), sys.executable, "-c",
                        child, str(path), str(n), str(ROOT)], capture_output=True, text=True)
    if r.returncode != 0 and "ptrace" in r.stderr:
        print(f"strace cannot trace here, fsyncs not counted: {r.stderr.strip()[:200]}", file=sys.stderr)
        return None
    if r.returncode != 0:
        raise RuntimeError(f"fsync-counting child failed: {r.stderr[-2000:]}")
    return sum(int(m.group(1)) for m in re.finditer(
        r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$", out.read_text(), re.M))


def syncs_per_op(child: str, path: Path, n: int, work: Path) -> float | None:
    base = sync_calls(child, path, 0, work)  # opening and closing alone
    total = None if base is None else sync_calls(child, path, n, work)
    return None if total is None else round((total - base) / n, 3)


# ---------------------------------------------------------------- bulk seeding
def payload_template() -> bytes:
    inv = build_invoice(parse_sale(sale_body(0)), InvoiceNumber("AB", 0), NOW, "1234", SELLER)
    return outbox_mod.compress(mig.build(messages.f0401(inv, printed=True)))


def seed(path: Path, upto: int, state: dict) -> None:
    """Add closed past periods full of invoices until the ledger holds ``upto`` of them."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=ON")
    blob = state.setdefault("payload", payload_template())
    (seller_id,) = conn.execute("SELECT id FROM sellers").fetchone()
    while state["seeded"] < upto:
        k = state["seeded"] // PER_PERIOD
        period = Period.of(NOW.date())
        for _ in range(60 - k):  # the oldest first: period 60 before now, then 59, ...
            period = period.previous()
        prefix = f"{chr(65 + k // 26)}{chr(65 + k % 26)}"
        day0 = dt.datetime.combine(period.first_day, dt.time(8), TAIPEI)
        conn.execute("BEGIN")
        track_id = conn.execute(
            "INSERT INTO tracks (period, prefix, first_serial, last_serial, next_serial, owner, source, imported_at, "
            "closed_at) VALUES (?, ?, 0, ?, ?, 'T1', 'seed', ?, ?)",
            (period.code, prefix, PER_PERIOD - 1, PER_PERIOD, db_stamp(day0),
             db_stamp(dt.datetime.combine(period.next().first_day, dt.time(9), TAIPEI)))).lastrowid
        (next_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM invoices").fetchone()
        rows, outbox = [], []
        items = json.dumps([["拿鐵咖啡", 2, 65], ["可頌", 1, 45]], ensure_ascii=False, separators=(",", ":"))
        for s in range(PER_PERIOD):
            iid = next_id + s
            at = db_stamp(day0 + dt.timedelta(seconds=s * 300))
            rows.append((iid, track_id, s, f"SEED-{iid:08d}", f"{iid:064x}", at, f"{iid % 10000:04d}", seller_id, 175,
                         167, 8, None, None, None, None, items, "printed", 1))
            outbox.append(("F0401", f"{prefix}{s:08d}", f"invoice:{iid}", blob, at, 1, at, "seed"))
        conn.executemany("INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO outbox (message_type, key, subject, payload, created_at, attempts, acked_at, "
                         "center_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", outbox)
        conn.execute("COMMIT")
        state["seeded"] += PER_PERIOD
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def db_stamp(t: dt.datetime) -> str:
    return t.astimezone(TAIPEI).isoformat(timespec="microseconds")


def bytes_by_object(path: Path, invoices: int) -> dict:
    """Bytes per invoice of each table and index (SQLite's dbstat)."""
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    conn.close()
    return {name: round(size / invoices) for name, size in rows if size / invoices >= 1}


def db_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return size


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--issues", type=int, default=500, help="issues per latency sample (default 500)")
    ap.add_argument("--sizes", default="0,10000,100000,250000,500000")
    ap.add_argument("--sync-issues", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ledger.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.issues, args.sizes, args.sync_issues = 20, f"0,{PER_PERIOD}", 50
        global WARM_UP, BARE_WARM_UP
        WARM_UP, BARE_WARM_UP = 10, 10
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if any(s % PER_PERIOD for s in sizes):
        ap.error(f"sizes must be multiples of {PER_PERIOD}")
    work = Path(tempfile.mkdtemp(prefix="ledger-bench-", dir=args.dir))
    lock = LockTimer()
    db_mod.write_transaction = lock  # time the locked part of each issue
    try:
        result = run(args, sizes, work, lock)
    finally:
        db_mod.write_transaction = lock._real
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten {args.out}")
    return 0


def run(args, sizes: list[int], work: Path, lock: LockTimer) -> dict:
    n = args.issues
    # 1. latency: bare commit vs issue, interleaved in blocks so both see the same disk weather; both
    #    warmed up past a WAL checkpoint first, so the WAL file has stopped growing for either
    bare, issue, locked = [], [], []
    ledger_path, bare_path = work / "issue.sqlite3", work / "bare.sqlite3"
    led = Ledger.open(ledger_path)
    led.import_ranges([NumberRange(Period.of(NOW.date()), "ZZ", 0, 999_999)], source="bench", now=NOW)
    done = WARM_UP
    issue_many(led, 0, done, NOW, lock)
    bare_db = Bare(bare_path)
    bare_db.commits(BARE_WARM_UP)
    for block in range(5):
        bare += bare_db.commits(n // 5)
        issue += issue_many(led, done, n // 5, NOW + dt.timedelta(seconds=done), lock)
        locked += lock.times
        done += n // 5
    bare_db.close()
    led.close()
    latency = {"bare_insert_commit": summary_ms(bare), "issue": summary_ms(issue),
               "issue_write_transaction": summary_ms(locked)}
    latency["ratio_issue_to_bare"] = round(latency["issue"]["median_ms"] / latency["bare_insert_commit"]["median_ms"], 2)
    latency["ratio_write_transaction_to_bare"] = round(
        latency["issue_write_transaction"]["median_ms"] / latency["bare_insert_commit"]["median_ms"], 2)

    # 2. fsyncs per operation, counted by strace in child processes
    db_mod.write_transaction = lock._real
    syncs = {"issue": syncs_per_op(_CHILD_ISSUE, ledger_path, args.sync_issues, work),
             "bare_insert_commit": syncs_per_op(_CHILD_BARE, work / "bare-sync.sqlite3", args.sync_issues, work)}
    db_mod.write_transaction = lock

    # 3. bytes per invoice (issued through the ledger, 2 items, F0401 in the outbox)
    with Ledger.open(ledger_path) as led:
        used = led.list_ranges()[0].used
    fresh_bytes = db_bytes(ledger_path)

    # 4. growth: seed in bulk to each size, then time issues
    growth = []
    grow_path = work / "grow.sqlite3"
    with Ledger.open(grow_path) as led:  # schema + seller row
        led.import_ranges([NumberRange(Period.of(NOW.date()), "ZZ", 0, 999_999)], source="bench", now=NOW)
        issue_many(led, 0, 1, NOW)
    state = {"seeded": 0}
    issued = 1
    for size in sizes:
        t0 = time.perf_counter()
        seed(grow_path, size, state)
        seed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        led = Ledger.open(grow_path)
        open_s = time.perf_counter() - t0
        lat = issue_many(led, issued, n, NOW + dt.timedelta(seconds=issued), lock)
        led.close()
        t0 = time.perf_counter()
        Ledger.open(grow_path, integrity="quick").close()
        quick_s = time.perf_counter() - t0
        issued += n
        total = state["seeded"] + issued
        growth.append({"invoices": total, **summary_ms(lat), "write_transaction": summary_ms(list(lock.times)),
                       "open_with_integrity_check_s": round(open_s, 3), "open_with_quick_check_s": round(quick_s, 3),
                       "db_bytes": db_bytes(grow_path),
                       "bytes_per_invoice": round(db_bytes(grow_path) / total), "seed_s": round(seed_s, 1)})

    result = {
        "bytes_per_invoice_by_object": bytes_by_object(grow_path, state["seeded"] + issued),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "dir": str(args.dir or tempfile.gettempdir())},
        "latency": latency,
        "fsyncs_per_op": syncs,
        "bytes_per_invoice_fresh": round(fresh_bytes / used),
        "growth": growth,
        "growth_flatness": round(growth[-1]["median_ms"] / growth[0]["median_ms"], 2) if growth else None,
    }
    print_table(result)
    return result


def print_table(r: dict) -> None:
    lat = r["latency"]
    print(f"{'operation':34} {'median ms':>10} {'p99 ms':>10}")
    for name, key in (("bare INSERT+COMMIT (baseline)", "bare_insert_commit"), ("issue (whole call)", "issue"),
                      ("issue: write transaction only", "issue_write_transaction")):
        print(f"{name:34} {lat[key]['median_ms']:>10.3f} {lat[key]['p99_ms']:>10.3f}")
    print(f"ratio issue/bare {lat['ratio_issue_to_bare']}x; write transaction/bare "
          f"{lat['ratio_write_transaction_to_bare']}x")
    s = r["fsyncs_per_op"]
    print(f"fsync+fdatasync per op (strace): issue {s['issue']}, bare {s['bare_insert_commit']}")
    print(f"bytes per invoice (fresh ledger, 2 items, F0401 kept): {r['bytes_per_invoice_fresh']}")
    print(f"\n{'invoices':>9} {'median ms':>10} {'p99 ms':>9} {'txn med':>8} {'open s':>7} {'quick s':>8} {'MB':>8} "
          f"{'B/inv':>6}")
    for g in r["growth"]:
        print(f"{g['invoices']:>9} {g['median_ms']:>10.3f} {g['p99_ms']:>9.3f} {g['write_transaction']['median_ms']:>8.3f} "
              f"{g['open_with_integrity_check_s']:>7.2f} {g['open_with_quick_check_s']:>8.2f} {g['db_bytes'] / 1e6:>8.1f} "
              f"{g['bytes_per_invoice']:>6}")
    print(f"largest/smallest median: {r['growth_flatness']}x")
    print("bytes per invoice by table/index at the largest size:",
          ", ".join(f"{k} {v}" for k, v in r["bytes_per_invoice_by_object"].items()))


if __name__ == "__main__":
    sys.exit(main())
