"""A sale as the POS sends it, the invoice the terminal issues from it, and the rules of issuing.

``parse_sale`` validates the POS's JSON (errors name the field); ``build_invoice`` combines a sale
with the number, time and random code the ledger allocated; ``check_issue_time`` is the clock guard.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import codes
from .carriers import Carrier, Donation, validate_carrier, validate_donation
from .errors import CannotIssue, ValidationError
from .money import Item, make_item, split_tax, validate_lines
from .numbers import InvoiceNumber
from .period import Period
from .taxid import validate_ban

MAX_SALE_ID_LEN = 64
PERIOD_START_GUARD = dt.timedelta(minutes=3)


@dataclass(frozen=True)
class Seller:
    tax_id: str
    name: str
    address: str


@dataclass(frozen=True)
class Sale:
    sale_id: str
    items: tuple[Item, ...]
    total: int
    buyer_tax_id: str | None = None
    carrier: Carrier | None = None
    donation: Donation | None = None

    @property
    def has_buyer_choice(self) -> bool:
        return bool(self.buyer_tax_id or self.carrier or self.donation)

    def with_scanned(self, choice) -> "Sale":
        """The sale with a buyer choice scanned at the terminal (only when the POS sent none)."""
        from .carriers import BuyerTaxId

        if self.has_buyer_choice or choice is None:
            return self
        if isinstance(choice, BuyerTaxId):
            return _replace(self, buyer_tax_id=choice.ban)
        if isinstance(choice, Carrier):
            return _replace(self, carrier=choice)
        return _replace(self, donation=choice)


def _replace(sale: Sale, **kw) -> Sale:
    import dataclasses

    return dataclasses.replace(sale, **kw)


def parse_sale(body: Any) -> Sale:
    """Validate the body of ``POST /v1/sales``; every error names its field."""
    if not isinstance(body, Mapping):
        raise ValidationError("the sale must be a JSON object", code="malformed", field=None)
    known = {"sale_id", "items", "total", "buyer_tax_id", "carrier", "donation_code"}
    for key in body:
        if key not in known:
            raise ValidationError(f"unknown field {key!r}", code="unknown_field", field=str(key))
    sale_id = body.get("sale_id")
    if not isinstance(sale_id, str) or not 1 <= len(sale_id) <= MAX_SALE_ID_LEN or not sale_id.isprintable():
        raise ValidationError(f"sale_id must be a string of 1 to {MAX_SALE_ID_LEN} printable characters",
                              code="invalid_sale_id", field="sale_id")
    raw_items = body.get("items")
    if not isinstance(raw_items, list):
        raise ValidationError("items must be a list", code="invalid_item", field="items")
    items = []
    for n, it in enumerate(raw_items):
        if not isinstance(it, Mapping):
            raise ValidationError(f"items[{n}] must be an object", code="invalid_item", field=f"items[{n}]")
        extra = set(it) - {"name", "quantity", "unit_price"}
        if extra:
            raise ValidationError(f"unknown field {sorted(extra)[0]!r} in items[{n}]", code="unknown_field",
                                  field=f"items[{n}].{sorted(extra)[0]}")
        items.append(make_item(it.get("name"), it.get("quantity"), it.get("unit_price"), index=n))
    total = validate_lines(items, body.get("total"))

    ban = body.get("buyer_tax_id")
    if ban is not None:
        ban = validate_ban(ban, field="buyer_tax_id")
    carrier = body.get("carrier")
    if carrier is not None:
        if not isinstance(carrier, Mapping) or set(carrier) != {"type", "id"}:
            raise ValidationError('carrier must be null or {"type": ..., "id": ...}', code="invalid_carrier",
                                  field="carrier")
        carrier = validate_carrier(carrier["type"], carrier["id"], field="carrier")
    donation = body.get("donation_code")
    if donation is not None:
        donation = validate_donation(donation, field="donation_code")
    sale = Sale(sale_id, tuple(items), total, ban, carrier, donation)
    check_buyer_choice(sale)
    return sale


def check_buyer_choice(sale: Sale) -> None:
    """A B2C invoice is exactly one of: printed proof, carrier, donation. A buyer tax ID forces the
    printed proof, so it excludes both carrier and donation (the safe reading; see the README)."""
    chosen = [name for name, v in (("buyer_tax_id", sale.buyer_tax_id), ("carrier", sale.carrier),
                                   ("donation_code", sale.donation)) if v]
    if len(chosen) > 1:
        raise ValidationError(f"{chosen[0]} and {chosen[1]} cannot be combined on one invoice",
                              code="conflicting_buyer_data", field=chosen[1], message_zh="載具、捐贈、統編只能擇一")


@dataclass(frozen=True)
class Invoice:
    number: InvoiceNumber
    issued_at: dt.datetime  # aware, Asia/Taipei
    random_code: str
    seller: Seller
    items: tuple[Item, ...]
    total: int
    sales_amount: int
    tax_amount: int
    buyer_tax_id: str | None = None
    carrier: Carrier | None = None
    donation: Donation | None = None
    sale_id: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def period(self) -> Period:
        return Period.of(self.issued_at.date())

    @property
    def prints_proof(self) -> bool:
        """The 電子發票證明聯 is printed unless the invoice goes to a carrier or a donation."""
        return self.carrier is None and self.donation is None

    @property
    def barcode(self) -> str:
        return codes.barcode_text(self.period, self.number, self.random_code)

    def qr_codes(self, key_hex: str, *, encoding: int = codes.ENCODING_UTF8,
                 max_version: int = codes.MAX_QR_VERSION) -> codes.QrPair:
        head = codes.qr_head(self.number, self.issued_at.date(), self.random_code, self.sales_amount,
                             self.total, self.buyer_tax_id, self.seller.tax_id,
                             codes.check_code(key_hex, self.number, self.random_code))
        return codes.qr_pair(head, self.items, encoding=encoding, max_version=max_version)


def format_random_code(n: int) -> str:
    if not 0 <= n <= 9999:
        raise ValueError("random code must be 0..9999")
    return f"{n:04d}"


def build_invoice(sale: Sale, number: InvoiceNumber, issued_at: dt.datetime, random_code: str,
                  seller: Seller, *, split_consumer_tax: bool = True) -> Invoice:
    """Make the invoice for ``sale``. ``split_consumer_tax`` chooses the B2C tax representation for
    buyers without a tax ID: split at 5 % (spec example, default) or sales = total, tax 0."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    if sale.buyer_tax_id or split_consumer_tax:
        sales, tax = split_tax(sale.total)
    else:
        sales, tax = sale.total, 0
    return Invoice(number=number, issued_at=issued_at, random_code=random_code, seller=seller,
                   items=sale.items, total=sale.total, sales_amount=sales, tax_amount=tax,
                   buyer_tax_id=sale.buyer_tax_id, carrier=sale.carrier, donation=sale.donation,
                   sale_id=sale.sale_id)


def check_issue_time(now: dt.datetime, number_period: Period, last_issued_at: dt.datetime | None, *,
                     guard: dt.timedelta = PERIOD_START_GUARD) -> None:
    """The clock guard: an invoice is dated now, in its own period, never before the last one, and
    not in the first minutes of a period (a number fetched before midnight must not cross it)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if last_issued_at is not None and now < last_issued_at:
        raise CannotIssue(f"clock is earlier than the last issued invoice ({last_issued_at.isoformat()})",
                          code="clock_behind_ledger", message_zh="時鐘早於上一張發票")
    period = Period.of(now.date())
    if period != number_period:
        raise CannotIssue(f"number belongs to period {number_period.code}, today is in {period.code}",
                          code="wrong_period", message_zh="字軌期別與日期不符")
    start = now.replace(day=period.first_day.day, month=period.first_day.month, hour=0, minute=0,
                        second=0, microsecond=0)
    if now - start < guard:
        raise CannotIssue(f"no invoices in the first {int(guard.total_seconds() // 60)} minutes of a period",
                          code="period_start_guard", message_zh="換期中，請稍候")
