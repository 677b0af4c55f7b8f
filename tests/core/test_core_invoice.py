"""Sales from the POS and the rules of issuing: parse_sale names the field of every error, the clock
guard, building the invoice (reference §1.2, §2.2, §5.8; interfaces.md POST /v1/sales)."""
import copy
import datetime as dt

import pytest

from terminal.core.carriers import BuyerTaxId, Carrier, Donation
from terminal.core.errors import CannotIssue, ValidationError
from terminal.core.invoice import (Sale, build_invoice, check_buyer_choice, check_issue_time,
                                   format_random_code, parse_sale)
from terminal.core.money import Item
from terminal.core.numbers import InvoiceNumber
from terminal.core.period import Period

TAIPEI = dt.timezone(dt.timedelta(hours=8))
BODY = {
    "sale_id": "POS-20261124-000123",
    "items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1, "unit_price": 45}],
    "total": 175,
    "buyer_tax_id": None,
    "carrier": None,
    "donation_code": None,
}


def body(**changes):
    b = copy.deepcopy(BODY)
    for path, value in changes.items():
        target, *keys = path.split("__")
        node, keys = b, [target, *keys]  # items__1__quantity=... edits b["items"][1]["quantity"]
        keys = [int(k) if k.isdigit() else k for k in keys]
        for k in keys[:-1]:
            node = node[k]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return b


def test_the_interface_example_parses():
    sale = parse_sale(BODY)
    assert sale == Sale("POS-20261124-000123", (Item("拿鐵咖啡", 2, 65), Item("可頌", 1, 45)), 175)
    assert not sale.has_buyer_choice


def test_optional_fields_may_be_absent():
    sale = parse_sale({"sale_id": "1", "items": [{"name": "水", "quantity": 1, "unit_price": 20}], "total": 20})
    assert sale.total == 20 and sale.buyer_tax_id is None


