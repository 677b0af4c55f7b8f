"""Carriers (載具), donation codes (愛心碼), buyer tax IDs and the scan classifier (reference §2.1, §3)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.core.carriers import (CITIZEN, MOBILE, BuyerTaxId, Carrier, Donation, classify_scan,
                                    validate_carrier, validate_donation)
from terminal.core.errors import ValidationError
from terminal.core.taxid import ban_checksum_ok, validate_ban

# ---------------------------------------------------------------- §2.1 vectors
MOBILE_OK = ["/ABC+123", "/-F-K0PR", "/4WDMPUZ", "/AB.C-+1"]
MOBILE_BAD = ["ABC1234", "/abc1234", "/ABC123", "/ABC12345", "/AB_1234", "/AB 1234",
              "/AB,1234", "/ABC+12\n", "/ABＣ+123", "/ABC+12٣", "", "/"]
CITIZEN_OK = ["AB12345678901234"]
CITIZEN_BAD = ["ab12345678901234", "A123456789012345", "AB1234567890123", "AB123456789012345",
               "AB1234567890123٤", "AB12345678901234\n"]
LOVE_OK = ["88888", "6789", "168001", "123", "1234567"]
LOVE_BAD = ["12", "12345678", "12a4", "٨٨٨٨٨", "88888\n", "", 88888]


@pytest.mark.parametrize("code", MOBILE_OK)
def test_mobile_barcode_ok(code):
    assert validate_carrier(MOBILE, code) == Carrier(MOBILE, code)
    assert classify_scan(code) == Carrier(MOBILE, code)
    assert Carrier(MOBILE, code).kind_zh == "手機條碼"


@pytest.mark.parametrize("code", MOBILE_BAD)
def test_mobile_barcode_rejected(code):
    with pytest.raises(ValidationError) as e:
        validate_carrier(MOBILE, code, field="carrier")
    assert (e.value.code, e.value.field) == ("invalid_carrier", "carrier.id")
    assert e.value.message_zh == "手機條碼格式錯誤"


def test_lowercase_mobile_barcode_hints_at_the_scanner_setting():
    with pytest.raises(ValidationError) as e:
        classify_scan("/abc1234")
    assert e.value.code == "invalid_carrier"
    assert "Full ASCII" in e.value.message


@pytest.mark.parametrize("code", CITIZEN_OK)
def test_citizen_certificate_ok(code):
    assert validate_carrier(CITIZEN, code) == Carrier(CITIZEN, code)
    assert classify_scan(code) == Carrier(CITIZEN, code)
    assert Carrier(CITIZEN, code).kind_zh == "自然人憑證"


@pytest.mark.parametrize("code", CITIZEN_BAD)
def test_citizen_certificate_rejected(code):
    with pytest.raises(ValidationError) as e:
        validate_carrier(CITIZEN, code)
    assert (e.value.code, e.value.field) == ("invalid_carrier", "carrier.id")


@pytest.mark.parametrize("carrier_type", ["EJ0113", "3j0002", "", None])
def test_unknown_carrier_type(carrier_type):
    with pytest.raises(ValidationError) as e:
        validate_carrier(carrier_type, "/ABC+123")
    assert (e.value.code, e.value.field) == ("invalid_carrier", "carrier.type")


@pytest.mark.parametrize("code", LOVE_OK)
def test_love_code_ok(code):
    assert validate_donation(code) == Donation(code)
    assert classify_scan(code) == Donation(code)


@pytest.mark.parametrize("code", LOVE_BAD)
def test_love_code_rejected(code):
    with pytest.raises(ValidationError) as e:
        validate_donation(code)
    assert (e.value.code, e.value.field) == ("invalid_donation_code", "donation_code")


# ---------------------------------------------------------------- §3 BAN table
@pytest.mark.parametrize("ban, new_rule, legacy", [
    ("04595257", True, True),
    ("10458575", True, True),   # 7th digit 7, Z=30 directly
    ("10458574", True, True),   # 7th digit 7, only through Z+1
    ("22099131", True, True),
    ("04595252", True, False),  # only under the 2023 rule
    ("12458576", True, False),  # 7th digit 7, only under the 2023 rule
    ("04595253", False, False),
    ("10458576", False, False),  # 7th digit 7, neither Z nor Z+1
    ("12345678", False, False),
    ("00000000", True, True),   # passes the checksum; rejected explicitly by validate_ban
    ("1234567", False, False),
    ("A1234567", False, False),
    ("123456789", False, False),
    ("１２３４５６７８", False, False),
])
def test_ban_checksum(ban, new_rule, legacy):
    assert ban_checksum_ok(ban) is new_rule
    assert ban_checksum_ok(ban, divisor=10) is legacy


@pytest.mark.parametrize("ban", ["04595257", "10458575", "10458574", "22099131", "04595252", "12458576"])
def test_validate_ban_accepts_every_valid_row(ban):
    assert validate_ban(ban) == ban
    assert classify_scan(ban) == BuyerTaxId(ban)


@pytest.mark.parametrize("ban, zh", [
    ("00000000", "統一編號無效"),
    ("04595253", "統一編號檢查碼錯誤"),
    ("10458576", "統一編號檢查碼錯誤"),
    ("12345678", "統一編號檢查碼錯誤"),
    ("1234567", "統一編號須為8位數字"),
    ("A1234567", "統一編號須為8位數字"),
    ("22099131 ", "統一編號須為8位數字"),
    (22099131, "統一編號須為8位數字"),
    (None, "統一編號須為8位數字"),
])
def test_validate_ban_rejects(ban, zh):
    with pytest.raises(ValidationError) as e:
        validate_ban(ban, field="buyer_tax_id")
    assert (e.value.code, e.value.field, e.value.message_zh) == ("invalid_tax_id", "buyer_tax_id", zh)


def test_ban_checksum_rejects_other_types():
    assert ban_checksum_ok(4595257) is False
    assert ban_checksum_ok(None) is False


# ---------------------------------------------------------------- classify_scan
@pytest.mark.parametrize("raw, expected", [
    ("/ABC+123\r\n", Carrier(MOBILE, "/ABC+123")),
    ("\t/ABC+123 ", Carrier(MOBILE, "/ABC+123")),
    ("\n AB12345678901234\r", Carrier(CITIZEN, "AB12345678901234")),
    ("88888\n", Donation("88888")),
    ("\r\n22099131\r\n", BuyerTaxId("22099131")),
])
def test_classify_scan_strips_whitespace_and_line_ends(raw, expected):
    assert classify_scan(raw) == expected


@pytest.mark.parametrize("raw, code", [
    ("", "unrecognised_scan"),
    (" \r\n\t", "unrecognised_scan"),
    ("12", "unrecognised_scan"),            # too short for a love code
    ("123456789", "unrecognised_scan"),     # longer than a tax ID
    ("ABC", "unrecognised_scan"),
    ("12a4", "unrecognised_scan"),
    ("1,234", "unrecognised_scan"),
    ("AB12345678", "unrecognised_scan"),    # an invoice number is not a buyer choice
    ("乾電池", "unrecognised_scan"),
    ("/ABC+１２３", "unrecognised_scan"),    # full-width digits: non-ASCII
    ("/ABC\x00123", "unrecognised_scan"),
    ("/AB\r\n1234", "unrecognised_scan"),   # a line break inside a scan
    (None, "unrecognised_scan"),
    (b"/ABC+123", "unrecognised_scan"),
    ("/abc1234", "invalid_carrier"),        # lowercase: Full-ASCII scanner
    ("/ABC,123", "invalid_carrier"),
    ("/ABC123", "invalid_carrier"),         # 6 after the slash
    ("/ABC12345", "invalid_carrier"),       # 8 after the slash
    ("/AB 1234", "invalid_carrier"),
    ("ab12345678901234", "invalid_carrier"),
    ("AB1234567890123X", "invalid_carrier"),
    ("12345678", "invalid_tax_id"),
    ("00000000", "invalid_tax_id"),
])
def test_classify_scan_errors_have_a_useful_code(raw, code):
    with pytest.raises(ValidationError) as e:
        classify_scan(raw)
    assert e.value.code == code
    assert e.value.message and e.value.message_zh


# ---------------------------------------------------------------- properties
MOBILE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
blank = st.text(" \t\r\n", max_size=3)


def _z(digits: str) -> int:
    return sum(sum(divmod(int(c) * w, 10)) for c, w in zip(digits, WEIGHTS))


@st.composite
def valid_bans(draw):
    """A seven-digit prefix plus a last digit chosen by the 2023 rule, written independently of the core."""
    prefix = draw(st.text(DIGITS, min_size=7, max_size=7))
    candidates = [d for d in DIGITS if _z(prefix + d) % 5 == 0
                  or (prefix[6] == "7" and (_z(prefix + d) + 1) % 5 == 0)]
    ban = prefix + draw(st.sampled_from(candidates))
    return ban


mobiles = st.text(MOBILE_CHARS, min_size=7, max_size=7).map(lambda s: "/" + s)
citizens = st.builds(str.__add__, st.text(UPPER, min_size=2, max_size=2), st.text(DIGITS, min_size=14, max_size=14))
loves = st.text(DIGITS, min_size=3, max_size=7)


@settings(max_examples=500)
@given(st.one_of(st.text(), st.text(MOBILE_CHARS + "/ ,\r\n\t" + UPPER.lower(), max_size=20),
                 st.text(DIGITS, max_size=20), st.binary(max_size=10), st.none(), st.integers()))
def test_classify_scan_only_ever_raises_validation_error(raw):
    try:
        result = classify_scan(raw)
    except ValidationError as exc:
        assert exc.code in {"unrecognised_scan", "invalid_carrier", "invalid_tax_id"}
        return
    assert type(result) in (Carrier, Donation, BuyerTaxId)


@settings(max_examples=300)
@given(mobiles, blank, blank)
def test_every_valid_mobile_barcode_is_a_mobile_carrier(code, before, after):
    assert classify_scan(before + code + after) == Carrier(MOBILE, code)


@settings(max_examples=300)
@given(citizens, blank, blank)
def test_every_valid_citizen_certificate_is_a_citizen_carrier(code, before, after):
    assert classify_scan(before + code + after) == Carrier(CITIZEN, code)


@settings(max_examples=300)
@given(loves, blank, blank)
def test_every_valid_love_code_is_a_donation(code, before, after):
    assert classify_scan(before + code + after) == Donation(code)


@settings(max_examples=300)
@given(valid_bans().filter(lambda b: b != "00000000"), blank, blank)
def test_every_valid_tax_id_is_a_buyer_tax_id(ban, before, after):
    assert ban_checksum_ok(ban)
    assert classify_scan(before + ban + after) == BuyerTaxId(ban)


@settings(max_examples=300)
@given(st.text(DIGITS, min_size=8, max_size=8))
def test_ban_rule_matches_an_independent_implementation(ban):
    z = _z(ban)
    for divisor in (5, 10):
        expected = z % divisor == 0 or (ban[6] == "7" and (z + 1) % divisor == 0)
        assert ban_checksum_ok(ban, divisor) is expected
    # every legacy-valid BAN stays valid under the new rule
    assert not ban_checksum_ok(ban, 10) or ban_checksum_ok(ban)
