"""Carriers (載具), donation codes (愛心碼) and buyer tax IDs, and the one classifier that turns a
scanned string into exactly one of them or a clear error.

Format-valid does not mean existing: an offline terminal accepts on format and the customer confirms
the code shown big on the OLED.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from .errors import ValidationError
from .taxid import validate_ban

MOBILE = "3J0002"
CITIZEN = "CQ0001"
CARRIER_TYPES = (MOBILE, CITIZEN)

# Matched in full and ASCII only: "$" would let a trailing newline through and \d non-ASCII digits.
_MOBILE_RE = re.compile(r"/[0-9A-Z.+\-]{7}", re.ASCII)
_CITIZEN_RE = re.compile(r"[A-Z]{2}[0-9]{14}", re.ASCII)
_DONATION_RE = re.compile(r"[0-9]{3,7}", re.ASCII)


@dataclass(frozen=True)
class Carrier:
    type: str  # 3J0002 mobile barcode, CQ0001 citizen certificate
    id: str

    @property
    def kind_zh(self) -> str:
        return "手機條碼" if self.type == MOBILE else "自然人憑證"


@dataclass(frozen=True)
class Donation:
    code: str  # 愛心碼 / NPOBAN


@dataclass(frozen=True)
class BuyerTaxId:
    ban: str


BuyerChoice = Union[Carrier, Donation, BuyerTaxId]


def _reject(message: str, zh: str, field: str | None) -> ValidationError:
    return ValidationError(message, code="invalid_carrier", message_zh=zh, field=field)


def validate_carrier(carrier_type: str, carrier_id: str, *, field: str = "carrier") -> Carrier:
    if carrier_type == MOBILE:
        if not isinstance(carrier_id, str) or not _MOBILE_RE.fullmatch(carrier_id):
            hint = ""
            if isinstance(carrier_id, str) and _MOBILE_RE.fullmatch(carrier_id.upper()):
                hint = " (lowercase letters: set the scanner to standard Code 39, not Full ASCII)"
            raise _reject(f"mobile barcode {carrier_id!r} must be '/' followed by 7 of 0-9 A-Z . - +{hint}",
                          "手機條碼格式錯誤", f"{field}.id")
        return Carrier(MOBILE, carrier_id)
    if carrier_type == CITIZEN:
        if not isinstance(carrier_id, str) or not _CITIZEN_RE.fullmatch(carrier_id):
            raise _reject(f"citizen certificate carrier {carrier_id!r} must be 2 uppercase letters + 14 digits",
                          "自然人憑證條碼格式錯誤", f"{field}.id")
        return Carrier(CITIZEN, carrier_id)
    raise _reject(f"unknown carrier type {carrier_type!r}: expected 3J0002 or CQ0001", "載具類別錯誤",
                  f"{field}.type")


def validate_donation(code: str, *, field: str = "donation_code") -> Donation:
    if not isinstance(code, str) or not _DONATION_RE.fullmatch(code):
        raise ValidationError(f"donation code {code!r} must be 3 to 7 digits", code="invalid_donation_code",
                              message_zh="愛心碼須為3至7位數字", field=field)
    return Donation(code)


def classify_scan(raw: str) -> BuyerChoice:
    """Classify one scanned code. Surrounding whitespace/CR/LF is ignored; anything else must match
    exactly one format, else ValidationError with code ``unrecognised_scan`` or the format's code."""
    if not isinstance(raw, str):
        raise ValidationError("scan is not text", code="unrecognised_scan", message_zh="無法辨識的條碼")
    text = raw.strip()
    if not text:
        raise ValidationError("empty scan", code="unrecognised_scan", message_zh="條碼是空的")
    if not text.isascii() or not text.isprintable():
        raise ValidationError(f"scan {text!r} contains characters no carrier uses", code="unrecognised_scan",
                              message_zh="無法辨識的條碼")
    if text.startswith("/"):
        return validate_carrier(MOBILE, text, field="scan")
    if len(text) == 16 and text[:2].isalpha():
        return validate_carrier(CITIZEN, text, field="scan")
    if text.isdigit():
        if len(text) == 8:
            return BuyerTaxId(validate_ban(text, field="scan"))
        if 3 <= len(text) <= 7:
            return Donation(text)
    raise ValidationError(f"scan {text!r} is not a mobile barcode, citizen certificate, donation code "
                          "or tax ID", code="unrecognised_scan", message_zh="無法辨識的條碼")
