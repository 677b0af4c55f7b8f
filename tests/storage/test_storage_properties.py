"""Property tests (hypothesis): allocation over any set of booklets in several periods follows the
model (periods in turn, ranges in order, numbers in order, none twice, none skipped), and closing
reports exactly the rest; imports accept exactly the batches without overlaps or partial booklets."""
import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_helpers import P11310, Till, at
from storage.ledger import Ledger
from terminal.core import mig
from terminal.core.errors import CannotIssue, ValidationError
from terminal.core.numbers import BOOKLET, NumberRange, blank_runs

TRACKS = ("AA", "AB", "ZZ")
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def allocations(draw):
    """Disjoint booklet ranges over 1 to 3 consecutive periods, and how many sales each period sees."""
    periods = [P11310]
    for _ in range(draw(st.integers(0, 2))):
        periods.append(periods[-1].next())
    ranges = []
    for period in periods:
        for track in draw(st.lists(st.sampled_from(TRACKS), max_size=2, unique=True)):
            cursor = 0
            for _ in range(draw(st.integers(1, 3))):
                cursor += draw(st.integers(0, 3))  # a gap of whole booklets, or none
                size = draw(st.integers(1, 2))
                ranges.append(NumberRange(period, track, cursor * BOOKLET, (cursor + size) * BOOKLET - 1))
                cursor += size
    sales = [draw(st.integers(0, 130)) for _ in periods]
    return periods, draw(st.permutations(ranges)), sales


@SETTINGS
@given(allocations())
def test_allocation_follows_the_model(case):
    periods, ranges, sales = case
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.sqlite3") as led:
        if ranges:
            led.import_ranges(ranges, source="prop", now=at(2024, 9, 1))
        for period, n in zip(periods, sales):
            expected = [num for r in sorted(x for x in ranges if x.period == period) for num in r]
            till = Till(led, dt.datetime.combine(period.first_day, dt.time(1), at(2024, 1, 1).tzinfo))
            got = []
            for i in range(n):
                try:
                    got.append(till.sale(f"{period.code}-{i}", step=dt.timedelta(minutes=5))[0].number)
                except CannotIssue as exc:
                    assert exc.code == "no_numbers"
                    assert i == len(expected), "the pool ran dry early"
                    break
            assert got == expected[:n]
        after = periods[-1].next().first_day + dt.timedelta(days=1)
        keys = led.close_periods(dt.datetime.combine(after, dt.time(9), at(2024, 1, 1).tzinfo), head_ban="04595257")
        reported: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for msg in led.outbox.pending(at(2030, 1, 1), limit=100_000):
            if msg.message_type == "E0402":
                report = mig.parse(msg.payload)
                reported[(report.main.year_month, report.main.invoice_track)] = [
                    (d.invoice_begin_no, d.invoice_end_no) for d in report.details]
        for period, n in zip(periods, sales):
            for track in TRACKS:
                rs = sorted(r for r in ranges if r.period == period and r.track == track)
                issued = [num for r in sorted(x for x in ranges if x.period == period) for num in r][:n]
                used = [num.serial for num in issued if num.track == track]
                want = [(f"{a:08d}", f"{b:08d}") for r in rs for a, b in blank_runs(r, used)]
                assert reported.get((period.code, track), []) == want
        assert sorted(keys) == sorted(f"E0402:{p}:{t}" for p, t in reported)
        assert led.check(deep=True) == []


@st.composite
def batches(draw):
    """Ranges that may overlap or break booklets."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        track = draw(st.sampled_from(TRACKS[:2]))
        start = draw(st.integers(0, 12)) * 25
        end = start + draw(st.integers(1, 6)) * 25 - 1
        out.append(NumberRange(P11310, track, start, end))
    return out


@SETTINGS
@given(batches())
def test_import_accepts_exactly_disjoint_whole_booklets(batch):
    ok = all(r.is_booklets for r in batch) and not any(
        a.overlaps(b) for i, a in enumerate(batch) for b in batch[i + 1:])
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.sqlite3") as led:
        try:
            added = led.import_ranges(batch, source="prop", now=at(2024, 9, 1))
        except ValidationError as exc:
            assert not ok
            assert exc.code in ("range_not_booklets", "range_overlap")
            assert led.list_ranges() == []
        else:
            assert ok
            assert added == sum(r.count for r in batch)
            assert [s.range for s in led.list_ranges()] == sorted(batch)
