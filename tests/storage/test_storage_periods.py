"""Period close: the unused numbers of ended periods, holes included, become E0402 reports in the
outbox, once, and are never issued. Pool health: numbers left, rate, run-out day, next period."""
import datetime as dt

import pytest

from ledger_helpers import P11310, Till, at
from terminal.core import mig
from terminal.core.errors import CannotIssue, ValidationError
from terminal.core.numbers import NumberRange

P11312 = P11310.next()


def blanks(ledger, key):
    (msg,) = [m for m in ledger.outbox.pending(at(2030, 1, 1)) if m.key == key]
    report = mig.parse(msg.payload)
    return report.main, [(d.invoice_begin_no, d.invoice_end_no) for d in report.details]


def test_close_reports_the_tail_of_every_range_once(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 99), NumberRange(P11310, "AB", 200, 249),
                          NumberRange(P11310, "CD", 50, 99), NumberRange(P11312, "EF", 0, 49)],
                         source="test", now=at(2024, 9, 1))
    till = Till(ledger, at(2024, 10, 30, 10))
    for _ in range(30):
        till.sale()
    assert ledger.close_periods(at(2024, 10, 31, 23, 59), head_ban="04595257") == []  # not ended yet
    keys = ledger.close_periods(at(2024, 11, 1, 0, 0), head_ban="04595257", branch_ban="12345675")
    assert keys == ["E0402:11310:AB", "E0402:11310:CD"]
    main, ab = blanks(ledger, "E0402:11310:AB")
    assert (main.head_ban, main.branch_ban, main.year_month, main.invoice_track) == ("04595257", "12345675",
                                                                                   "11310", "AB")
    assert ab == [("00000030", "00000099"), ("00000200", "00000249")]
    assert blanks(ledger, "E0402:11310:CD")[1] == [("00000050", "00000099")]
    assert [(str(r.range), r.closed, r.left) for r in ledger.list_ranges()] == [
        ("11310 AB00000000-00000099", True, 0), ("11310 AB00000200-00000249", True, 0),
        ("11310 CD00000050-00000099", True, 0), ("11312 EF00000000-00000049", False, 50)]
    assert ledger.close_periods(at(2024, 11, 2), head_ban="04595257") == []  # idempotent
    assert len([m for m in ledger.outbox.pending(at(2030, 1, 1)) if m.message_type == "E0402"]) == 2
    assert ledger.check(deep=True) == []
    assert ledger.events()[-1]["kind"] == "period_closed"


def test_a_fully_used_range_has_no_report_and_an_unused_one_is_all_blank(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 49), NumberRange(P11310, "CD", 0, 49)],
                         source="test", now=at(2024, 9, 1))
    till = Till(ledger, at(2024, 9, 15, 10))
    for _ in range(50):
        till.sale()
    assert ledger.close_periods(at(2024, 11, 5), head_ban="04595257") == ["E0402:11310:CD"]
    assert blanks(ledger, "E0402:11310:CD")[1] == [("00000000", "00000049")]


def test_closed_numbers_are_never_issued_even_with_the_clock_set_back(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 49)], source="test", now=at(2024, 9, 1))
    ledger.close_periods(at(2024, 11, 1, 8), head_ban="04595257")
    with pytest.raises(CannotIssue) as err:
        Till(ledger, at(2024, 10, 20, 10)).sale()
    assert err.value.code == "no_numbers"
    with pytest.raises(ValidationError) as err:  # nor can the range come back by re-import
        ledger.import_ranges([NumberRange(P11310, "AB", 0, 49)], source="test", now=at(2024, 11, 2))
    assert err.value.code == "range_period_past"


def test_a_bad_head_ban_closes_nothing(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 49)], source="test", now=at(2024, 9, 1))
    with pytest.raises(ValidationError) as err:
        ledger.close_periods(at(2024, 11, 1, 8), head_ban="1234")
    assert err.value.code == "invalid_mig" and "HeadBan" in err.value.message
    assert not ledger.list_ranges()[0].closed
    assert ledger.close_periods(at(2024, 11, 1, 8), head_ban="04595257") == ["E0402:11310:AB"]


def test_pool_health_counts_rate_and_run_out_day(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 199)], source="test", now=at(2024, 9, 1))
    till = Till(ledger, at(2024, 10, 1, 9))
    for day in range(7):  # 10 invoices a day for a week
        till.now = at(2024, 10, 1 + day, 9)
        for _ in range(10):
            till.sale()
    till.now = at(2024, 10, 8, 9)
    for _ in range(4):
        till.sale()
    h = ledger.pool_health(at(2024, 10, 8, 12), warn_days=5)
    assert (h.period, h.period_label, h.numbers_left, h.issued_today) == ("11310", "113年09-10月", 126, 4)
    assert h.rate_per_day == 10.0
    assert h.runs_out_on == dt.date(2024, 10, 20) and h.days_left == 12 and not h.low
    assert not h.next_period_imported and not h.next_period_warning
    late = ledger.pool_health(at(2024, 10, 27, 12), warn_days=5)
    assert late.next_period_warning and late.low is False
    ledger.import_ranges([NumberRange(P11312, "CD", 0, 49)], source="test", now=at(2024, 10, 27, 12))
    assert ledger.pool_health(at(2024, 10, 27, 12), warn_days=5).next_period_warning is False


def test_pool_health_of_an_empty_pool_is_low(ledger):
    h = ledger.pool_health(at(2024, 9, 15, 10))
    assert (h.numbers_left, h.low, h.runs_out_on, h.rate_per_day) == (0, True, dt.date(2024, 9, 15), 0.0)
