"""The proof's codes: Code 39 text, the AES check code, the 77-char QR head and the left/right QR
payloads, against every published and computed vector in the reference (§4.4–§4.7, Appendix A)."""
import base64
import datetime as dt

import pytest

from terminal.core import codes
from terminal.core.money import Item, split_tax
from terminal.core.numbers import InvoiceNumber
from terminal.core.period import Period

KEY_A = "FE0F50D87215F625D1248F5FDAEBA37F"  # calvertyang README
KEY_B = "FE05F029154F6AA67A78B338ED2F6601"  # ho600, MOF genKey of passphrase 24634102


# ---------------------------------------------------------------- §4.6 AES check code
@pytest.mark.parametrize("key, number, random_code, expected", [
    (KEY_A, "AA12345678", "1234", "73UqXrAk5DsVNv2VEvIFkQ=="),
    (KEY_B, "XF00001234", "9876", "CamotDNRUN8bVyY5S1BhFQ=="),
    (KEY_A, "AB12345678", "5829", "08r5MIfzJbFNxKEpVUDCMg=="),  # vector C
    (KEY_A, "AB12345679", "0417", "7c0cDujW2RfsGkUmO5TiiA=="),  # vector D
    (KEY_A, "AB12345680", "7301", "zfIRg30UAgtZpm7udUOXhw=="),  # vector E
])
def test_check_code_vectors(key, number, random_code, expected):
    assert codes.check_code(key, number, random_code) == expected
    assert codes.check_code(key.lower(), InvoiceNumber.parse(number), random_code) == expected
    assert codes.verify_check_code(key, expected) == number + random_code


def test_check_code_iv_is_the_spec_iv():
    assert codes.QR_IV.hex() == "0edf25c93a28d7b5ff5e45da42f8a1b8"


@pytest.mark.parametrize("key", ["FE0F50D87215F625D1248F5FDAEBA3", "FE0F50D87215F625D1248F5FDAEBA37F00", ""])
def test_check_code_needs_a_128_bit_key(key):
    with pytest.raises(ValueError):
        codes.check_code(key, "AA12345678", "1234")


def test_verify_check_code_with_the_wrong_key_fails():
    with pytest.raises(ValueError):
        codes.verify_check_code(KEY_B, "73UqXrAk5DsVNv2VEvIFkQ==")


# ---------------------------------------------------------------- §4.4 head, §4.2 barcode
def test_calvertyang_77_char_head():
    head = codes.qr_head(InvoiceNumber.parse("AA12345678"), dt.date(2015, 5, 11), "1234", 100, 100, None,
                         "00000000", codes.check_code(KEY_A, "AA12345678", "1234"))
    assert head == "AA12345678104051112340000006400000064000000000000000073UqXrAk5DsVNv2VEvIFkQ=="
    assert len(head) == 77


def test_head_fields_at_their_offsets_with_lowercase_hex():
    head = codes.qr_head(InvoiceNumber.parse("AB12345679"), dt.date(2024, 9, 15), "0417", 1314, 1380,
                         "22099131", "04595257", "7c0cDujW2RfsGkUmO5TiiA==")
    assert [head[a:b] for a, b in [(0, 10), (10, 17), (17, 21), (21, 29), (29, 37), (37, 45), (45, 53), (53, 77)]] == [
        "AB12345679", "1130915", "0417", "00000522", "00000564", "22099131", "04595257", "7c0cDujW2RfsGkUmO5TiiA=="]
    assert codes.qr_head(InvoiceNumber.parse("AB12345678"), dt.date(2024, 9, 15), "5829", 167, 175, None,
                         "04595257", "x")[21:37] == "000000a7000000af"


def test_barcode_of_the_spec_example():
    assert codes.barcode_text(Period.parse("10404"), InvoiceNumber.parse("UZ17690872"), "0122") == \
        "10404UZ176908720122"


# ---------------------------------------------------------------- §4.7 vectors C, D, E
C_HEAD = "AB1234567811309155829000000a7000000af000000000459525708r5MIfzJbFNxKEpVUDCMg=="


def test_vector_c(vector_c, key):
    assert (vector_c.total, vector_c.sales_amount, vector_c.tax_amount) == (175, 167, 8)
    assert vector_c.period.label == "113年09-10月"
    assert vector_c.number.printed == "AB-12345678"
    assert vector_c.barcode == "11310AB123456785829"
    assert len(vector_c.barcode) == 19
    pair = vector_c.qr_codes(key)
    assert pair.left == C_HEAD + ":**********:2:2:1:拿鐵咖啡:2:65:"
    assert pair.right == "**可頌:1:45"
    assert (pair.version, pair.items_in_codes, pair.encoding) == (6, 2, codes.ENCODING_UTF8)
    assert pair.byte_lengths() == (113, 13)  # reference: left 113 UTF-8 bytes → needs V5 → forced V6


def test_vector_c_with_all_items_in_the_left_code(vector_c):
    head = codes.qr_head(vector_c.number, vector_c.issued_at.date(), "5829", 167, 175, None, "04595257",
                         "08r5MIfzJbFNxKEpVUDCMg==")
    assert head == C_HEAD
    pair = codes.qr_pair(head, vector_c.items, left_items=2)
    assert pair.left == C_HEAD + ":**********:2:2:1:拿鐵咖啡:2:65:可頌:1:45"
    assert pair.right == "**"
    assert (pair.version, pair.items_in_codes) == (6, 2)


