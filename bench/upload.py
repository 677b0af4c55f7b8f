"""Upload throughput and memory: drain N queued invoices to the fake ECPay server on loopback.

Each measurement runs in a fresh child process (so peak RSS means something) that builds the queue,
starts the fake center in a separate process (its bookkeeping stays out of the numbers), warms up with
one request (lazy imports, the connection), and times one ``Uploader.upload_once()`` draining everything. Memory is the growth over the process after the queue
was built: peak RSS (VmHWM after resetting it) and the tracemalloc peak (a separate run: tracing slows
things down). The baseline, measured in the same run, is the bare transport: the same number of POSTs
of a same-sized body that the server answers with 404 (no envelope, no MIG, no outbox).

    .venv/bin/python bench/upload.py [--sizes 500,5000] [--repeats 3] [--out bench/results/upload.json]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "upload")]

TAIPEI = dt.timezone(dt.timedelta(hours=8), "Asia/Taipei")


def _status() -> dict[str, int]:
    text = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM")}


def serve(conn) -> None:
    """The fake center, in its own process: sends its URL, stops on request and reports what it stored."""
    from terminal.core.period import Period
    from vac_fake_ecpay import FakeEcpay, Track
    from vac_samples import HASH_IV, HASH_KEY, MACHINE_ID, MERCHANT_ID, START, TRACK

    def now():
        return dt.datetime.now(TAIPEI)

    period = Period.of((now() - dt.timedelta(hours=2)).date())
    tracks = [Track(MACHINE_ID, p, TRACK, START, START + 99_999) for p in {period, Period.of(now().date())}]
    fake = FakeEcpay(merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV, clock=now, tracks=tracks,
                     record_requests=False)
    conn.send(fake.start())
    conn.recv()
    conn.send({"stored": sum(fake.stored.values()), "distinct": len(fake.stored), "max": max(fake.stored.values(),
                                                                                              default=0)})
    fake.stop()


class BenchOutbox:
    """A lean Outbox: a queue whose acknowledged messages are dropped, so the memory that grows during a
    run is the uploader's, not the store's (the real store is SQLite on disk)."""

    def __init__(self) -> None:
        self._queue: deque = deque()

    def add(self, message) -> None:
        self._queue.append(message)

    def pending(self, now, limit=100):
        return [self._queue[i] for i in range(min(limit, len(self._queue)))]

    def mark_acked(self, message_id, at, center_ref=None):
        assert self._queue[0].id == message_id
        self._queue.popleft()

    def mark_failed(self, message_id, at, error, retry_at):
        raise AssertionError(f"message {message_id} failed: {error}")

    def mark_rejected(self, message_id, at, reason):
        raise AssertionError(f"message {message_id} rejected: {reason}")

    def backlog(self, now):
        raise NotImplementedError


def child(mode: str, n: int) -> dict:
    import random
    import tracemalloc

    import requests

    from drivers.vac import EcpayOfflineClient, Uploader
    from terminal.core.ports import OutboxMessage
    from vac_samples import HASH_IV, HASH_KEY, MACHINE_ID, MERCHANT_ID, f0401_xml, invoice

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=serve, args=(there,), daemon=True)
    server.start()
    base_url = here.recv()
    first = dt.datetime.now(TAIPEI) - dt.timedelta(hours=1)
    outbox = BenchOutbox()
    payload_bytes = 0
    for i in range(n):
        inv = invoice(i, first + dt.timedelta(seconds=i * 0.5))
        payload = f0401_xml(inv)
        payload_bytes += len(payload)
        outbox.add(OutboxMessage(i + 1, "F0401", str(inv.number), payload, inv.issued_at))
    clock = lambda: dt.datetime.now(TAIPEI)  # noqa: E731
    out: dict = {"mode": mode, "n": n, "queue_payload_kb": payload_bytes / 1024}
    if mode == "floor":
        session = requests.Session()
        session.trust_env = False
        body = {"MerchantID": MERCHANT_ID, "RqHeader": {"Timestamp": 0}, "Data": "x" * 1400}
        t0 = time.perf_counter()
        for _ in range(n):
            with session.post(f"{base_url}/B2CInvoice/Nothing", json=body, timeout=10) as r:
                assert r.status_code == 404
        out["seconds"] = time.perf_counter() - t0
    else:
        client = EcpayOfflineClient(base_url=base_url, merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV,
                                    machine_id=MACHINE_ID, timeout=10, clock=clock, allow_insecure_loopback=True)
        uploader = Uploader(outbox, client, clock=clock, rng=random.Random(1), batch=50)
        client.merchant_info()  # warm up: lazy imports and the kept-alive connection are not per-invoice costs
        if mode == "trace":
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        before = _status()["VmRSS"]
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        t0 = time.perf_counter()
        result = uploader.upload_once()
        out["seconds"] = time.perf_counter() - t0
        out["rss_growth_kb"] = _status()["VmHWM"] - before
        if mode == "trace":
            out["tracemalloc_peak_kb"] = (tracemalloc.get_traced_memory()[1] - base) / 1024
            tracemalloc.stop()
        assert result.acked == n and result.failed == result.rejected == 0, result
    here.send("stop")
    out["server"] = here.recv()
    server.join(10)
    if mode != "floor":
        assert out["server"] == {"stored": n, "distinct": n, "max": 1}, out["server"]
    return out


def run_child(mode: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(n)], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} {n} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,5000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "upload.json"))
    ap.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        timed = [run_child("time", n) for _ in range(args.repeats)]
        floor = [run_child("floor", n) for _ in range(args.repeats)]
        trace = run_child("trace", n)
        secs = statistics.median(r["seconds"] for r in timed)
        floor_secs = statistics.median(r["seconds"] for r in floor)
        rows.append({
            "invoices": n, "repeats": args.repeats, "median_s": secs, "invoices_per_s": n / secs,
            "ms_per_invoice": 1000 * secs / n, "floor_ms_per_request": 1000 * floor_secs / n,
            "ratio_to_floor": secs / floor_secs,
            "rss_growth_kb_median": statistics.median(r["rss_growth_kb"] for r in timed),
            "tracemalloc_peak_kb": trace["tracemalloc_peak_kb"], "queue_payload_kb": timed[0]["queue_payload_kb"],
            "runs": {"time": timed, "floor": floor, "trace": trace}})
    print(f"{'invoices':>8} {'median s':>9} {'inv/s':>7} {'ms/inv':>7} {'floor ms':>9} {'x floor':>8} "
          f"{'RSS+ KB':>8} {'tracemalloc KB':>15} {'queue KB':>9}")
    for r in rows:
        print(f"{r['invoices']:>8} {r['median_s']:>9.2f} {r['invoices_per_s']:>7.0f} {r['ms_per_invoice']:>7.2f} "
              f"{r['floor_ms_per_request']:>9.2f} {r['ratio_to_floor']:>8.2f} {r['rss_growth_kb_median']:>8.0f} "
              f"{r['tracemalloc_peak_kb']:>15.1f} {r['queue_payload_kb']:>9.0f}")
    summary = {}
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        summary = {"queue_ratio": large["invoices"] / small["invoices"],
                   "tracemalloc_peak_ratio": large["tracemalloc_peak_kb"] / small["tracemalloc_peak_kb"],
                   "rss_growth_ratio": (large["rss_growth_kb_median"] / small["rss_growth_kb_median"]
                                        if small["rss_growth_kb_median"] else None),
                   "ms_per_invoice_ratio": large["ms_per_invoice"] / small["ms_per_invoice"]}
        print(f"{large['invoices']} vs {small['invoices']} invoices (x{summary['queue_ratio']:.0f} queue): "
              f"tracemalloc peak x{summary['tracemalloc_peak_ratio']:.2f}, RSS growth "
              f"{small['rss_growth_kb_median']:.0f} -> {large['rss_growth_kb_median']:.0f} KB, "
              f"time per invoice x{summary['ms_per_invoice_ratio']:.2f}")
    result = {"benchmark": "upload", "python": platform.python_version(), "machine": platform.machine(),
              "cpus": os.cpu_count(), "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "rows": rows, "summary": summary}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
