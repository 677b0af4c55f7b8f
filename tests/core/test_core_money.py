"""The 5 % split of tax-inclusive totals and item lines (reference §5.8, Appendix A)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.core.errors import ValidationError
from terminal.core.money import MAX_TOTAL, Item, make_item, split_tax, validate_lines


@pytest.mark.parametrize("total, sales, tax", [
    (1380, 1314, 66), (340, 324, 16), (175, 167, 8), (100, 95, 5), (55, 52, 3), (45, 43, 2),
    (30, 29, 1), (21, 20, 1), (11, 10, 1), (10, 10, 0), (1, 1, 0),
])
def test_split_tax_vectors(total, sales, tax):
    assert split_tax(total) == (sales, tax)


@settings(max_examples=300)
@given(st.integers(1, MAX_TOTAL))
def test_split_tax_is_round_total_over_1_05(total):
    sales, tax = split_tax(total)
    assert sales + tax == total and tax >= 0
    # never a tie at 5 %: total*20/21 has a fractional part k/21, so nearest is unambiguous
    assert abs(Decimal(total) * 20 / 21 - sales) < Decimal("0.5")


def test_make_item_strips_the_name_and_computes_the_amount():
    item = make_item("  拿鐵咖啡 ", 2, 65)
    assert item == Item("拿鐵咖啡", 2, 65) and item.amount == 130


@pytest.mark.parametrize("name, quantity, price, field, code", [
    ("", 1, 1, "items[3].name", "invalid_item"),
    ("   ", 1, 1, "items[3].name", "invalid_item"),
    (None, 1, 1, "items[3].name", "invalid_item"),
    ("a\nb", 1, 1, "items[3].name", "invalid_item"),
    ("x" * 501, 1, 1, "items[3].name", "invalid_item"),
    ("a", 0, 1, "items[3].quantity", "invalid_amount"),
    ("a", -1, 1, "items[3].quantity", "invalid_amount"),
    ("a", 1_000_001, 1, "items[3].quantity", "invalid_amount"),
    ("a", True, 1, "items[3].quantity", "invalid_amount"),
    ("a", 1.0, 1, "items[3].quantity", "invalid_amount"),
    ("a", "1", 1, "items[3].quantity", "invalid_amount"),
    ("a", 1, -1, "items[3].unit_price", "invalid_amount"),
    ("a", 1, MAX_TOTAL + 1, "items[3].unit_price", "invalid_amount"),
    ("a", 1, 10 ** 40, "items[3].unit_price", "invalid_amount"),
    ("a", 1, 65.5, "items[3].unit_price", "invalid_amount"),
    ("a", 1, False, "items[3].unit_price", "invalid_amount"),
    ("a", 1, None, "items[3].unit_price", "invalid_amount"),
])
def test_make_item_rejects(name, quantity, price, field, code):
    with pytest.raises(ValidationError) as e:
        make_item(name, quantity, price, index=3)
    assert (e.value.field, e.value.code) == (field, code)


def test_validate_lines():
    items = [Item("a", 2, 65), Item("b", 1, 45)]
    assert validate_lines(items, 175) == 175
    for total, code in [(176, "total_mismatch"), (0, "invalid_amount"), (-175, "invalid_amount"),
                        (175.0, "invalid_amount"), (True, "invalid_amount"), (MAX_TOTAL + 1, "invalid_amount")]:
        with pytest.raises(ValidationError) as e:
            validate_lines(items, total)
        assert (e.value.code, e.value.field) == (code, "total")
    with pytest.raises(ValidationError) as e:
        validate_lines([], 1)
    assert e.value.field == "items"
    with pytest.raises(ValidationError) as e:
        validate_lines([Item("a", 1, 1)] * 10_000, 10_000)
    assert e.value.field == "items"
    # a free line is allowed, a zero invoice is not
    assert validate_lines([Item("a", 1, 0), Item("b", 1, 5)], 5) == 5
    with pytest.raises(ValidationError):
        validate_lines([Item("a", 1, 0)], 0)