def test_vector_d(vector_d, key):
    assert (vector_d.total, vector_d.sales_amount, vector_d.tax_amount) == (1380, 1314, 66)
    assert vector_d.barcode == "11310AB123456790417"
    pair = vector_d.qr_codes(key)
    assert pair.left == ("AB1234567911309150417000005220000056422099131045952577c0cDujW2RfsGkUmO5TiiA=="
                         ":**********:1:1:1:水管除油酵素錠三罐:1:1380")
    assert pair.right == "**"
    assert pair.version == 6 and pair.byte_lengths()[0] == 129


def test_vector_e(vector_e, key):
    assert vector_e.barcode == "11310AB123456807301"
    assert not vector_e.prints_proof
    assert vector_e.qr_codes(key).left[53:77] == "zfIRg30UAgtZpm7udUOXhw=="


def test_consumer_tax_may_be_left_unsplit(make_invoice, key):
    inv = make_invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)], split=False)
    assert (inv.sales_amount, inv.tax_amount) == (175, 0)
    assert inv.qr_codes(key).left[21:37] == "000000af000000af"
    # with a buyer tax ID the split is mandatory whatever the option says
    inv = make_invoice("AB12345679", "0417", [("x", 1, 1380)], buyer_tax_id="22099131", split=False)
    assert (inv.sales_amount, inv.tax_amount) == (1314, 66)


# ---------------------------------------------------------------- §4.5 the spec's example strings
SPEC_ITEMS = [Item("乾電池", 1, 105), Item("口罩", 1, 210), Item("牛奶", 1, 25)]
SPEC_HEAD_TEXT = "AB112233441020523999900000144000001540000000001234567ydXZt4LAN1UHN/j1juVcRA=="


@pytest.fixture
def spec_head():
    sales, tax = split_tax(340)
    assert (sales, tax) == (324, 16)
    head = codes.qr_head(InvoiceNumber.parse("AB11223344"), dt.date(2013, 5, 23), "9999", sales, 340, None,
                         "01234567", check="ydXZt4LAN1UHN/j1juVcRA==")
    assert head == SPEC_HEAD_TEXT
    return head


@pytest.mark.parametrize("encoding, left", [
    (codes.ENCODING_BIG5, SPEC_HEAD_TEXT + ":**********:3:3:0:乾電池:1:105:"),
    (codes.ENCODING_UTF8, SPEC_HEAD_TEXT + ":**********:3:3:1:乾電池:1:105:"),
])
def test_spec_example_big5_and_utf8(spec_head, encoding, left):
    pair = codes.qr_pair(spec_head, SPEC_ITEMS, encoding=encoding)
    assert (pair.left, pair.right) == (left, "**口罩:1:210:牛奶:1:25")
    assert (pair.version, pair.items_in_codes, pair.encoding) == (6, 3, encoding)
    encoded = left.encode("cp950") if encoding == codes.ENCODING_BIG5 else left.encode("utf-8")
    assert pair.byte_lengths()[0] == len(encoded)


def test_spec_example_base64(spec_head):
    stream = "乾電池:1:105:口罩:1:210:牛奶:1:25"
    cut = len("乾電池".encode("utf-8"))  # the spec cuts right after the first name
    left, right = codes.qr_base64_split(spec_head, stream, cut, placed=3, total_items=3)
    assert left == SPEC_HEAD_TEXT + ":**********:3:3:2:5Lm+6Zu75rGg"
    assert right == "**OjE6MTA1OuWPo+e9qToxOjIxMDrniZvlpbY6MToyNQ=="
    assert base64.b64decode(right[2:]).decode("utf-8") == ":1:105:口罩:1:210:牛奶:1:25"


def test_qr_pair_in_base64_mode_cuts_between_items_and_decodes_back(spec_head):
    pair = codes.qr_pair(spec_head, SPEC_ITEMS, encoding=codes.ENCODING_BASE64)
    prefix = SPEC_HEAD_TEXT + ":**********:3:3:2:"
    assert pair.left.startswith(prefix) and pair.right.startswith("**")
    chunks = [base64.b64decode(pair.left[len(prefix):]), base64.b64decode(pair.right[2:])]
    assert chunks[0].decode("utf-8") == "乾電池:1:105"
    assert b"".join(chunks).decode("utf-8") == "乾電池:1:105:口罩:1:210:牛奶:1:25"
    assert pair.byte_lengths() == (len(pair.left), len(pair.right))


def test_custom_area_is_ten_characters(spec_head):
    pair = codes.qr_pair(spec_head, SPEC_ITEMS, custom_area="0123456789")
    assert pair.left.startswith(SPEC_HEAD_TEXT + ":0123456789:3:3:1:")
    with pytest.raises(ValueError):
        codes.qr_pair(spec_head, SPEC_ITEMS, custom_area="**")


@pytest.mark.parametrize("left_items", [0, 4, -1])
def test_forced_split_must_be_possible(spec_head, left_items):
    with pytest.raises(ValueError):
        codes.qr_pair(spec_head, SPEC_ITEMS, left_items=left_items)
