"""Benchmark of the terminal service (issue 6).

1. POS request → invoice durable (WAL, synchronous=FULL) → print job started, over N sales through the
   real LAN API on loopback; the printer is a stand-in that only records the job (the printer itself is
   excluded, as the target says). Baseline in the same run: GET /v1/health (HTTP + framework, no work).
2. Start-up: wall time from process start to the READY line of ``run --simulate``, and its RSS
   (VmRSS / VmHWM from /proc) after READY and after the sales.

    .venv/bin/python bench/service.py [--sales 1000]

Prints a table and writes bench/results/service.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


class JobRecorder:
    """Stands in for the printer: the job has 'started' when print_receipt is called."""

    def __init__(self) -> None:
        self.jobs = 0

    def status(self):
        from types import SimpleNamespace

        return SimpleNamespace(state="ok", message_en="bench", message_zh="")

    def print_receipt(self, receipt) -> None:
        self.jobs += 1


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_requests(n: int) -> dict:
    from service.conftest import TOKEN, FakeClock, make_config  # the test rig's config helpers

    from storage.ledger import Ledger
    from terminal.api import create_app, serve
    from terminal.core.numbers import NumberRange
    from terminal.core.period import Period
    from terminal.service import Terminal

    tmp = Path(tempfile.mkdtemp(prefix="rt-bench-"))
    cfg = make_config(tmp / "state")
    clock = FakeClock(dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(hour=12))
    ledger = Ledger.open(tmp / "ledger.sqlite3")
    ledger.import_ranges([NumberRange(Period.of(clock.now().date()), "AB", 0, ((n + 99) // 50) * 50 - 1)],
                         source="bench", now=clock.now())
    printer = JobRecorder()
    term = Terminal(cfg, ledger=ledger, printer=printer, display=None, clock=clock, rng=random.Random(1))
    server, _ = serve(create_app(term, token=TOKEN, max_body=cfg.api.max_body_bytes), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    body = {"items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1,
                                                                          "unit_price": 45}], "total": 175}

    def timed(req) -> float:
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        return (time.perf_counter() - t0) * 1000

    health, sales = [], []
    for i in range(n):
        health.append(timed(urllib.request.Request(url + "/v1/health")))
        data = json.dumps({"sale_id": f"B-{i}", **body}).encode()
        sales.append(timed(urllib.request.Request(url + "/v1/sales", data=data, method="POST", headers=headers)))
        clock.advance(1)
    server.shutdown()
    ledger.close()
    assert printer.jobs == n
    return {"sales": n, "sale_ms_median": statistics.median(sales), "sale_ms_p99": pct(sales, 99),
            "health_ms_median": statistics.median(health), "health_ms_p99": pct(health, 99),
            "ratio_sale_to_health": statistics.median(sales) / statistics.median(health)}


def _rss_kib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_startup(runs: int, sales: int, idle_s: float) -> dict:
    exe = str(Path(sys.executable).with_name("receipt-terminal"))
    times, rss_ready, rss_after = [], [], []
    idle_pct = None
    for r in range(runs):
        state = Path(tempfile.mkdtemp(prefix="rt-bench-start-"))
        t0 = time.perf_counter()
        proc = subprocess.Popen([exe, "run", "--simulate", "--state-dir", str(state), "--port", "0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = proc.stdout.readline().decode()
        times.append((time.perf_counter() - t0) * 1000)
        assert line.startswith("READY"), line
        rss_ready.append(_rss_kib(proc.pid)["VmRSS"])
        if r == 0 and idle_s:
            cpu0, wall0 = _cpu_s(proc.pid), time.monotonic()
            time.sleep(idle_s)  # the measurement interval itself: the service sits idle
            idle_pct = 100 * (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - wall0)
        if r == 0:
            url, token = line.split()[1], (state / "api-token").read_text().strip()
            for i in range(sales):
                req = urllib.request.Request(url + "/v1/sales", method="POST", data=json.dumps({
                    "sale_id": f"S-{i}", "items": [{"name": "茶", "quantity": 1, "unit_price": 30}], "total": 30}).encode(),
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                urllib.request.urlopen(req, timeout=60).read()
            rss_after.append(_rss_kib(proc.pid)["VmHWM"])
        proc.terminate()
        proc.wait(timeout=30)
    return {"startup_ms_median": statistics.median(times), "startup_runs": runs,
            "rss_ready_kib_median": statistics.median(rss_ready),
            "peak_rss_kib_after_sales": rss_after[0], "sales_for_peak_rss": sales,
            "idle_cpu_pct_of_one_core": idle_pct, "idle_seconds": idle_s}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=1000)
    ap.add_argument("--startup-runs", type=int, default=5)
    ap.add_argument("--simulated-sales", type=int, default=50, help="sales (printed to PNG) before peak RSS")
    ap.add_argument("--idle-seconds", type=float, default=30.0, help="idle CPU measured over this interval")
    args = ap.parse_args()
    req = bench_requests(args.sales)
    start = bench_startup(args.startup_runs, args.simulated_sales, args.idle_seconds)
    result = {"machine": platform.machine(), "python": platform.python_version(), **req, **start}
    rows = [("POS sale → durable → print started, median", f"{req['sale_ms_median']:.2f} ms", "≤ 15 ms"),
            ("  same, p99", f"{req['sale_ms_p99']:.2f} ms", ""),
            ("baseline GET /v1/health, median", f"{req['health_ms_median']:.2f} ms", ""),
            ("ratio sale / health (medians)", f"{req['ratio_sale_to_health']:.1f}x", ""),
            ("start-up to READY (simulate), median", f"{start['startup_ms_median']:.0f} ms", ""),
            ("RSS at READY, median", f"{start['rss_ready_kib_median'] / 1024:.1f} MiB", ""),
            (f"peak RSS after {args.simulated_sales} printed sales", f"{start['peak_rss_kib_after_sales'] / 1024:.1f} MiB", ""),
            (f"idle CPU over {args.idle_seconds:.0f} s (% of one core)", f"{start['idle_cpu_pct_of_one_core']:.3f} %", "< 1 %")]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>12}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>12}  {target}")
    out = ROOT / "bench" / "results" / "service.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
