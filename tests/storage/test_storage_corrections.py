"""After issue: print states and 補印 counting, 作廢 (F0501), 註銷 and re-issue (F0701 + F0401 with the
same number), 折讓 (G0401) and its cancellation (G0501), each with its rules and its outbox message."""
import datetime as dt

import pytest

from ledger_helpers import SELLER, at, body, fingerprint
from terminal.core import mig
from terminal.core.carriers import Carrier
from terminal.core.errors import ValidationError
from terminal.core.invoice import parse_sale
from terminal.core.messages import AllowanceLine

LATER = at(2024, 9, 20, 12)


def messages_of(ledger, number):
    return [(m.message_type, mig.parse(m.payload)) for m in ledger.outbox.pending(at(2030, 1, 1))
            if m.key == number or m.message_type in ("G0401", "G0501")]


# ---------------------------------------------------------------- printing
def test_print_states_and_reprint_count(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    assert stocked.set_print_state(n, "queued", now=LATER) == 0
    assert stocked.queued_prints() == [n]
    assert stocked.set_print_state(n, "printed", now=LATER) == 1
    assert stocked.queued_prints() == []
    assert stocked.set_print_state(n, "printed", now=LATER) == 2  # a 補印
    rec = stocked.get_invoice(n)
    assert (rec.print_state, rec.print_count) == ("printed", 2)


def test_unprinted_invoices_after_a_crash_are_listed(till, stocked):
    a, _ = till.sale()
    b, _ = till.sale(carrier={"type": "3J0002", "id": "/ABC+123"})
    assert stocked.pending_prints() == [str(a.number)]
    assert stocked.get_invoice(str(b.number)).print_state == "not_printed"


def test_print_state_errors(till, stocked):
    inv, _ = till.sale()
    with pytest.raises(ValidationError) as err:
        stocked.set_print_state(str(inv.number), "burnt", now=LATER)
    assert err.value.code == "invalid_print_state"
    with pytest.raises(ValidationError) as err:
        stocked.set_print_state("ZZ99999999", "printed", now=LATER)
    assert err.value.code == "not_found"
    with pytest.raises(ValidationError) as err:
        stocked.set_print_state("nonsense", "printed", now=LATER)
    assert err.value.code == "invalid_invoice_number"


def test_a_cancelled_invoice_leaves_the_print_queue_and_is_not_printed(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    stocked.set_print_state(n, "queued", now=LATER)
    stocked.cancel(n, now=LATER, reason="客戶取消")
    assert stocked.queued_prints() == []
    with pytest.raises(ValidationError) as err:
        stocked.set_print_state(n, "printed", now=LATER)
    assert err.value.code == "invoice_cancelled"


# ---------------------------------------------------------------- 作廢
def test_cancel_puts_f0501_after_the_f0401(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    stocked.cancel(n, now=LATER, reason=" 退貨重開 ")
    rec = stocked.get_invoice(n)
    assert rec.cancelled_at == LATER and rec.cancel_reason == "退貨重開" and not rec.active
    (t1, f0401), (t2, f0501) = messages_of(stocked, n)
    assert (t1, t2) == ("F0401", "F0501")
    assert (f0501.cancel_invoice_number, f0501.cancel_reason, f0501.cancel_date) == (n, "退貨重開", LATER.date())
    assert f0501.invoice_date == inv.issued_at.date()
    with pytest.raises(ValidationError) as err:
        stocked.cancel(n, now=LATER, reason="again")
    assert err.value.code == "already_cancelled"


def test_cancel_deadline_is_the_15th_after_the_period(till, stocked):
    a, _ = till.sale()
    b, _ = till.sale()
    with pytest.raises(ValidationError) as err:
        stocked.cancel(str(a.number), now=at(2024, 11, 16, 0, 0), reason="太晚")
    assert err.value.code == "cancel_deadline_passed" and "2024-11-15" in err.value.message
    stocked.cancel(str(b.number), now=at(2024, 11, 15, 23, 59), reason="最後一天")
    assert stocked.get_invoice(str(a.number)).cancelled_at is None


def test_cancel_refuses_bad_reasons_and_times_and_writes_nothing(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    with pytest.raises(ValidationError) as err:
        stocked.cancel(n, now=LATER, reason="原因" * 11)
    assert err.value.code == "invalid_reason"
    with pytest.raises(ValidationError) as err:
        stocked.cancel(n, now=inv.issued_at - dt.timedelta(seconds=1), reason="早")
    assert err.value.code == "time_before_record"
    with pytest.raises(ValidationError) as err:
        stocked.cancel("AB00000099", now=LATER, reason="無此發票")
    assert err.value.code == "not_found"
    assert [t for t, _ in messages_of(stocked, n)] == ["F0401"]
    assert stocked.get_invoice(n).cancelled_at is None


# ---------------------------------------------------------------- 註銷 and re-issue
def test_void_and_reissue_the_same_number_with_corrected_buyer_data(till, stocked):
    inv, _ = till.sale("POS-7")
    n = str(inv.number)
    stocked.set_print_state(n, "printed", now=LATER)
    fixed = parse_sale({"sale_id": "POS-7", "items": [{"name": i.name, "quantity": i.quantity,
                                                       "unit_price": i.unit_price} for i in inv.items],
                        "total": inv.total, "buyer_tax_id": "22099131"})
    stocked.void(n, now=LATER, reason="統編錯誤", corrected=fixed)
    rec = stocked.get_invoice(n)
    assert rec.invoice.number == inv.number and rec.invoice.random_code == inv.random_code
    assert rec.invoice.issued_at == inv.issued_at and rec.invoice.buyer_tax_id == "22099131"
    assert rec.voided_at is None and rec.active and rec.voids[0].reissued
    assert (rec.print_state, rec.print_count) == ("printed", 1)  # the next print is a 補印
    kinds = messages_of(stocked, n)
    assert [t for t, _ in kinds] == ["F0401", "F0701", "F0401"]
    assert kinds[1][1].void_reason == "統編錯誤"
    assert kinds[2][1].main.buyer.identifier == "22099131" and kinds[2][1].main.invoice_number == n
    # the POS retrying the original sale gets the invoice as it stands
    again, created = till.sale("POS-7")
    assert not created and again.buyer_tax_id == "22099131"
    assert stocked.check(deep=True) == []


def test_reissue_onto_a_carrier_stops_printing(till, stocked):
    inv, _ = till.sale("POS-8")
    fixed = parse_sale({"sale_id": "POS-8", "items": [{"name": i.name, "quantity": i.quantity,
                                                       "unit_price": i.unit_price} for i in inv.items],
                        "total": inv.total, "carrier": {"type": "3J0002", "id": "/ABC+123"}})
    stocked.void(str(inv.number), now=LATER, reason="載具", corrected=fixed)
    rec = stocked.get_invoice(str(inv.number))
    assert rec.invoice.carrier == Carrier("3J0002", "/ABC+123") and rec.print_state == "not_printed"


def test_void_without_correction_leaves_it_voided(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    stocked.void(n, now=LATER, reason="資料錯誤")
    rec = stocked.get_invoice(n)
    assert rec.voided_at == LATER and not rec.active
    for call, code in ((lambda: stocked.void(n, now=LATER, reason="x"), "already_voided"),
                       (lambda: stocked.cancel(n, now=LATER, reason="x"), "invoice_voided"),
                       (lambda: stocked.add_allowance(n, [AllowanceLine(1, 1, 10)], now=LATER), "invoice_cancelled")):
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.code == code


def test_void_may_not_change_the_sale(till, stocked):
    inv, _ = till.sale("POS-9")
    other = parse_sale({"sale_id": "POS-9", "items": [{"name": "別的", "quantity": 1, "unit_price": 175}],
                        "total": 175})
    with pytest.raises(ValidationError) as err:
        stocked.void(str(inv.number), now=LATER, reason="改品項", corrected=other)
    assert err.value.code == "void_changes_sale"
    assert [t for t, _ in messages_of(stocked, str(inv.number))] == ["F0401"]


# ---------------------------------------------------------------- 折讓
def test_allowance_g0401_and_its_number(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    number = stocked.add_allowance(n, [AllowanceLine(2, 1, 45)], now=LATER)
    assert number == "T11130920" + "0000001" and len(number) <= 16
    second = stocked.add_allowance(n, [AllowanceLine(1, 1, 65)], now=LATER)
    assert second == "T11130920" + "0000002"
    g = [m for t, m in messages_of(stocked, n) if t == "G0401"]
    assert [x.main.allowance_number for x in g] == [number, second]
    assert (g[0].details[0].amount, g[0].details[0].tax) == (43, 2)  # 45 tax-inclusive
    rec = stocked.get_invoice(n)
    assert [(a.number, a.amount, a.lines) for a in rec.allowances] == [
        (number, 45, (AllowanceLine(2, 1, 45),)), (second, 65, (AllowanceLine(1, 1, 65),))]


def test_allowances_never_exceed_the_lines_or_the_invoice(till, stocked):
    inv, _ = till.sale()  # 拿鐵咖啡 2 × 65, 可頌 1 × 45
    n = str(inv.number)
    stocked.add_allowance(n, [AllowanceLine(1, 1, 65)], now=LATER)
    with pytest.raises(ValidationError) as err:
        stocked.add_allowance(n, [AllowanceLine(1, 2, 130)], now=LATER)
    assert err.value.code == "allowance_exceeds_line" and err.value.field == "lines[0]"
    with pytest.raises(ValidationError) as err:
        stocked.add_allowance(n, [AllowanceLine(3, 1, 1)], now=LATER)
    assert err.value.code == "invalid_allowance"
    stocked.add_allowance(n, [AllowanceLine(1, 1, 65), AllowanceLine(2, 1, 45)], now=LATER)
    with pytest.raises(ValidationError) as err:
        stocked.add_allowance(n, [AllowanceLine(2, 1, 1)], now=LATER)
    assert err.value.code == "allowance_exceeds_line"
    assert sum(a.amount for a in stocked.get_invoice(n).allowances) == inv.total


def test_cancel_allowance_g0501_then_the_invoice_can_be_cancelled(till, stocked):
    inv, _ = till.sale()
    n = str(inv.number)
    number = stocked.add_allowance(n, [AllowanceLine(2, 1, 45)], now=LATER)
    with pytest.raises(ValidationError) as err:
        stocked.cancel(n, now=LATER, reason="退貨")
    assert err.value.code == "allowances_active"
    stocked.cancel_allowance(number, now=LATER + dt.timedelta(hours=1), reason="折讓錯誤")
    g0501 = [m for t, m in messages_of(stocked, n) if t == "G0501"]
    assert [(m.cancel_allowance_number, m.cancel_reason) for m in g0501] == [(number, "折讓錯誤")]
    with pytest.raises(ValidationError) as err:
        stocked.cancel_allowance(number, now=LATER, reason="again")
    assert err.value.code == "already_cancelled"
    with pytest.raises(ValidationError) as err:
        stocked.cancel_allowance("NOPE", now=LATER, reason="x")
    assert err.value.code == "not_found"
    # the cancelled allowance no longer counts against the line
    stocked.add_allowance(n, [AllowanceLine(2, 1, 45)], now=LATER + dt.timedelta(hours=2))
    assert [a.cancelled_at is None for a in stocked.get_invoice(n).allowances] == [False, True]


def test_reissue_keeps_the_tax_representation_of_the_original(stocked):
    b = body("POS-10")
    inv, _ = stocked.issue(parse_sale(b), now=at(2024, 9, 15, 11), seller=SELLER, random_code=lambda: 1,
                           sale_fingerprint=fingerprint(b), split_consumer_tax=False)
    assert (inv.sales_amount, inv.tax_amount) == (175, 0)
    fixed = parse_sale({**b, "carrier": {"type": "3J0002", "id": "/ABC+123"}})
    stocked.void(str(inv.number), now=LATER, reason="載具", corrected=fixed)
    rec = stocked.get_invoice(str(inv.number)).invoice
    assert (rec.sales_amount, rec.tax_amount, rec.carrier) == (175, 0, Carrier("3J0002", "/ABC+123"))
    fixed = parse_sale({**b, "buyer_tax_id": "22099131"})
    stocked.void(str(inv.number), now=LATER, reason="統編", corrected=fixed)
    assert (stocked.get_invoice(str(inv.number)).invoice.sales_amount,
            stocked.get_invoice(str(inv.number)).invoice.tax_amount) == (167, 8)  # a tax ID always splits