@pytest.mark.parametrize("changes, code, field", [
    # malformed shapes
    ({"items": {}}, "invalid_item", "items"),
    ({"items": None}, "invalid_item", "items"),
    ({"items": []}, "invalid_item", "items"),
    ({"items": ["拿鐵咖啡"]}, "invalid_item", "items[0]"),
    ({"items__1": [1, 2]}, "invalid_item", "items[1]"),
    ({"items__1__name": KeyError}, "invalid_item", "items[1].name"),
    ({"items__1__name": 42}, "invalid_item", "items[1].name"),
    ({"items__1__name": ""}, "invalid_item", "items[1].name"),
    ({"items__1__name": "可\n頌"}, "invalid_item", "items[1].name"),
    ({"items__1__quantity": KeyError}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": "1"}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": None}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": [1]}, "invalid_amount", "items[1].quantity"),
    # bool, float, negative, zero and huge amounts
    ({"items__1__quantity": True}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": 1.0}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": 0}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": -1}, "invalid_amount", "items[1].quantity"),
    ({"items__1__quantity": 10 ** 30}, "invalid_amount", "items[1].quantity"),
    ({"items__0__unit_price": False}, "invalid_amount", "items[0].unit_price"),
    ({"items__0__unit_price": 65.0}, "invalid_amount", "items[0].unit_price"),
    ({"items__0__unit_price": float("nan")}, "invalid_amount", "items[0].unit_price"),
    ({"items__0__unit_price": -65}, "invalid_amount", "items[0].unit_price"),
    ({"items__0__unit_price": 100_000_000}, "invalid_amount", "items[0].unit_price"),
    ({"total": "175"}, "invalid_amount", "total"),
    ({"total": 175.0}, "invalid_amount", "total"),
    ({"total": True}, "invalid_amount", "total"),
    ({"total": KeyError}, "invalid_amount", "total"),
    ({"total": 10 ** 20}, "invalid_amount", "total"),
    # total mismatch, including lines whose product overflows any real total
    ({"total": 176}, "total_mismatch", "total"),
    ({"total": 174}, "total_mismatch", "total"),
    ({"items__0__quantity": 1_000_000, "items__0__unit_price": 99_999_999}, "total_mismatch", "total"),
    # unknown fields
    ({"discount": 10}, "unknown_field", "discount"),
    ({"items__0__sku": "A1"}, "unknown_field", "items[0].sku"),
    # sale id
    ({"sale_id": ""}, "invalid_sale_id", "sale_id"),
    ({"sale_id": 123}, "invalid_sale_id", "sale_id"),
    ({"sale_id": "x" * 65}, "invalid_sale_id", "sale_id"),
    ({"sale_id": "a\tb"}, "invalid_sale_id", "sale_id"),
    ({"sale_id": KeyError}, "invalid_sale_id", "sale_id"),
    # buyer choices, each malformed
    ({"buyer_tax_id": "12345678"}, "invalid_tax_id", "buyer_tax_id"),
    ({"buyer_tax_id": 22099131}, "invalid_tax_id", "buyer_tax_id"),
    ({"buyer_tax_id": "00000000"}, "invalid_tax_id", "buyer_tax_id"),
    ({"carrier": "/ABC+123"}, "invalid_carrier", "carrier"),
    ({"carrier": {"type": "3J0002"}}, "invalid_carrier", "carrier"),
    ({"carrier": {"type": "3J0002", "id": "/ABC+123", "x": 1}}, "invalid_carrier", "carrier"),
    ({"carrier": {"type": "3J0003", "id": "/ABC+123"}}, "invalid_carrier", "carrier.type"),
    ({"carrier": {"type": "3J0002", "id": "/abc+123"}}, "invalid_carrier", "carrier.id"),
    ({"carrier": {"type": "CQ0001", "id": "/ABC+123"}}, "invalid_carrier", "carrier.id"),
    ({"carrier": {"type": "3J0002", "id": 1234567}}, "invalid_carrier", "carrier.id"),
    ({"donation_code": 88888}, "invalid_donation_code", "donation_code"),
    ({"donation_code": "12"}, "invalid_donation_code", "donation_code"),
    # conflicting buyer choices: the second one is named
    ({"buyer_tax_id": "22099131", "carrier": {"type": "3J0002", "id": "/ABC+123"}},
     "conflicting_buyer_data", "carrier"),
    ({"buyer_tax_id": "22099131", "donation_code": "88888"}, "conflicting_buyer_data", "donation_code"),
    ({"carrier": {"type": "CQ0001", "id": "AB12345678901234"}, "donation_code": "88888"},
     "conflicting_buyer_data", "donation_code"),
])
def test_parse_sale_errors_name_the_field(changes, code, field):
    with pytest.raises(ValidationError) as e:
        parse_sale(body(**changes))
    assert (e.value.code, e.value.field) == (code, field)
    assert e.value.as_dict() == {"code": code, "message": e.value.message, "field": field}
    assert e.value.message_zh


@pytest.mark.parametrize("raw", [None, [], "sale", 175])
def test_parse_sale_needs_an_object(raw):
    with pytest.raises(ValidationError) as e:
        parse_sale(raw)
    assert (e.value.code, e.value.field) == ("malformed", None)


def test_too_many_items():
    items = [{"name": "a", "quantity": 1, "unit_price": 1}] * 10_000
    with pytest.raises(ValidationError) as e:
        parse_sale(body(items=items, total=10_000))
    assert e.value.field == "items"
    assert parse_sale(body(items=items[:9999], total=9999)).total == 9999


@pytest.mark.parametrize("changes, expected", [
    ({"buyer_tax_id": "22099131"}, dict(buyer_tax_id="22099131")),
    ({"carrier": {"type": "3J0002", "id": "/ABC+123"}}, dict(carrier=Carrier("3J0002", "/ABC+123"))),
    ({"carrier": {"type": "CQ0001", "id": "AB12345678901234"}}, dict(carrier=Carrier("CQ0001", "AB12345678901234"))),
    ({"donation_code": "88888"}, dict(donation=Donation("88888"))),
])
def test_one_buyer_choice(changes, expected):
    sale = parse_sale(body(**changes))
    assert sale.has_buyer_choice
    assert {k: getattr(sale, k) for k in expected} == expected


def test_scanned_choice_fills_only_an_empty_sale():
    sale = parse_sale(BODY)
    assert sale.with_scanned(BuyerTaxId("22099131")).buyer_tax_id == "22099131"
    assert sale.with_scanned(Carrier("3J0002", "/ABC+123")).carrier == Carrier("3J0002", "/ABC+123")
    assert sale.with_scanned(Donation("88888")).donation == Donation("88888")
    assert sale.with_scanned(None) is sale
    chosen = parse_sale(body(donation_code="88888"))
    assert chosen.with_scanned(Carrier("3J0002", "/ABC+123")) is chosen


