"""Issuing: numbers in order across booklets and ranges, idempotent retries, the clock guard, the
invoice rebuilt exactly from its rows, its F0401 in the same transaction, random codes."""
import datetime as dt
import sqlite3

import pytest

from ledger_helpers import P11310, SELLER, Till, at, body, fingerprint
from storage import ledger as ledger_mod
from terminal.core import mig
from terminal.core.carriers import Carrier, Donation
from terminal.core.errors import CannotIssue, ValidationError
from terminal.core.invoice import parse_sale
from terminal.core.numbers import NumberRange


def test_numbers_go_in_order_through_booklets_and_ranges(stocked, till):
    stocked.import_ranges([NumberRange(P11310, "AA", 500, 549)], source="test", now=at(2024, 9, 2))
    numbers = [str(till.sale()[0].number) for _ in range(150)]
    # AA sorts before AB: its booklet goes first, then AB's two booklets
    assert numbers == [f"AA{n:08d}" for n in range(500, 550)] + [f"AB{n:08d}" for n in range(0, 100)]
    states = {str(r.range): (r.used, r.left) for r in stocked.list_ranges()}
    assert states == {"11310 AA00000500-00000549": (50, 0), "11310 AB00000000-00000099": (100, 0)}


def test_empty_pool_raises_no_numbers_and_writes_nothing(stocked, till):
    for _ in range(100):
        till.sale()
    with pytest.raises(CannotIssue) as err:
        till.sale("POS-extra")
    assert err.value.code == "no_numbers" and err.value.message_zh == "本期發票號碼已用完"
    assert stocked.get_by_sale_id("POS-extra") is None
    assert len(stocked.outbox.pending(till.now)) == 100


def test_no_range_imported_for_the_period(ledger):
    with pytest.raises(CannotIssue) as err:
        Till(ledger, at(2024, 9, 15, 10)).sale()
    assert err.value.code == "no_numbers" and "11310" in err.value.message
    assert err.value.message_zh == "未收到本期發票號碼"


def test_a_retried_sale_returns_the_same_invoice(till, stocked):
    first, created = till.sale("POS-1")
    again, created_again = till.sale("POS-1")
    assert created and not created_again
    assert again == first and again.issued_at == first.issued_at
    assert [r.range.start for r in stocked.list_ranges()] == [0]
    assert stocked.list_ranges()[0].used == 1
    assert len(stocked.outbox.pending(till.now)) == 1


def test_same_sale_id_with_another_body_is_a_conflict(till, stocked):
    till.sale("POS-1")
    with pytest.raises(ValidationError) as err:
        till.sale("POS-1", items=(("可頌", 3, 45),))
    assert err.value.code == "sale_id_conflict" and err.value.field == "sale_id"
    assert stocked.list_ranges()[0].used == 1


@pytest.mark.parametrize("buyer", [
    {},
    {"buyer_tax_id": "22099131"},
    {"carrier": {"type": "3J0002", "id": "/ABC+123"}},
    {"carrier": {"type": "CQ0001", "id": "AB12345678901234"}},
    {"donation_code": "88888"},
])
def test_the_stored_invoice_is_the_issued_one(till, stocked, buyer):
    items = (("拿鐵咖啡", 2, 65), ("可頌", 1, 45), ("Bagel 貝果 (大)", 3, 0), ("水", 10, 20))
    inv, _ = till.sale("POS-x", items=items, **buyer)
    rec = stocked.get_invoice(str(inv.number))
    assert rec.invoice == inv
    assert rec.invoice.issued_at.utcoffset() == dt.timedelta(hours=8)
    assert rec.invoice.issued_at == till.now
    assert stocked.get_by_sale_id("POS-x").invoice == inv
    assert rec.print_state == ("pending" if inv.prints_proof else "not_printed")
    # and the upload message written with it parses back to the same invoice data
    (msg,) = stocked.outbox.pending(till.now)
    f0401 = mig.parse(msg.payload)
    assert (msg.message_type, msg.key) == ("F0401", str(inv.number))
    assert f0401.main.invoice_number == str(inv.number) and f0401.main.random_number == inv.random_code
    assert [d.description for d in f0401.details] == [n for n, _, _ in items]
    assert int(f0401.amount.total_amount) == inv.total
    assert f0401.main.print_mark == ("Y" if inv.prints_proof else "N")


