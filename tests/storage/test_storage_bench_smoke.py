"""Smoke test of bench/ledger.py at tiny sizes: it runs, and what it writes is sane."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_bench_runs_at_tiny_sizes(tmp_path):
    out = tmp_path / "ledger.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "ledger.py"), "--quick", "--dir", str(tmp_path),
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "bare INSERT+COMMIT (baseline)" in r.stdout
    result = json.loads(out.read_text())
    lat = result["latency"]
    assert lat["issue"]["n"] == lat["bare_insert_commit"]["n"] == 20
    assert 0 < lat["bare_insert_commit"]["median_ms"] and 0 < lat["issue"]["median_ms"]
    assert [g["invoices"] for g in result["growth"]] == [1 + 20, 1 + 20 + 10_000 + 20]
    assert 300 < result["growth"][-1]["bytes_per_invoice"] < 3000
    if shutil.which("strace"):
        assert 1.0 <= result["fsyncs_per_op"]["issue"] <= 2.0
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]  # the bench cleans up its databases