def test_check_buyer_choice_on_a_hand_made_sale():
    sale = Sale("s", (Item("a", 1, 1),), 1, carrier=Carrier("3J0002", "/ABC+123"), donation=Donation("888"))
    with pytest.raises(ValidationError) as e:
        check_buyer_choice(sale)
    assert e.value.code == "conflicting_buyer_data"


# ---------------------------------------------------------------- building the invoice
def test_build_invoice_needs_an_aware_time(seller):
    with pytest.raises(ValueError):
        build_invoice(parse_sale(BODY), InvoiceNumber.parse("AB12345678"), dt.datetime(2024, 9, 15, 14, 30),
                      "5829", seller)


def test_prints_proof_unless_carrier_or_donation(make_invoice):
    items = [("a", 1, 100)]
    assert make_invoice("AB00000001", "0001", items).prints_proof
    assert make_invoice("AB00000002", "0002", items, buyer_tax_id="22099131").prints_proof
    assert not make_invoice("AB00000003", "0003", items, carrier={"type": "3J0002", "id": "/ABC+123"}).prints_proof
    assert not make_invoice("AB00000004", "0004", items, donation_code="88888").prints_proof


@pytest.mark.parametrize("n, text", [(0, "0000"), (7, "0007"), (417, "0417"), (9999, "9999")])
def test_format_random_code(n, text):
    assert format_random_code(n) == text


@pytest.mark.parametrize("n", [-1, 10_000])
def test_format_random_code_range(n):
    with pytest.raises(ValueError):
        format_random_code(n)


# ---------------------------------------------------------------- the clock guard (§1.2, §8)
def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


SEP_OCT = Period.parse("11310")


def test_issue_time_ok():
    check_issue_time(at(2024, 9, 15, 14, 30), SEP_OCT, at(2024, 9, 15, 14, 29))
    check_issue_time(at(2024, 9, 15, 14, 30), SEP_OCT, None)
    check_issue_time(at(2024, 9, 15, 14, 30), SEP_OCT, at(2024, 9, 15, 14, 30))  # same second is fine
    check_issue_time(at(2024, 10, 31, 23, 59, 59), SEP_OCT, None)  # last second of the period


@pytest.mark.parametrize("now, period, last, code", [
    (at(2024, 9, 15, 14, 30), SEP_OCT, at(2024, 9, 15, 14, 31), "clock_behind_ledger"),
    (at(2024, 9, 15, 14, 30), SEP_OCT, at(2025, 1, 1, 0, 0), "clock_behind_ledger"),
    (at(2024, 11, 2, 9, 0), SEP_OCT, None, "wrong_period"),  # old numbers after the period ended
    (at(2024, 8, 31, 23, 59), SEP_OCT, None, "wrong_period"),  # next period's numbers too early
    (at(2024, 11, 1, 0, 0), Period.parse("11312"), None, "period_start_guard"),
    (at(2024, 11, 1, 0, 2, 59, 999999), Period.parse("11312"), None, "period_start_guard"),
    (at(2025, 1, 1, 0, 1), Period.parse("11402"), at(2024, 12, 31, 23, 59), "period_start_guard"),
])
def test_issue_time_refused(now, period, last, code):
    with pytest.raises(CannotIssue) as e:
        check_issue_time(now, period, last)
    assert e.value.code == code
    assert e.value.message_zh


@pytest.mark.parametrize("now", [at(2024, 11, 1, 0, 3), at(2025, 1, 1, 0, 3, 0, 1), at(2024, 11, 1, 9, 0)])
def test_from_0003_on_the_first_day_issuing_is_allowed(now):
    check_issue_time(now, Period.of(now.date()), at(2024, 10, 31, 23, 59))


def test_the_guard_only_applies_to_the_first_day_of_a_period():
    check_issue_time(at(2024, 10, 1, 0, 0), SEP_OCT, None)  # an even month's 1st is inside the period
    check_issue_time(at(2024, 9, 2, 0, 0), SEP_OCT, None)


def test_issue_time_needs_an_aware_clock():
    with pytest.raises(ValueError):
        check_issue_time(dt.datetime(2024, 9, 15, 14, 30), SEP_OCT, None)
