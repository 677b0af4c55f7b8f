"""Helpers shared by the ledger tests: the demo seller, POS sale bodies, Taipei times, a till."""
import datetime as dt
import hashlib
import itertools
import json
import random

from storage.ledger import Ledger
from terminal.core.invoice import Seller, parse_sale
from terminal.core.period import Period

TAIPEI = dt.timezone(dt.timedelta(hours=8))
SELLER = Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號")
P11310 = Period(2024, 10)  # 2024-09-01 .. 2024-10-31


def at(*args) -> dt.datetime:
    """``at(2024, 9, 15, 10)`` in Asia/Taipei."""
    return dt.datetime(*args, tzinfo=TAIPEI)


def body(sale_id: str, items=(("拿鐵咖啡", 2, 65), ("可頌", 1, 45)), **buyer) -> dict:
    return {"sale_id": sale_id, "items": [{"name": n, "quantity": q, "unit_price": p} for n, q, p in items],
            "total": sum(q * p for _, q, p in items), **buyer}


def fingerprint(b: dict) -> str:
    return hashlib.sha256(json.dumps(b, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Till:
    """Issues POS sales into a ledger with a seeded random source and a clock that moves forward."""

    def __init__(self, ledger: Ledger, start: dt.datetime, seed: int = 7) -> None:
        self.ledger = ledger
        self.now = start
        self.rng = random.Random(seed)
        self._ids = itertools.count(1)

    def sale(self, sale_id: str | None = None, *, step=dt.timedelta(minutes=1), **kw):
        b = body(sale_id or f"POS-{next(self._ids):06d}", **kw)
        self.now += step
        return self.ledger.issue(parse_sale(b), now=self.now, seller=SELLER,
                                 random_code=lambda: self.rng.randrange(10000), sale_fingerprint=fingerprint(b))
