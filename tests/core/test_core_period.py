"""Periods (期別), ROC dates, deadlines, invoice numbers and 50-number booklets (reference §1, §5.1,
Appendix A)."""
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.core.errors import ValidationError
from terminal.core.numbers import InvoiceNumber, NumberRange, blank_runs, merge_serials
from terminal.core.period import Period, mig_date, mig_time, roc_date7, roc_year, upload_deadline


# ---------------------------------------------------------------- §1.3 / Appendix A vectors
@pytest.mark.parametrize("day, code, label, roc7", [
    ("2024-09-15", "11310", "113年09-10月", "1130915"),
    ("2024-10-31", "11310", "113年09-10月", "1131031"),
    ("2025-01-01", "11402", "114年01-02月", "1140101"),
    ("2015-03-07", "10404", "104年03-04月", "1040307"),
    ("2013-05-23", "10206", "102年05-06月", "1020523"),
    ("2026-12-31", "11512", "115年11-12月", "1151231"),
])
def test_period_code_label_and_roc_date(day, code, label, roc7):
    d = dt.date.fromisoformat(day)
    period = Period.of(d)
    assert (period.code, period.label, roc_date7(d)) == (code, label, roc7)
    assert str(period) == code
    assert Period.parse(code) == period
    assert period.contains(d)


def test_roc_year_and_mig_formats_are_distinct():
    d = dt.datetime(2024, 9, 15, 14, 30, 5)
    assert roc_year(d.date()) == 113
    assert mig_date(d.date()) == "20240915"  # Gregorian in XML
    assert roc_date7(d.date()) == "1130915"  # ROC in the QR code
    assert mig_time(d) == "14:30:05"


@pytest.mark.parametrize("code", ["11311", "11300", "11314", "1131", "113100", "", "ABC10", "11310\n",
                                  " 11310", "１１３10", "١١٣10", None, 11310])
def test_period_parse_rejects(code):
    with pytest.raises(ValidationError) as e:
        Period.parse(code)
    assert e.value.code == "invalid_period"


def test_period_rejects_odd_end_month_and_years_without_a_3_digit_roc_year():
    for args in [(2024, 9), (2024, 0), (1911, 2), (2911, 2)]:
        with pytest.raises(ValidationError):
            Period(*args)
    assert Period(1912, 2).code == "00102"
    assert Period(2910, 12).code == "99912"


@pytest.mark.parametrize("code, first, last", [
    ("11302", "2024-01-01", "2024-02-29"),  # leap year
    ("11402", "2025-01-01", "2025-02-28"),
    ("11310", "2024-09-01", "2024-10-31"),
    ("11312", "2024-11-01", "2024-12-31"),
])
def test_period_first_and_last_day(code, first, last):
    p = Period.parse(code)
    assert (p.first_day, p.last_day) == (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    assert not p.contains(p.first_day - dt.timedelta(days=1))
    assert not p.contains(p.last_day + dt.timedelta(days=1))


def test_next_and_previous_cross_the_year():
    assert Period.parse("11312").next() == Period.parse("11402")
    assert Period.parse("11402").previous() == Period.parse("11312")


# ---------------------------------------------------------------- deadlines (§5.1, §5.2, §5.5)
@pytest.mark.parametrize("code, cancel, blank", [
    ("11310", "2024-11-15", "2024-11-10"),
    ("11312", "2025-01-15", "2025-01-10"),  # across the year
    ("11402", "2025-03-15", "2025-03-10"),
])
def test_cancel_and_blank_report_deadlines(code, cancel, blank):
    p = Period.parse(code)
    assert p.cancel_deadline() == dt.date.fromisoformat(cancel)
    assert p.blank_report_deadline() == dt.date.fromisoformat(blank)


@pytest.mark.parametrize("issued, deadline", [
    ("2025-01-06", "2025-01-08"),  # D+2: counted from the day after issue
    ("2024-12-31", "2025-01-02"),
    ("2024-02-28", "2024-03-01"),  # leap day counted
])
def test_upload_deadline(issued, deadline):
    assert upload_deadline(dt.date.fromisoformat(issued)) == dt.date.fromisoformat(deadline)


# ---------------------------------------------------------------- §1.2 booklets of 50
P = Period.parse("11310")


@pytest.mark.parametrize("start, end, ok, booklets", [
    (0, 49, True, 1),
    (1000, 1499, True, 10),
    (12345650, 12345699, True, 1),
    (1, 50, False, 0),
    (1000, 1998, False, 0),
])
def test_range_booklets(start, end, ok, booklets):
    rng = NumberRange(P, "AB", start, end)
    assert (rng.is_booklets, rng.booklets) == (ok, booklets)
    if ok:
        assert rng.require_booklets() is rng
    else:
        with pytest.raises(ValidationError) as e:
            rng.require_booklets()
        assert e.value.code == "invalid_range"


@pytest.mark.parametrize("track, start, end", [("ab", 0, 49), ("A", 0, 49), ("ABC", 0, 49), ("A1", 0, 49),
                                               ("AB", 50, 49), ("AB", -1, 49), ("AB", 0, 100_000_000)])
def test_range_rejects(track, start, end):
    with pytest.raises(ValidationError) as e:
        NumberRange(P, track, start, end)
    assert e.value.code == "invalid_range"


def test_range_contains_overlaps_and_iterates():
    rng = NumberRange(P, "AB", 12345650, 12345699)
    assert rng.count == 50
    assert rng.contains(InvoiceNumber.parse("AB12345650")) and rng.contains(InvoiceNumber.parse("AB12345699"))
    assert not rng.contains(InvoiceNumber.parse("AB12345700"))
    assert not rng.contains(InvoiceNumber.parse("AC12345660"))
    assert [str(n) for n in NumberRange(P, "AB", 12345698, 12345699)] == ["AB12345698", "AB12345699"]
    assert rng.overlaps(NumberRange(P, "AB", 12345699, 12345749))
    assert not rng.overlaps(NumberRange(P, "AB", 12345700, 12345749))
    assert not rng.overlaps(NumberRange(P, "AC", 12345650, 12345699))
    assert not rng.overlaps(NumberRange(P.next(), "AB", 12345650, 12345699))
    assert str(rng) == "11310 AB12345650-12345699"


def test_blank_runs_of_the_spec_e0402_example():
    # pool AB12345650–12345699, last used AB12345680 → blank 12345681–12345699
    rng = NumberRange(P, "AB", 12345650, 12345699)
    assert blank_runs(rng, range(12345650, 12345681)) == [(12345681, 12345699)]
    assert blank_runs(rng, []) == [(12345650, 12345699)]
    assert blank_runs(rng, range(12345650, 12345700)) == []
    # holes count, numbers outside the range are ignored
    assert blank_runs(rng, [12345650, 12345652, 12345699, 1]) == [(12345651, 12345651), (12345653, 12345698)]


def test_merge_serials():
    assert merge_serials([7, 1, 3, 2, 2]) == [(1, 3), (7, 7)]
    assert merge_serials([]) == []


# ---------------------------------------------------------------- §1.1 invoice numbers
@pytest.mark.parametrize("text", ["AB12345678", "AB-12345678", " AB12345678\r\n"])
def test_invoice_number_parse(text):
    n = InvoiceNumber.parse(text)
    assert (n.track, n.serial, str(n), n.printed) == ("AB", 12345678, "AB12345678", "AB-12345678")


@pytest.mark.parametrize("text", ["ab12345678", "AB1234567", "AB123456789", "A-B12345678", "AB1234-5678",
                                  "AB--12345678", "AB12345678X", "AB１２３４５６７８", "AB١٢٣٤٥٦٧٨", "",
                                  None, 12345678])
def test_invoice_number_parse_rejects(text):
    with pytest.raises(ValidationError) as e:
        InvoiceNumber.parse(text)
    assert e.value.code == "invalid_invoice_number"


@pytest.mark.parametrize("track, serial", [("ab", 1), ("ABC", 1), ("AB", -1), ("AB", 100_000_000), ("AB", "1")])
def test_invoice_number_constructor_rejects(track, serial):
    with pytest.raises(ValidationError):
        InvoiceNumber(track, serial)


def test_invoice_numbers_order_by_track_then_serial():
    numbers = [InvoiceNumber.parse(t) for t in ["AC00000001", "AB00000002", "AB00000001"]]
    assert [str(n) for n in sorted(numbers)] == ["AB00000001", "AB00000002", "AC00000001"]


# ---------------------------------------------------------------- properties
periods = st.builds(Period, st.integers(1912, 2910), st.sampled_from([2, 4, 6, 8, 10, 12]))
tracks = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)


