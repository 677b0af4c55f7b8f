"""bench/printing.py still runs and writes what the README quotes (one repetition, temp output)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_printing_benchmark_runs(tmp_path):
    out = tmp_path / "printing.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "printing.py"), "--repeat", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    rows = {(row["receipt"], row["mode"]): row for row in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    fastest = rows[("C consumer", "big5 qr-edge-1.5mm")]
    assert fastest["bytes"] <= 5184 and fastest["link_over_paper"] < 1  # the link outruns the paper
    assert rows[("C consumer", "big5")]["bytes"] <= 10 * 1024
    assert rows[("C consumer", "raster")]["ratio_to_baseline"] < 1
