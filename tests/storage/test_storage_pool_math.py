"""terminal.core.pool: issue rate, the run-out forecast and the next-period warning."""
import datetime as dt

import pytest

from terminal.core import pool
from terminal.core.period import Period

D = dt.date


def test_rate_uses_full_days_of_the_window():
    counts = {D(2024, 10, d): 10 for d in range(1, 8)} | {D(2024, 10, 8): 100}
    assert pool.issue_rate(counts, D(2024, 10, 8), D(2024, 9, 1)) == 10.0
    assert pool.issue_rate(counts, D(2024, 10, 8), D(2024, 10, 6)) == 10.0  # two full days of history
    assert pool.issue_rate({D(2024, 10, 8): 3}, D(2024, 10, 8), D(2024, 10, 8)) == 3.0  # first day
    assert pool.issue_rate({}, D(2024, 10, 8), None) == 0.0


@pytest.mark.parametrize("left, rate, expected", [
    (0, 5.0, D(2024, 10, 8)),
    (3, 5.0, D(2024, 10, 8)),
    (10, 5.0, D(2024, 10, 9)),
    (11, 5.0, D(2024, 10, 10)),
    (120, 5.0, D(2024, 10, 31)),  # the last day of the period
    (121, 5.0, None),  # outlasts the period
    (50, 0.0, None),
])
def test_runs_out_on(left, rate, expected):
    assert pool.runs_out_on(left, rate, D(2024, 10, 8), Period(2024, 10)) == expected


@pytest.mark.parametrize("today, imported, warn, expected", [
    (D(2024, 10, 26), False, 5, False),
    (D(2024, 10, 27), False, 5, True),
    (D(2024, 10, 31), False, 0, False),
    (D(2024, 10, 31), False, 1, True),
    (D(2024, 10, 31), True, 5, False),
])
def test_next_period_warning(today, imported, warn, expected):
    assert pool.next_period_warning(today, imported, warn) is expected


def test_health_low_when_running_out_within_the_warning():
    h = pool.health(D(2024, 10, 8), numbers_left=40, issued_today=2, rate_per_day=10.0, next_imported=False,
                    warn_days=5)
    assert (h.runs_out_on, h.days_left, h.low) == (D(2024, 10, 11), 3, True)
    with pytest.raises(ValueError):
        pool.health(D(2024, 10, 8), numbers_left=1, issued_today=0, rate_per_day=0, next_imported=True, warn_days=-1)
