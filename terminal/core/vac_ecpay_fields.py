"""MIG 4.1 messages as the ``Data`` of ECPay's offline-POS API, and ECPay's track answers as ranges.

F0401 → ``OfflineIssue``, F0501 → ``OfflineInvalid``. The offline API (ECPay's 離線電子發票 API, same
structure as O'Pay's i301 document) has no endpoint for F0701 (註銷), G0401/G0501 (allowances) or E0402
(blank numbers): ``UNSUPPORTED`` says what the merchant does instead. Field limits that ECPay sets tighter
than MIG (item name ≤ 100, ≤ 200 items, unit ≤ 6) are checked here, so such a message is refused with a
clear reason instead of a round trip.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from . import mig
from .carriers import CITIZEN, MOBILE
from .errors import ValidationError
from .numbers import NumberRange
from .period import ROC_OFFSET, Period

ISSUE = "OfflineIssue"
INVALID = "OfflineInvalid"
ACTION_OF = {"F0401": ISSUE, "F0501": INVALID}
UNSUPPORTED = {
    "F0701": "ECPay's offline API has no 註銷 (F0701) endpoint: void it in the ECPay vendor portal "
             "(or ask ECPay about VoidWithReIssue for offline numbers), then mark it done",
    "G0401": "ECPay's offline API has no allowance (G0401) endpoint: issue the allowance in the ECPay "
             "vendor portal (or ask ECPay whether B2C Allowance accepts offline numbers)",
    "G0501": "ECPay's offline API has no allowance-void (G0501) endpoint: void the allowance in the ECPay "
             "vendor portal",
    "E0402": "ECPay's offline API has no blank-number (E0402) endpoint: check these ranges against ECPay's "
             "空白字軌 list in the vendor portal (or its automatic blank upload) before the 10th",
}
CARRIER_TYPE = {MOBILE: "3", CITIZEN: "2"}  # ECPay CarrierType: 2 citizen certificate, 3 mobile barcode
CONSUMER = "0" * 10
MAX_ITEMS = 200
MAX_ITEM_NAME = 100
MAX_ITEM_WORD = 6
MAX_RELATE = 30
_RELATE_RE = re.compile(r"[0-9A-Za-z]{1,30}", re.ASCII)
_DIGITS8 = re.compile(r"[0-9]{8}", re.ASCII)


def _refuse(message: str, field: str | None = None) -> ValidationError:
    return ValidationError(message, code="unsupported_by_ecpay", field=field, message_zh="加值中心不支援此資料")


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _integer(value: Decimal, field: str) -> int:
    if value != value.to_integral_value():
        raise _refuse(f"{field} must be a whole NT$ amount for ECPay, got {value}", field)
    return int(value)


def relate_number(invoice_number: str, message_id: int) -> str:
    """ECPay's idempotency key (unique, ≤ 30 letters/digits, case-insensitive): the invoice number plus
    the outbox message id. A retry of one message reuses it, so the center answers "duplicate" instead of
    storing the invoice twice; a re-issue after 註銷 is a new message and gets a new one."""
    text = f"{invoice_number}{message_id}"
    if message_id < 0 or not _RELATE_RE.fullmatch(text):
        raise _refuse(f"cannot form a RelateNumber from {invoice_number!r} and message {message_id}")
    return text


def issue_data(msg: mig.F0401, *, merchant_id: str, machine_id: str, relate: str,
               item_word: str = "個") -> dict[str, Any]:
    """``OfflineIssue`` Data for an F0401."""
    m, a = msg.main, msg.amount
    if m.random_number is None:
        raise _refuse("ECPay needs the printed RandomNumber; the F0401 has none", "Main/RandomNumber")
    if a.tax_type != "1":
        raise _refuse(f"only TaxType 1 (taxable) is mapped to ECPay, got {a.tax_type}", "Amount/TaxType")
    if len(msg.details) > MAX_ITEMS:
        raise _refuse(f"ECPay takes at most {MAX_ITEMS} items, the invoice has {len(msg.details)}", "Details")
    items = []
    for n, it in enumerate(msg.details, start=1):
        if len(it.description) > MAX_ITEM_NAME:
            raise _refuse(f"item {n}: ECPay item names are at most {MAX_ITEM_NAME} characters",
                          f"Details/ProductItem[{n - 1}]/Description")
        word = it.unit or item_word
        if not 1 <= len(word) <= MAX_ITEM_WORD:
            raise _refuse(f"item {n}: ECPay units are 1 to {MAX_ITEM_WORD} characters",
                          f"Details/ProductItem[{n - 1}]/Unit")
        items.append({"ItemSeq": n, "ItemName": it.description, "ItemCount": _number(it.quantity),
                      "ItemWord": word, "ItemPrice": _number(it.unit_price), "ItemTaxType": it.tax_type,
                      "ItemAmount": _number(it.amount), "ItemRemark": it.remark or ""})
    carrier_type = ""
    if m.carrier_type is not None:
        carrier_type = CARRIER_TYPE.get(m.carrier_type)
        if carrier_type is None:
            raise _refuse(f"carrier type {m.carrier_type} has no ECPay CarrierType", "Main/CarrierType")
    buyer_ban = "" if m.buyer.identifier == CONSUMER else m.buyer.identifier
    return {
        "MerchantID": merchant_id,
        "MachineID": machine_id,
        "InvoiceNo": m.invoice_number,
        "InvoiceDate": f"{m.invoice_date:%Y-%m-%d} {m.invoice_time:%H:%M:%S}",
        "RelateNumber": relate,
        "TaxType": a.tax_type,
        "SalesAmount": _integer(a.total_amount, "Amount/TotalAmount"),
        "TaxAmount": _integer(a.tax_amount, "Amount/TaxAmount"),
        "InvType": m.invoice_type,
        "RandomNumber": m.random_number,
        "Items": items,
        "CustomerIdentifier": buyer_ban,
        "CustomerName": m.buyer.name if buyer_ban else "",
        "Print": "1" if m.print_mark == "Y" else "0",
        "Donation": m.donate_mark,
        "LoveCode": m.npoban or "",
        "CarrierType": carrier_type,
        "CarrierNum": m.carrier_id1 if carrier_type else "",
        "vat": "1",  # unit prices include tax (B2C)
        "InvoiceRemark": m.main_remark or "",
    }


def invalid_data(msg: mig.F0501, *, merchant_id: str) -> dict[str, Any]:
    """``OfflineInvalid`` Data for an F0501 (作廢)."""
    return {
        "MerchantID": merchant_id,
        "InvoiceNo": msg.cancel_invoice_number,
        "InvoiceDate": f"{msg.invoice_date:%Y-%m-%d}",
        "Reason": msg.cancel_reason,
        "CancelDate": f"{msg.cancel_date:%Y-%m-%d} {msg.cancel_time:%H:%M:%S}",
    }


def period_term(period: Period) -> tuple[str, int]:
    """ECPay's ``InvoiceYear`` (ROC, 3 digits) and ``InvoiceTerm`` (1 = Jan–Feb … 6 = Nov–Dec)."""
    return f"{period.year - ROC_OFFSET:03d}", period.end_month // 2


