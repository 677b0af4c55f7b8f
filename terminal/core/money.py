"""Amounts: integer NT$, tax-inclusive B2C prices, the 5 % tax split, and item lines."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import ValidationError

TAX_RATE = Decimal("0.05")
MAX_TOTAL = 99_999_999  # 8 hex digits in the QR would allow more; MIG and common sense do not
MAX_ITEMS = 9999  # MIG ProductItem 1..9999
MAX_NAME_LEN = 500  # MIG Description ≤ 500
MAX_QUANTITY = 1_000_000


def split_tax(total: int) -> tuple[int, int]:
    """Split a tax-inclusive total into (sales, tax) at 5 %: sales = round(total / 1.05)."""
    sales = int((Decimal(total) / (1 + TAX_RATE)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return sales, total - sales


@dataclass(frozen=True)
class Item:
    name: str
    quantity: int
    unit_price: int  # tax-inclusive NT$

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


def _int_field(value, field: str, lo: int, hi: int) -> int:
    # bool is an int subclass; JSON true must not become a quantity of 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer", code="invalid_amount", field=field,
                              message_zh="金額須為整數")
    if not lo <= value <= hi:
        raise ValidationError(f"{field} must be between {lo} and {hi}, got {value}", code="invalid_amount",
                              field=field, message_zh="金額超出範圍")
    return value


def make_item(name, quantity, unit_price, *, index: int = 0) -> Item:
    base = f"items[{index}]"
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{base}.name must be a non-empty string", code="invalid_item",
                              field=f"{base}.name", message_zh="品名不可空白")
    if len(name) > MAX_NAME_LEN or not name.isprintable():
        raise ValidationError(f"{base}.name must be at most {MAX_NAME_LEN} printable characters",
                              code="invalid_item", field=f"{base}.name", message_zh="品名格式錯誤")
    q = _int_field(quantity, f"{base}.quantity", 1, MAX_QUANTITY)
    p = _int_field(unit_price, f"{base}.unit_price", 0, MAX_TOTAL)
    return Item(name.strip(), q, p)


def validate_lines(items: list[Item], total) -> int:
    """Check the sale's lines and total: 1..9999 lines, total = sum of lines, 0 < total ≤ MAX_TOTAL."""
    if not items:
        raise ValidationError("a sale needs at least one item", code="invalid_item", field="items",
                              message_zh="沒有品項")
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"at most {MAX_ITEMS} items per invoice", code="invalid_item", field="items",
                              message_zh="品項過多")
    total = _int_field(total, "total", 1, MAX_TOTAL)
    line_sum = sum(i.amount for i in items)
    if line_sum != total:
        raise ValidationError(f"total {total} does not equal the sum of the lines ({line_sum})",
                              code="total_mismatch", field="total", message_zh="總計與品項金額不符")
    return total
