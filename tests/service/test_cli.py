"""The technician CLI as a real process: tracks import/list, invoice show/allowance/cancel, status,
upload, preview; --json output and exit codes 0/1/2 with one line on stderr."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .conftest import KEY, TOKEN

TAIPEI = ZoneInfo("Asia/Taipei")


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "terminal.cli", *args, "--config", str(cfg)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture()
def cfg(tmp_path):
    path = tmp_path / "terminal.toml"
    path.write_text(f"""
[seller]
tax_id = "04595257"
name = "範例咖啡有限公司"
address = "臺北市中正區範例路1號"
[terminal]
state_dir = "{tmp_path / 'state'}"
[secrets]
qr_aes_key = "{KEY}"
api_token = "{TOKEN}"
""", encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def _period_code(now: dt.datetime) -> str:
    from terminal.core.period import Period

    return Period.of(now.date()).code


def test_tracks_invoices_status_upload(cfg, tmp_path):
    now = dt.datetime.now(TAIPEI)
    code = _period_code(now)
    csv = tmp_path / "tracks.csv"
    csv.write_text(f"period,track,start,end\n{code},AB,12345600,12345699\n", encoding="utf-8")
    r = _cli(cfg, "tracks", "import", str(csv), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"imported": 100}
    assert json.loads(_cli(cfg, "tracks", "import", str(csv), "--json").stdout) == {"imported": 0}  # same file again
    csv.write_text(f"period,track,start,end\n{code},AB,12345650,12345749\n", encoding="utf-8")
    r = _cli(cfg, "tracks", "import", str(csv))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "line 2" in r.stderr and "overlap" in r.stderr

    r = _cli(cfg, "tracks", "list", "--json")
    rows = json.loads(r.stdout)
    assert [(x["track"], x["start"], x["end"], x["left"]) for x in rows] == [("AB", "12345600", "12345699", 100)]

    from storage.ledger import Ledger
    from terminal.core.invoice import Seller, parse_sale

    ledger = Ledger.open(tmp_path / "state" / "ledger.sqlite3")
    sale = parse_sale({"sale_id": "CLI-1", "items": [{"name": "茶", "quantity": 2, "unit_price": 30}], "total": 60})
    inv, _ = ledger.issue(sale, now=now, seller=Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號"),
                          random_code=lambda: random.randrange(10000), sale_fingerprint="x")
    ledger.close()
    number = str(inv.number)

    r = _cli(cfg, "invoice", "show", number, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["invoice_number"] == number
    r = _cli(cfg, "invoice", "allowance", number, "--line", "1", "--quantity", "1", "--amount", "30", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["invoice_number"] == number
    r = _cli(cfg, "invoice", "cancel", number, "--reason", "退貨")
    assert r.returncode == 1 and "allowances_active" in r.stderr
    r = _cli(cfg, "invoice", "show", "ZZ00000000")
    assert r.returncode == 1 and r.stderr.startswith("receipt-terminal: not_found")

    r = _cli(cfg, "status", "--json")
    status = json.loads(r.stdout)
    assert status["pool"]["numbers_left"] == 99 and status["uploads"]["pending"] == 2

    r = _cli(cfg, "upload", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"backend": "none"}


def test_preview_prints_the_exact_payloads(cfg, tmp_path):
    inv = {"invoice_number": "AB12345678", "period": "11310", "issued_at": "2024-09-15T14:30:05+08:00",
           "random_code": "5829", "total": 175, "sales_amount": 167, "tax_amount": 8, "buyer_tax_id": None,
           "carrier": None, "donation_code": None, "seller_tax_id": "04595257", "qr_key": KEY,
           "items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1, "unit_price": 45}]}
    f = tmp_path / "inv.json"
    f.write_text(json.dumps(inv, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "terminal.cli", "preview", "--invoice", str(f), "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["barcode"] == "11310AB123456785829"
    assert data["qr_left"] == ("AB1234567811309155829000000a7000000af000000000459525708r5MIfzJbFNxKEpVUDCMg==:"
                               "**********:2:2:1:拿鐵咖啡:2:65:")
    assert data["qr_right"] == "**可頌:1:45"
    assert (out / "AB12345678.png").exists() and (out / "AB12345678.bin").exists()


def test_preview_of_a_missing_file_is_a_usage_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "terminal.cli", "preview", "--invoice", str(tmp_path / "no.json"),
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