def test_carrier_and_donation_are_rebuilt_as_core_types(till, stocked):
    inv, _ = till.sale(carrier={"type": "3J0002", "id": "/ABC+123"})
    assert stocked.get_invoice(str(inv.number)).invoice.carrier == Carrier("3J0002", "/ABC+123")
    inv, _ = till.sale(donation_code="88888")
    assert stocked.get_invoice(str(inv.number)).invoice.donation == Donation("88888")


def test_clock_behind_the_last_invoice_is_refused(till, stocked):
    till.sale()
    with pytest.raises(CannotIssue) as err:
        till.sale(step=dt.timedelta(seconds=-1))
    assert err.value.code == "clock_behind_ledger"
    assert stocked.list_ranges()[0].used == 1


def test_no_invoice_in_the_first_minutes_of_a_period(ledger):
    nov = NumberRange(P11310.next(), "CD", 0, 49)
    ledger.import_ranges([nov], source="test", now=at(2024, 10, 31, 12))
    with pytest.raises(CannotIssue) as err:
        Till(ledger, at(2024, 11, 1, 0, 1)).sale(step=dt.timedelta(0))
    assert err.value.code == "period_start_guard"
    inv, _ = Till(ledger, at(2024, 11, 1, 0, 3)).sale(step=dt.timedelta(0))
    assert str(inv.number) == "CD00000000"


def test_numbers_of_another_period_are_never_used(ledger):
    ledger.import_ranges([NumberRange(P11310.next(), "CD", 0, 49)], source="test", now=at(2024, 9, 2))
    with pytest.raises(CannotIssue) as err:
        Till(ledger, at(2024, 10, 31, 23, 59)).sale(step=dt.timedelta(0))
    assert err.value.code == "no_numbers"


def test_naive_time_is_a_programming_error(stocked):
    b = body("POS-1")
    with pytest.raises(ValueError):
        stocked.issue(parse_sale(b), now=dt.datetime(2024, 9, 15, 10), seller=SELLER, random_code=lambda: 1,
                      sale_fingerprint=fingerprint(b))


def test_random_codes_avoid_the_last_thousand(ledger):
    ledger.import_ranges([NumberRange(P11310, "AB", 0, 1199)], source="test", now=at(2024, 9, 1, 8))
    till = Till(ledger, at(2024, 9, 15, 10))
    till.rng.randrange = lambda n: 4242  # a source stuck on one value still gets distinct codes
    codes = [till.sale(step=dt.timedelta(seconds=1))[0].random_code for _ in range(1100)]
    assert codes[0] == "4242"
    assert all(len(set(codes[i:i + 1000])) == len(codes[i:i + 1000]) for i in range(0, 101, 25))


def test_random_codes_come_from_the_injected_source(till):
    drawn = iter([17, 17, 9999])
    inv1, _ = till.ledger.issue(parse_sale(body("A")), now=till.now, seller=SELLER, random_code=lambda: next(drawn),
                                sale_fingerprint="a")
    inv2, _ = till.ledger.issue(parse_sale(body("B")), now=till.now, seller=SELLER, random_code=lambda: next(drawn),
                                sale_fingerprint="b")
    assert (inv1.random_code, inv2.random_code) == ("0017", "9999")


def test_a_failure_inside_the_transaction_leaves_nothing_and_skips_no_number(till, stocked, monkeypatch):
    till.sale("POS-1")
    real_put = ledger_mod.outbox_mod.put_compressed

    def failing_put(*args, **kw):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ledger_mod.outbox_mod, "put_compressed", failing_put)
    with pytest.raises(CannotIssue) as err:
        till.sale("POS-2")
    assert err.value.code == "ledger_unavailable"
    monkeypatch.setattr(ledger_mod.outbox_mod, "put_compressed", real_put)
    assert stocked.get_by_sale_id("POS-2") is None
    assert stocked.list_ranges()[0].used == 1
    inv, created = till.sale("POS-2")
    assert created and str(inv.number) == "AB00000001"
    assert stocked.check(deep=True) == []


def test_events_log_what_is_not_an_invoice_row(till, stocked):
    inv, _ = till.sale()
    stocked.set_print_state(str(inv.number), "printed", now=till.now)
    kinds = [(e["kind"], e["subject"], e["detail"]) for e in stocked.events()]
    assert kinds == [("ranges_imported", "test", {"ranges": ["11310 AB00000000-00000099"], "numbers": 100}),
                     ("print_printed", str(inv.number), {"print_count": 1})]
