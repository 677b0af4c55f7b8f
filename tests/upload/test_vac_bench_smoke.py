"""The upload benchmark still runs: one measuring child with a tiny queue."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "upload.py"


def test_one_benchmark_child_drains_a_small_queue_exactly_once():
    proc = subprocess.run([sys.executable, str(BENCH), "--child", "time", "20"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 20 and out["server"] == {"stored": 20, "distinct": 20, "max": 1}
    assert out["seconds"] > 0 and out["rss_growth_kb"] >= 0
