"""Bimonthly invoice periods (期別), ROC dates and the legal deadlines that hang off a period.

A period is identified by its ROC year and its even end month: Sep–Oct 2024 is ``11310``. Dates in
MIG XML are Gregorian (``YYYYMMDD``); dates in the QR code are ROC (``yyyMMdd``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import ValidationError

ROC_OFFSET = 1911
_CODE_RE = re.compile(r"([0-9]{3})(02|04|06|08|10|12)", re.ASCII)


def roc_year(d: dt.date) -> int:
    return d.year - ROC_OFFSET


def roc_date7(d: dt.date) -> str:
    """ROC date as used in the QR code: ``1130915``."""
    return f"{roc_year(d):03d}{d.month:02d}{d.day:02d}"


def mig_date(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def mig_time(t: dt.datetime | dt.time) -> str:
    return t.strftime("%H:%M:%S")


@dataclass(frozen=True, order=True)
class Period:
    """One bimonthly period, e.g. ``Period(2024, 10)`` = 113年09-10月."""

    year: int  # Gregorian year
    end_month: int  # 2, 4, ..., 12

    def __post_init__(self) -> None:
        if self.end_month not in (2, 4, 6, 8, 10, 12):
            raise ValidationError(f"period end month must be even, got {self.end_month}",
                                  code="invalid_period")
        if not 1912 <= self.year <= 2910:
            raise ValidationError(f"period year out of range: {self.year}", code="invalid_period")

    @classmethod
    def of(cls, d: dt.date) -> "Period":
        return cls(d.year, d.month + (d.month % 2))

    @classmethod
    def parse(cls, code: str) -> "Period":
        """Parse the 5-digit code (``11310``)."""
        m = _CODE_RE.fullmatch(code) if isinstance(code, str) else None
        if not m:
            raise ValidationError(f"invalid period code {code!r}: expected ROC year (3 digits) + even "
                                  "month, e.g. 11310", code="invalid_period")
        return cls(int(m.group(1)) + ROC_OFFSET, int(m.group(2)))

    @property
    def start_month(self) -> int:
        return self.end_month - 1

    @property
    def code(self) -> str:
        return f"{self.year - ROC_OFFSET:03d}{self.end_month:02d}"

    @property
    def label(self) -> str:
        """Printed label: ``113年09-10月``."""
        return f"{self.year - ROC_OFFSET:03d}年{self.start_month:02d}-{self.end_month:02d}月"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.start_month, 1)

    @property
    def last_day(self) -> dt.date:
        return self._day_after() - dt.timedelta(days=1)

    def _day_after(self) -> dt.date:
        # computed directly, not via next(), which has no Period after ROC 999
        return dt.date(self.year + 1, 1, 1) if self.end_month == 12 else dt.date(self.year, self.end_month + 1, 1)

    def contains(self, d: dt.date) -> bool:
        return self.first_day <= d <= self.last_day

    def next(self) -> "Period":
        return Period(self.year + 1, 2) if self.end_month == 12 else Period(self.year, self.end_month + 2)

    def previous(self) -> "Period":
        return Period(self.year - 1, 12) if self.end_month == 2 else Period(self.year, self.end_month - 2)

    def cancel_deadline(self) -> dt.date:
        """Last day an invoice of this period may be voided (作廢): the VAT filing deadline, the 15th
        of the month after the period. After it only an allowance (折讓) is possible."""
        return self._day_after().replace(day=15)

    def blank_report_deadline(self) -> dt.date:
        """Legal deadline for the E0402 blank-number report: the 10th of the next period's first month."""
        return self._day_after().replace(day=10)

    def __str__(self) -> str:
        return self.code


def upload_deadline(issued: dt.date) -> dt.date:
    """Last calendar day (inclusive) by which an invoice issued on ``issued`` must be on the platform.

    From 2025-01-01 the law counts two days from the day after issue (開立後隔日起算兩日), i.e. the
    end of D+2. We apply the B2C limit even to invoices with a buyer tax ID (the safe reading of an
    open question in the reference).
    """
    return issued + dt.timedelta(days=2)
