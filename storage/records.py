"""What the ledger hands back: the state of a range, an invoice with its after-life (prints,
cancellation, voids, allowances), and the conversions between core values and table rows."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Sequence

from terminal.core.carriers import Carrier, Donation
from terminal.core.invoice import Invoice
from terminal.core.messages import AllowanceLine
from terminal.core.money import Item
from terminal.core.numbers import NumberRange

TAIPEI = dt.timezone(dt.timedelta(hours=8), "Asia/Taipei")  # no DST since 1979
PRINT_STATES = ("pending", "printed", "queued", "not_printed")


def stamp(t: dt.datetime) -> str:
    """A time as stored: ISO 8601 in +08:00 with microseconds, so text order is time order."""
    if t.tzinfo is None:
        raise ValueError("times given to the ledger must be timezone-aware")
    return t.astimezone(TAIPEI).isoformat(timespec="microseconds")


def unstamp(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class RangeState:
    range: NumberRange
    next_serial: int
    used: int
    left: int
    closed: bool  # the period ended: the rest was reported blank (E0402) and is never issued


@dataclass(frozen=True)
class AllowanceRecord:
    number: str
    created_at: dt.datetime
    lines: tuple[AllowanceLine, ...]
    amount: int  # tax-inclusive NT$ credited
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class VoidRecord:
    voided_at: dt.datetime
    reason: str
    reissued: bool  # a corrected F0401 with the same number followed


@dataclass(frozen=True)
class InvoiceRecord:
    invoice: Invoice  # as it stands now: after a void and re-issue, with the corrected buyer data
    print_state: str  # pending | printed | queued | not_printed
    print_count: int  # originals + reprints printed; a print when this is >= 1 is a 補印
    cancelled_at: dt.datetime | None = None
    voided_at: dt.datetime | None = None  # set while the invoice stands voided without a re-issue
    allowances: tuple[AllowanceRecord, ...] = ()
    voids: tuple[VoidRecord, ...] = ()
    cancel_reason: str | None = None

    @property
    def active(self) -> bool:
        """Neither cancelled nor standing voided."""
        return self.cancelled_at is None and self.voided_at is None


def buyer_columns(buyer_tax_id: str | None, carrier: Carrier | None, donation: Donation | None) -> dict:
    return {"buyer_tax_id": buyer_tax_id, "carrier_type": carrier.type if carrier else None,
            "carrier_id": carrier.id if carrier else None, "donation_code": donation.code if donation else None}


def buyer_from(row: dict) -> dict:
    """Invoice keyword arguments from buyer columns (or a void's ``corrected`` JSON)."""
    return {"buyer_tax_id": row.get("buyer_tax_id"),
            "carrier": Carrier(row["carrier_type"], row["carrier_id"]) if row.get("carrier_type") else None,
            "donation": Donation(row["donation_code"]) if row.get("donation_code") else None}


def lines_json(lines: Sequence[AllowanceLine]) -> str:
    return json.dumps([[ln.line_no, ln.quantity, ln.amount] for ln in lines], separators=(",", ":"))


def lines_from(text: str) -> tuple[AllowanceLine, ...]:
    return tuple(AllowanceLine(*triple) for triple in json.loads(text))


def items_json(items: Sequence[Item]) -> str:
    return json.dumps([[it.name, it.quantity, it.unit_price] for it in items], ensure_ascii=False,
                      separators=(",", ":"))


def items_from(text: str) -> tuple[Item, ...]:
    return tuple(Item(*triple) for triple in json.loads(text))