def _term_period(year: Any, term: Any) -> Period:
    if not (isinstance(year, str) and year.isascii() and year.isdigit()) or isinstance(term, bool) \
            or not isinstance(term, int) or not 1 <= term <= 6:
        raise ValidationError(f"unreadable InvoiceYear/InvoiceTerm {year!r}/{term!r}", code="center_bad_answer")
    return Period(int(year) + ROC_OFFSET, term * 2)


def _serial(value: Any, field: str) -> int:
    text = value.strip() if isinstance(value, str) else ""  # one published example pads with a space
    if not _DIGITS8.fullmatch(text):
        raise ValidationError(f"{field} {value!r} is not 8 digits", code="center_bad_answer", field=field)
    return int(text)


def track_range(data: Mapping[str, Any], period: Period) -> NumberRange:
    """The range in a ``GetOfflineInvoiceWordSetting`` answer, checked to be whole booklets of 50."""
    header = data.get("InvoiceHeader")
    header = header.strip() if isinstance(header, str) else header
    return NumberRange(period, header, _serial(data.get("InvoiceStart"), "InvoiceStart"),
                       _serial(data.get("InvoiceEnd"), "InvoiceEnd")).require_booklets()


@dataclass(frozen=True)
class TrackSetting:
    """One row of ``GetInvoiceWordSetting`` (查詢字軌): a track range bound to a machine and how far
    the center has seen it used. ``use_status``: 1 not enabled, 2 in use, 3 stopped, 4 paused,
    5 awaiting review, 6 refused."""

    track_id: str
    period: Period
    invoice_type: str
    range: NumberRange
    current: int | None
    use_status: int
    machine_id: str


def track_settings(data: Mapping[str, Any]) -> list[TrackSetting]:
    rows = data.get("InvoiceInfo") or []
    if not isinstance(rows, list):
        raise ValidationError("InvoiceInfo is not a list", code="center_bad_answer")
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValidationError("an InvoiceInfo entry is not an object", code="center_bad_answer")
        period = _term_period(row.get("InvoiceYear"), row.get("InvoiceTerm"))
        current = row.get("InvoiceNo")
        status = row.get("UseStatus")
        if isinstance(status, bool) or not isinstance(status, int):
            raise ValidationError(f"UseStatus {status!r} is not an integer", code="center_bad_answer")
        out.append(TrackSetting(
            track_id=str(row.get("TrackID", "")), period=period, invoice_type=str(row.get("InvType", "")),
            range=NumberRange(period, str(row.get("InvoiceHeader", "")).strip(),
                              _serial(row.get("InvoiceStart"), "InvoiceStart"),
                              _serial(row.get("InvoiceEnd"), "InvoiceEnd")),
            current=_serial(current, "InvoiceNo") if current not in (None, "") else None,
            use_status=status, machine_id=str(row.get("MachineID", ""))))
    return out

