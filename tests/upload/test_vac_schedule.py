"""The retry schedule (backoff with injected jitter) and the legal-deadline status for the OLED."""
import datetime as dt
import random

import pytest

from drivers.vac import deadline_status
from terminal.core.ports import Backlog
from terminal.core.vac_backoff import retry_delay
from terminal.core.vac_deadline import deadline_at

TAIPEI = dt.timezone(dt.timedelta(hours=8))


class Fixed:
    def __init__(self, value):
        self.value = value

    def random(self):
        return self.value


def test_delay_doubles_to_the_cap_with_jitter_in_the_upper_half():
    assert [retry_delay(n, Fixed(0.0)) for n in range(1, 10)] == [15, 30, 60, 120, 240, 480, 960, 1800, 1800]
    assert retry_delay(1, Fixed(0.999999), base_s=30) == pytest.approx(30, abs=1e-4)
    assert retry_delay(10_000, Fixed(0.5), max_s=3600) == 2700  # no overflow for absurd attempt counts
    assert retry_delay(1, Fixed(0.0), base_s=0.5, max_s=1) == 1.0  # never below one second


def test_the_jitter_comes_from_the_injected_source_only():
    a = [retry_delay(n, random.Random(3)) for n in range(1, 8)]
    b = [retry_delay(n, random.Random(3)) for n in range(1, 8)]
    c = [retry_delay(n, random.Random(4)) for n in range(1, 8)]
    assert a == b and a != c
    for n, d in enumerate(a, start=1):
        ceiling = min(3600, 30 * 2 ** (n - 1))
        assert ceiling / 2 <= d < ceiling


@pytest.mark.parametrize("args", [dict(attempt=0), dict(attempt=1, base_s=0), dict(attempt=1, base_s=60, max_s=30)])
def test_bad_schedule_arguments(args):
    attempt = args.pop("attempt")
    with pytest.raises(ValueError):
        retry_delay(attempt, Fixed(0.1), **args)


def _backlog(oldest):
    return Backlog(pending=0 if oldest is None else 3, rejected=0, oldest_pending_at=oldest)


def test_deadline_is_midnight_after_the_second_day_in_taipei():
    assert deadline_at(dt.datetime(2026, 3, 10, 23, 59, tzinfo=TAIPEI)) == dt.datetime(2026, 3, 13, tzinfo=TAIPEI)
    # 17:00 UTC on the 9th is 01:00 on the 10th in Taipei: the Taiwan calendar day counts
    assert deadline_at(dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.timezone.utc)) == \
        dt.datetime(2026, 3, 13, tzinfo=TAIPEI)
    with pytest.raises(ValueError):
        deadline_at(dt.datetime(2026, 3, 10))


@pytest.mark.parametrize("oldest, now, expect", [
    (None, dt.datetime(2026, 3, 10, 12, tzinfo=TAIPEI), ("ok", None)),
    (dt.datetime(2026, 3, 10, 9, tzinfo=TAIPEI), dt.datetime(2026, 3, 10, 12, tzinfo=TAIPEI), ("ok", 60.0)),
    # waited a whole day: warn although 39 hours are left
    (dt.datetime(2026, 3, 10, 9, tzinfo=TAIPEI), dt.datetime(2026, 3, 11, 9, tzinfo=TAIPEI), ("warn", 39.0)),
    # issued just before midnight: only 24 hours left after a day and a minute
    (dt.datetime(2026, 3, 10, 23, 59, tzinfo=TAIPEI), dt.datetime(2026, 3, 12, 0, 0, tzinfo=TAIPEI), ("warn", 24.0)),
    (dt.datetime(2026, 3, 10, 23, 59, tzinfo=TAIPEI), dt.datetime(2026, 3, 11, 23, 0, tzinfo=TAIPEI), ("ok", 25.0)),
    (dt.datetime(2026, 3, 10, 9, tzinfo=TAIPEI), dt.datetime(2026, 3, 13, 0, 0, tzinfo=TAIPEI), ("overdue", 0.0)),
    (dt.datetime(2026, 3, 10, 9, tzinfo=TAIPEI), dt.datetime(2026, 3, 13, 6, 30, tzinfo=TAIPEI), ("overdue", -6.5)),
])
def test_deadline_status(oldest, now, expect):
    assert deadline_status(_backlog(oldest), now) == expect


def test_deadline_status_needs_an_aware_now():
    with pytest.raises(ValueError):
        deadline_status(_backlog(None), dt.datetime(2026, 3, 10))