@settings(max_examples=300)
@given(periods)
def test_period_code_parse_round_trip(period):
    assert Period.parse(period.code) == period
    assert len(period.code) == 5 and period.code.isdigit()
    assert Period.of(period.first_day) == period == Period.of(period.last_day)


@settings(max_examples=300)
@given(periods.filter(lambda p: (p.year, p.end_month) not in {(1912, 2), (2910, 12)}))
def test_next_and_previous_are_inverse(period):
    assert period.next().previous() == period
    assert period.previous().next() == period
    assert period.next().first_day == period.last_day + dt.timedelta(days=1)
    assert period.previous() < period < period.next()


@settings(max_examples=300)
@given(st.dates(dt.date(1912, 1, 1), dt.date(2910, 12, 31)))
def test_every_date_lies_in_its_period(d):
    p = Period.of(d)
    assert p.contains(d) and p.end_month % 2 == 0 and p.start_month <= d.month <= p.end_month
    assert roc_date7(d) == f"{p.code[:3]}{d:%m%d}"


@settings(max_examples=300)
@given(tracks, st.integers(0, 99_999_999))
def test_invoice_number_str_parse_round_trip(track, serial):
    n = InvoiceNumber(track, serial)
    assert InvoiceNumber.parse(str(n)) == n
    assert InvoiceNumber.parse(n.printed) == n
    assert len(str(n)) == 10


@st.composite
def range_and_used(draw):
    start = draw(st.integers(0, 99_999_000))
    end = draw(st.integers(start, min(start + 300, 99_999_999)))
    used = draw(st.lists(st.integers(max(0, start - 5), end + 5), max_size=60))
    return NumberRange(P, "AB", start, end), used


@settings(max_examples=300)
@given(range_and_used())
def test_blank_runs_and_used_partition_the_range(case):
    rng, used = case
    runs = blank_runs(rng, used)
    blank = [s for a, b in runs for s in range(a, b + 1)]
    used_in = {s for s in used if rng.start <= s <= rng.end}
    assert len(blank) == len(set(blank))  # runs do not overlap
    assert set(blank).isdisjoint(used_in)
    assert set(blank) | used_in == set(range(rng.start, rng.end + 1))
    # maximal, ordered runs: each is separated from the next by at least one used number
    assert all(a <= b for a, b in runs)
    assert all(b1 + 1 < a2 for (_, b1), (a2, _) in zip(runs, runs[1:]))
