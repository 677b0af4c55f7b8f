"""Pool health: how many numbers are left, how fast they go, the day they run out, and whether the
next period's numbers are in before it starts (else the store meets 「發票開立錯誤，未收到發票號碼」).

Pure arithmetic over counts the ledger supplies; the ledger turns it into a ``PoolHealth`` for the
OLED, ``/v1/status`` and the CLI.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Mapping

from .period import Period

RATE_WINDOW_DAYS = 7


@dataclass(frozen=True)
class PoolHealth:
    period: str  # period code of today, e.g. "11310"
    period_label: str  # "113年09-10月"
    numbers_left: int  # unused numbers of today's period (open ranges of this terminal)
    issued_today: int
    rate_per_day: float  # recent issues per day (see ``issue_rate``)
    runs_out_on: dt.date | None  # forecast day the last number goes; None if the pool lasts the period
    days_left: int | None  # days from today until ``runs_out_on`` (0 = today); None likewise
    next_period_imported: bool
    next_period_warning: bool  # next period starts within ``warn_days`` and has no numbers yet
    low: bool  # the pool is empty or runs out within ``warn_days``


def issue_rate(daily_counts: Mapping[dt.date, int], today: dt.date, first_day: dt.date | None, *,
               window_days: int = RATE_WINDOW_DAYS) -> float:
    """Invoices per day over the last ``window_days`` full days before ``today`` (today is partial
    and would understate the rate); a ledger younger than the window is averaged over the full
    days it has existed. With no full day of history yet, today's count stands for the day."""
    if first_day is None:
        return 0.0
    start = max(today - dt.timedelta(days=window_days), first_day)
    days = (today - start).days
    if days <= 0:
        return float(daily_counts.get(today, 0))
    issued = sum(n for d, n in daily_counts.items() if start <= d < today)
    return issued / days


def runs_out_on(numbers_left: int, rate_per_day: float, today: dt.date, period: Period) -> dt.date | None:
    """The day the last number is issued at ``rate_per_day``, or None when the numbers outlast the
    period (they expire with it anyway) or nothing is being issued."""
    if numbers_left <= 0:
        return today
    if rate_per_day <= 0:
        return None
    day = today + dt.timedelta(days=max(math.ceil(numbers_left / rate_per_day) - 1, 0))
    return day if day <= period.last_day else None


def next_period_warning(today: dt.date, next_imported: bool, warn_days: int) -> bool:
    """True when the next period starts within ``warn_days`` days and has no numbers imported."""
    if next_imported:
        return False
    starts = Period.of(today).next().first_day
    return (starts - today).days <= warn_days


def health(today: dt.date, *, numbers_left: int, issued_today: int, rate_per_day: float,
           next_imported: bool, warn_days: int) -> PoolHealth:
    if warn_days < 0:
        raise ValueError("warn_days must not be negative")
    period = Period.of(today)
    out = runs_out_on(numbers_left, rate_per_day, today, period)
    days_left = (out - today).days if out is not None else None
    return PoolHealth(
        period=period.code, period_label=period.label, numbers_left=numbers_left, issued_today=issued_today,
        rate_per_day=round(rate_per_day, 2), runs_out_on=out, days_left=days_left,
        next_period_imported=next_imported,
        next_period_warning=next_period_warning(today, next_imported, warn_days),
        low=numbers_left <= 0 or (days_left is not None and days_left <= warn_days))
