"""The peripherals benchmark runs end to end with tiny sizes and writes its JSON."""
import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "peripherals.py"


def test_benchmark_runs_with_tiny_sizes(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_peripherals", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "peripherals.json"
    assert bench.main(["--scans", "6", "--idle-seconds", "0.2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["latency"]["scans"] == 6
    assert 0 < result["latency"]["scan_to_screen_ms"]["median"] < 1000
    assert set(result["idle_cpu"]) == {"bare_process_pct", "peripherals_idle_pct", "with_gpiozero_buttons_pct"}
    assert "scan → screen" in capsys.readouterr().out
