"""Crash safety: a writer killed with SIGKILL at random points, over more than 1,000 issues, leaves
a ledger that opens clean, keeps every invariant and holds every sale it acknowledged, with the
number it acknowledged; the sale in flight is retried by the next writer (the POS retrying) and
lands at most once."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger_helpers import P11310, at
from storage.ledger import Ledger
from terminal.core.numbers import NumberRange

WRITER = Path(__file__).with_name("crash_writer.py")
MIN_ISSUES = 1000


def spin(seconds: float) -> None:
    """Busy-wait a random sliver so the kill lands anywhere inside the next issue (not a sleep to
    wait for something: nothing is asserted about timing)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def run_round(path: Path, first: int, count: int, seed: int, retry: str | None, rng: random.Random):
    """Start a writer, kill it after a random number of acknowledgements (or let it finish).
    Returns the acknowledgements read and the sale in flight (sent, not acknowledged)."""
    args = [sys.executable, str(WRITER), str(path), str(first), str(count), str(seed)] + ([retry] if retry else [])
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    expected = ([retry] if retry else []) + [f"CRASH-{n:06d}" for n in range(first, first + count)]
    roll = rng.random()  # 10 %: runs to the end; 10 %: killed while starting; else after k acks
    kill_after = None if roll < 0.1 else 0 if roll < 0.2 else rng.randint(1, len(expected))
    acks: dict[str, tuple[str, bool]] = {}
    if kill_after == 0:
        spin(rng.uniform(0.0, 0.4))  # somewhere in start-up, opening or the first issue
    else:
        for line in child.stdout:
            if line.startswith("ACK "):
                _, sale_id, number, created = line.split()
                acks[sale_id] = (number, created == "1")
                if kill_after is not None and len(acks) == kill_after:
                    spin(rng.uniform(0.0, 0.004))
                    break
    if kill_after is None:
        assert child.wait(timeout=60) == 0, child.stderr.read()
    else:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    child.stdout.close()
    child.stderr.close()
    unacked = [s for s in expected if s not in acks]
    in_flight = unacked[0] if unacked and kill_after is not None else None
    return acks, in_flight


def test_sigkill_at_random_points_loses_no_acknowledged_sale(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as led:
        led.import_ranges([NumberRange(P11310, "AB", 0, 4999)], source="test", now=at(2024, 9, 1))
    rng = random.Random(20241115)
    acked: dict[str, str] = {}
    first, retry, rounds, kills = 0, None, 0, 0
    while len(acked) < MIN_ISSUES or rounds < 12:
        count = rng.randint(10, 150)
        acks, in_flight = run_round(path, first, count, rounds, retry, rng)
        for sale_id, (number, created) in acks.items():
            if sale_id in acked:  # a retried sale that was acknowledged before: same invoice
                assert acked[sale_id] == number and not created
            acked[sale_id] = number
        kills += in_flight is not None
        retry, first, rounds = in_flight, first + count, rounds + 1
    assert kills >= rounds // 2

    with Ledger.open(path) as led:  # full integrity check + invariants at open
        assert led.check(deep=True) == []
        for sale_id, number in acked.items():
            rec = led.get_by_sale_id(sale_id)
            assert rec is not None, f"acknowledged sale {sale_id} lost"
            assert str(rec.invoice.number) == number
        (state,) = led.list_ranges()
        issued = led._s.conn.execute("SELECT count(*), count(DISTINCT sale_id) FROM invoices").fetchone()
        assert issued[0] == issued[1] == state.used >= len(acked) >= MIN_ISSUES
        # nothing beyond the acknowledged sales except sales that were in flight when killed
        assert state.used - len(acked) <= kills
        assert len(led.outbox.pending(at(2030, 1, 1), limit=10_000)) == state.used
