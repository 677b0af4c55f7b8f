"""統一編號 (business tax ID, BAN) validation with the 2023 checksum rule.

Since 2023-04-01 a BAN is valid when the weighted digit sum is divisible by 5 (previously 10); new BANs
valid only under the new rule are being issued, so the legacy rule must not be used for buyers.
"""
from __future__ import annotations

from .errors import ValidationError

_WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
NO_BUYER = "00000000"


def ban_checksum_ok(ban: str, divisor: int = 5) -> bool:
    """Checksum only (``divisor=10`` is the pre-2023 rule); no other rules applied."""
    if not (isinstance(ban, str) and len(ban) == 8 and ban.isascii() and ban.isdigit()):
        return False
    total = sum(divmod(int(c) * w, 10)[0] + divmod(int(c) * w, 10)[1] for c, w in zip(ban, _WEIGHTS))
    return total % divisor == 0 or (ban[6] == "7" and (total + 1) % divisor == 0)


def validate_ban(ban: str, *, field: str = "buyer_tax_id") -> str:
    """Return the BAN if it is a valid buyer/seller 統一編號, else raise ValidationError."""
    if not (isinstance(ban, str) and len(ban) == 8 and ban.isascii() and ban.isdigit()):
        raise ValidationError(f"tax ID {ban!r} must be exactly 8 digits", code="invalid_tax_id",
                              message_zh="統一編號須為8位數字", field=field)
    if ban == NO_BUYER:
        raise ValidationError("tax ID 00000000 is not a real tax ID", code="invalid_tax_id",
                              message_zh="統一編號無效", field=field)
    if not ban_checksum_ok(ban):
        raise ValidationError(f"tax ID {ban} fails the check-digit rule", code="invalid_tax_id",
                              message_zh="統一編號檢查碼錯誤", field=field)
    return ban
