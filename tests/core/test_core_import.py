"""The core stays light to import on a Pi Zero 2 W: `python -X importtime` of the modules the service
needs at start-up works, pulls in no heavy library (cryptography is imported on first use), and the
figure is reported."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("cryptography", "segno", "PIL", "lxml", "sqlite3", "sqlite_utils", "requests", "escpos", "hypothesis")
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")


def importtime(code: str) -> tuple[dict[str, int], list[str]]:
    """Cumulative microseconds of each top-level import in ``code``, and every module imported."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [LINE.match(line) for line in r.stderr.splitlines()
            if line.startswith("import time:") and "imported package" not in line]
    assert rows and all(rows), r.stderr  # every line in the expected format
    return {m.group(4): int(m.group(2)) for m in rows if len(m.group(3)) == 1}, [m.group(4) for m in rows]


def test_core_importtime(record_property):
    top, everything = importtime("import terminal.core.invoice, terminal.core.mig, terminal.core.messages")
    assert {"terminal.core.invoice", "terminal.core.mig", "terminal.core.messages"} <= set(top)
    assert not [m for m in everything if m.split(".")[0] in HEAVY]
    core_us = sum(us for name, us in top.items() if name.startswith("terminal"))
    record_property("core_import_us", core_us)
    print(f"cumulative import time of the core: {core_us / 1000:.1f} ms")
