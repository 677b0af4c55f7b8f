"""How close the oldest message waiting for the value-added center is to the legal upload limit.

The limit is ``period.upload_deadline``: the end of the second day after the day of issue, Taiwan time.
The OLED and ``/v1/status`` show the state; the terminal warns a day ahead and whenever a message has
waited a whole day (uploads run every few minutes plus a 09:00 batch, so a day means something is wrong).
"""
from __future__ import annotations

import datetime as dt
from typing import Protocol

from .period import upload_deadline

# Taiwan has kept UTC+8 without daylight saving since 1979; a fixed offset needs no tz database.
TAIPEI = dt.timezone(dt.timedelta(hours=8), "Asia/Taipei")
WARN_HOURS_LEFT = 24.0
WARN_AGE_HOURS = 24.0

OK, WARN, OVERDUE = "ok", "warn", "overdue"


class HasOldestPending(Protocol):
    oldest_pending_at: dt.datetime | None


def deadline_at(created_at: dt.datetime) -> dt.datetime:
    """The instant the upload limit of a message created at ``created_at`` runs out (midnight, Taipei,
    after the last allowed day)."""
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    last_day = upload_deadline(created_at.astimezone(TAIPEI).date())
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), TAIPEI)


def deadline_status(backlog: HasOldestPending, now: dt.datetime, *, warn_hours_left: float = WARN_HOURS_LEFT,
                    warn_age_hours: float = WARN_AGE_HOURS) -> tuple[str, float | None]:
    """``("ok" | "warn" | "overdue", hours left until the oldest pending message's limit)``.

    ``("ok", None)`` when nothing is pending. Hours left are negative once overdue. The limit applied is
    the invoice one even for E0402 reports, whose legal limit is later: the safe side.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    oldest = backlog.oldest_pending_at
    if oldest is None:
        return OK, None
    hours_left = (deadline_at(oldest) - now).total_seconds() / 3600
    if hours_left <= 0:
        return OVERDUE, hours_left
    age_hours = (now - oldest).total_seconds() / 3600
    if hours_left <= warn_hours_left or age_hours >= warn_age_hours:
        return WARN, hours_left
    return OK, hours_left
