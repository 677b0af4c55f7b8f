"""Real invoices and MIG messages for the upload tests, built with the core (no hand-written XML), and
a clock the tests move by hand."""
from __future__ import annotations

import datetime as dt

from terminal.core import messages, mig
from terminal.core.carriers import Carrier, Donation
from terminal.core.invoice import Invoice, Sale, Seller, build_invoice
from terminal.core.money import make_item
from terminal.core.numbers import InvoiceNumber, NumberRange
from terminal.core.period import Period

TAIPEI = dt.timezone(dt.timedelta(hours=8), "Asia/Taipei")
SELLER = Seller("04595257", "示範咖啡", "臺北市信義區市府路1號")
MERCHANT_ID = "2000132"
# deliberately not ECPay's published sandbox values: these must never show up in any output
HASH_KEY = "Kq9Zt3LwRvX8pN2m"
HASH_IV = "Hy7Ud4JsE1oA6cBf"
MACHINE_ID = "POS01"
TRACK = "AB"
START = 10_000_000  # first serial of the test range


class FakeClock:
    """``clock()`` returns the current fake time; ``advance(...)`` moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


def period_range(period: Period, count: int = 50_000) -> NumberRange:
    return NumberRange(period, TRACK, START, START + count - 1)


def invoice(n: int, issued_at: dt.datetime, *, carrier: Carrier | None = None, donation: Donation | None = None,
            ban: str | None = None, items=(("拿鐵咖啡", 2, 65), ("可頌", 1, 45))) -> Invoice:
    lines = tuple(make_item(name, q, p, index=i) for i, (name, q, p) in enumerate(items))
    sale = Sale(f"POS{n:06d}", lines, sum(it.amount for it in lines), ban, carrier, donation)
    return build_invoice(sale, InvoiceNumber(TRACK, START + n), issued_at, f"{(n * 7919) % 10000:04d}", SELLER)


def f0401_xml(inv: Invoice) -> bytes:
    return mig.build(messages.f0401(inv, printed=inv.prints_proof))


def f0501_xml(inv: Invoice, at: dt.datetime, reason: str = "客戶退貨") -> bytes:
    return mig.build(messages.f0501(inv, at, reason))


def enqueue_invoices(outbox, clock: FakeClock, count: int, *, every=dt.timedelta(seconds=30), first: int = 0,
                     **kw) -> list[Invoice]:
    """Issue ``count`` invoices ``every`` apart from the clock's time, as the ledger would enqueue them."""
    out = []
    for n in range(first, first + count):
        inv = invoice(n, clock.now, **kw)
        outbox.add("F0401", str(inv.number), f0401_xml(inv), clock.now)
        out.append(inv)
        clock.advance(seconds=every.total_seconds())
    return out
