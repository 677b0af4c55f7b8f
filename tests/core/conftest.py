"""Fixtures for the pure-core tests: the reference's demo seller, QR key and the vector C/D/E invoices
(einvoice_spec.md §4.7), built through the same path the terminal uses (parse_sale → build_invoice)."""
import datetime as dt

import pytest

from terminal.core.invoice import Seller, build_invoice, parse_sale
from terminal.core.numbers import InvoiceNumber

# The public test key of the calvertyang gem, used for every computed vector in the reference.
TEST_KEY = "FE0F50D87215F625D1248F5FDAEBA37F"
TAIPEI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def key() -> str:
    return TEST_KEY


@pytest.fixture
def seller() -> Seller:
    return Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號")


@pytest.fixture
def issued_at() -> dt.datetime:
    return dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=TAIPEI)


@pytest.fixture
def make_invoice(seller, issued_at):
    """Issue an invoice from a POS body: ``make_invoice("AB12345678", "5829", items=..., **buyer)``."""

    def make(number: str, random_code: str, items, *, at: dt.datetime | None = None, split: bool = True,
             **buyer):
        body = {"sale_id": f"POS-{number}", "items": [dict(zip(("name", "quantity", "unit_price"), i))
                                                       for i in items],
                "total": sum(q * p for _, q, p in items), **buyer}
        return build_invoice(parse_sale(body), InvoiceNumber.parse(number), at or issued_at, random_code,
                             seller, split_consumer_tax=split)

    return make


@pytest.fixture
def vector_c(make_invoice):
    """Consumer, printed: 拿鐵咖啡 2×65, 可頌 1×45 = 175."""
    return make_invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)])


@pytest.fixture
def vector_d(make_invoice):
    """Buyer with 統編 22099131, one item of 1380."""
    return make_invoice("AB12345679", "0417", [("水管除油酵素錠三罐", 1, 1380)], buyer_tax_id="22099131")


@pytest.fixture
def vector_e(make_invoice):
    """Carrier sale (mobile barcode /ABC+123), no proof printed."""
    return make_invoice("AB12345680", "7301", [("拿鐵咖啡", 1, 65)],
                        carrier={"type": "3J0002", "id": "/ABC+123"})
