"""systemd units: `systemd-analyze verify` passes and the offline security score meets the targets
(main unit ≤ 2.0, upload unit ≤ 1.5); the timer fires at 09:00 Taipei time and catches up after
downtime."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


@pytest.fixture()
def staged(tmp_path):
    """The units with ExecStart pointing at this checkout's console script (verify checks it exists)."""
    exe = Path(sys.executable).with_name("receipt-terminal")
    assert exe.exists()
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/receipt-terminal/venv/bin/receipt-terminal", str(exe))
        (tmp_path / unit.name).write_text(text)
    for unit in UNITS.glob("*.timer"):
        shutil.copy(unit, tmp_path / unit.name)
    return tmp_path


def _analyze(*args, cwd):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_units_verify(staged):
    r = _analyze("verify", "./receipt-terminal.service", "./receipt-terminal-upload.service",
                 "./receipt-terminal-upload.timer", cwd=staged)
    assert r.returncode == 0, r.stderr
    assert "Unknown key" not in r.stderr and "Unknown section" not in r.stderr


def test_verify_catches_a_typo(staged):
    unit = staged / "receipt-terminal.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=", "WatchdogSecs="))
    r = _analyze("verify", "./receipt-terminal.service", cwd=staged)
    assert "Unknown key 'WatchdogSecs'" in r.stderr


def _exposure(staged, unit) -> float:
    r = _analyze("security", "--offline=true", f"./{unit}", cwd=staged)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
    assert m, r.stdout + r.stderr
    return float(m.group(1))


@pytest.mark.parametrize("unit, limit", [("receipt-terminal.service", 2.0), ("receipt-terminal-upload.service", 1.5)])
def test_security_exposure(staged, unit, limit):
    assert _exposure(staged, unit) <= limit


def test_main_unit_essentials():
    text = (UNITS / "receipt-terminal.service").read_text()
    for line in ("Type=notify", "WatchdogSec=30s", "Restart=on-failure", "User=receipt-terminal",
                 "StateDirectory=receipt-terminal", "After=time-sync.target", "DeviceAllow=char-input r",
                 "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-i2c rw", "DeviceAllow=char-usb_device rw"):
        assert line in text.splitlines() or any(l.startswith(line) for l in text.splitlines()), line


def test_timer_is_daily_at_0900_taipei_and_persistent(staged):
    text = (UNITS / "receipt-terminal-upload.timer").read_text().splitlines()
    assert "OnCalendar=*-*-* 09:00:00 Asia/Taipei" in text
    assert "Persistent=true" in text
    r = subprocess.run(["systemd-analyze", "calendar", "--iterations=1", "*-*-* 09:00:00 Asia/Taipei"],
                       capture_output=True, text=True, timeout=60, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0
    # 09:00 in Taipei is 01:00 UTC (no DST in Taiwan)
    assert re.search(r"Next elapse: \S+ \S+ 01:00:00 UTC", r.stdout), r.stdout
