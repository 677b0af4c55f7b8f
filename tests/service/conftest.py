"""A whole terminal on real adapters without hardware: the SQLite ledger in a temp dir, the PNG-file
printer, the OLED on luma's dummy device, and the LAN API on a loopback port."""
from __future__ import annotations

import datetime as dt
import json
import random
import urllib.error
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from terminal import config
from terminal.core.numbers import NumberRange
from terminal.core.period import Period

TAIPEI = ZoneInfo("Asia/Taipei")
TOKEN = "test-token-0123456789"
KEY = "FE0F50D87215F625D1248F5FDAEBA37F"


class FakeClock:
    """Time for tests: wall time and monotonic seconds move only when told to."""

    def __init__(self, now: dt.datetime, synced: bool = True) -> None:
        self._now = now
        self._mono = 1000.0
        self.synced = synced

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def synchronized(self) -> bool:
        return self.synced

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, now: dt.datetime) -> None:
        self._now = now


def make_config(state_dir: Path, **overrides):
    data = {
        "seller": {"tax_id": "04595257", "name": "範例咖啡有限公司", "address": "臺北市中正區範例路1號",
                   "store_name": "範例咖啡"},
        "terminal": {"state_dir": str(state_dir), "pending_seconds": 60},
        "api": {"port": 8080},
        "printer": {"connection": "file"},
        "scanner": {"type": "none"},
        "secrets": {"qr_aes_key": KEY, "api_token": TOKEN},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return config.Config(config.parse(data))


class Rig:
    def __init__(self, tmp_path: Path, now: dt.datetime, **overrides) -> None:
        from luma.core.device import dummy

        from display import OledDisplay
        from drivers.printer import PngFilePrinter
        from storage.ledger import Ledger
        from terminal.api import create_app, serve
        from terminal.service import Terminal

        self.cfg = make_config(tmp_path / "state", **overrides)
        self.clock = FakeClock(now)
        self.ledger = Ledger.open(tmp_path / "ledger.sqlite3")
        self.printer = PngFilePrinter(tmp_path / "receipts")
        self.display = OledDisplay(dummy(width=128, height=64, mode="1"), clock=self.clock.monotonic)
        self.terminal = Terminal(self.cfg, ledger=self.ledger, printer=self.printer, display=self.display,
                                 clock=self.clock, rng=random.Random(7))
        self.server, _ = serve(create_app(self.terminal, token=TOKEN, max_body=self.cfg.api.max_body_bytes),
                               "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def add_range(self, track="AB", start=12345600, end=12345699, period=None):
        period = period or Period.of(self.clock.now().date())
        return self.ledger.import_ranges([NumberRange(period, track, start, end)], source="test", now=self.clock.now())

    def request(self, method: str, path: str, body=None, *, token=TOKEN, raw: bytes | None = None,
                content_type="application/json"):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type} if data is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.ledger.close()


@pytest.fixture()
def rig(tmp_path):
    r = Rig(tmp_path, dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=TAIPEI))
    yield r
    r.close()


SALE = {"sale_id": "POS-20240915-000123",
        "items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1, "unit_price": 45}],
        "total": 175, "buyer_tax_id": None, "carrier": None, "donation_code": None}
