"""``receipt-terminal run --simulate`` as a real process: READY line, sales over HTTP, a scan on stdin,
PNG receipts that decode, OLED frames, a clean stop on SIGTERM with the OLED blanked, and every
acknowledged sale on disk when read by another connection."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from PIL import Image

SALE = {"items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}], "total": 130}


def _post(url, token, body):
    req = urllib.request.Request(url + "/v1/sales", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def _get(url, token, path):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture()
def service(tmp_path):
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--simulate", "--state-dir", str(state),
                             "--port", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killer = threading.Timer(120, proc.kill)  # a hung service fails the test instead of hanging CI
    killer.start()
    line = proc.stdout.readline().decode()
    assert line.startswith("READY http://127.0.0.1:"), line + proc.stderr.read().decode()
    url = line.split()[1]
    token = (state / "api-token").read_text().strip()
    yield proc, url, token, state
    killer.cancel()
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_simulated_terminal_end_to_end(service):
    proc, url, token, state = service
    assert stat.S_IMODE((state / "api-token").stat().st_mode) == 0o600

    status, plain = _post(url, token, {"sale_id": "SIM-1", **SALE})
    assert status == 201 and plain["print_state"] == "printed"

    proc.stdin.write(b"/ABC+123\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while _get(url, token, "/v1/status")["pending_scan"] != "Carrier":
        assert time.monotonic() < deadline, "the scan never reached the terminal"
        time.sleep(0.02)
    status, carried = _post(url, token, {"sale_id": "SIM-2", **SALE})
    assert carried["carrier"] == {"type": "3J0002", "id": "/ABC+123"} and carried["print_state"] == "not_printed"

    number = plain["invoice_number"]
    png, binary = state / "receipts" / f"{number}.png", state / "receipts" / f"{number}.bin"
    assert png.exists() and binary.stat().st_size > 0
    if shutil.which("zbarimg"):
        out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, timeout=60)
        assert f"{plain['period']}{number}{plain['random_code']}".encode() in out.stdout.splitlines()

    frames = sorted((state / "oled").glob("[0-9]*.png"))
    assert frames and (state / "oled" / "latest.png").exists()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    last = sorted((state / "oled").glob("[0-9]*.png"))[-1]
    with Image.open(last) as im:
        assert im.size == (128, 64) and im.convert("L").getextrema() == (0, 0)  # blanked on SIGTERM

    with sqlite3.connect(state / "ledger.sqlite3") as db:  # an independent reader sees both sales
        assert db.execute("select count(*) from invoices").fetchone()[0] == 2
