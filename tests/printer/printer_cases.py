"""Invoices for the printer tests: the spec's vectors C and D (einvoice_spec.md §4.7) and long ones.
(A module of its own: every test directory has a conftest, so ``from conftest import`` is ambiguous.)"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from terminal.core.invoice import Invoice, Seller
from terminal.core.money import Item, split_tax
from terminal.core.numbers import InvoiceNumber

KEY = "FE0F50D87215F625D1248F5FDAEBA37F"
SELLER = Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號")
TAIPEI = dt.timezone(dt.timedelta(hours=8))
ISSUED = dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=TAIPEI)
FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("RT_UPDATE_GOLDEN") == "1"


def make_invoice(number: str, random_code: str, items, *, buyer: str | None = None, **kw) -> Invoice:
    items = tuple(Item(*i) for i in items)
    total = sum(i.amount for i in items)
    sales, tax = split_tax(total)
    return Invoice(InvoiceNumber.parse(number), ISSUED, random_code, SELLER, items, total, sales, tax,
                   buyer_tax_id=buyer, **kw)


def vector_c() -> Invoice:
    return make_invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)])


def vector_d() -> Invoice:
    return make_invoice("AB12345679", "0417", [("水管除油酵素錠三罐", 1, 1380)], buyer="22099131")


LONG_ITEMS = [(f"{name}{n}", 1 + n % 3, 35 + 5 * n) for n, name in enumerate(
    ["有機綠茶", "手工鳳梨酥禮盒（十二入）", "Espresso Double Shot", "原味貝果", "冰美式咖啡:大杯", "巧克力可頌",
     "季節水果塔", "Earl Grey Tea Latte with Oat Milk", "黑糖珍珠鮮奶", "抹茶紅豆蛋糕捲"] * 4)]


def long_consumer() -> Invoice:
    """40 lines: more than the two QR codes hold, names with ':' and long Latin names."""
    return make_invoice("AB12345681", "0042", LONG_ITEMS)


def long_business() -> Invoice:
    return make_invoice("AB12345682", "9310", LONG_ITEMS, buyer="22099131")
