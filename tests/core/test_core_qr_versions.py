"""QR version forcing and item placement (reference §4.3–§4.4): both codes at one version, never below
V6, at most V9, every payload checked against a real QR encoder (segno) rather than the core's own
capacity table."""
import base64
import datetime as dt
import time

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from segno.encoder import DataOverflowError

from terminal.core import codes
from terminal.core.money import Item
from terminal.core.numbers import InvoiceNumber

KEY = "FE0F50D87215F625D1248F5FDAEBA37F"
HEAD = codes.qr_head(InvoiceNumber.parse("AB12345678"), dt.date(2024, 9, 15), "5829", 167, 175, None,
                     "04595257", codes.check_code(KEY, "AB12345678", "5829"))


def payload_bytes(text: str, encoding: int) -> bytes:
    return text.encode("cp950", errors="replace") if encoding == codes.ENCODING_BIG5 else text.encode("utf-8")


def fits(text: str, encoding: int, version: int) -> bool:
    try:
        # mask fixed: capacity does not depend on it and mask scoring is most of segno's time
        qr = segno.make_qr(payload_bytes(text, encoding), error="l", version=version, boost_error=False,
                           mode="byte", mask=0)
    except DataOverflowError:
        return False
    return qr.version == version


def assert_version_is_right(pair: codes.QrPair) -> None:
    """Both payloads fit the pair's version, which is ≥ V6 and ≤ V9, and no lower version ≥ V6 would do."""
    assert codes.MIN_QR_VERSION <= pair.version <= codes.MAX_QR_VERSION
    assert fits(pair.left, pair.encoding, pair.version) and fits(pair.right, pair.encoding, pair.version)
    if pair.encoding == codes.ENCODING_UTF8:  # the plain str call a renderer might make agrees
        for text in (pair.left, pair.right):
            qr = segno.make_qr(text, error="l", version=pair.version, boost_error=False, mask=0)
            assert qr.version == pair.version
    if pair.version > codes.MIN_QR_VERSION:
        larger = max(pair.left, pair.right, key=lambda t: len(payload_bytes(t, pair.encoding)))
        assert not fits(larger, pair.encoding, pair.version - 1)


def recorded_items(pair: codes.QrPair, head: str = HEAD) -> tuple[list[tuple[str, str, str]], int, int]:
    """Read the items, 'items in codes' and 'total items' back out of the two payloads."""
    assert pair.left.startswith(head + ":") and pair.right.startswith("**")
    custom, placed, total, encoding, rest = pair.left[len(head) + 1:].split(":", 4)
    assert (len(custom), int(encoding)) == (10, pair.encoding)
    if pair.encoding == codes.ENCODING_BASE64:
        stream = (base64.b64decode(rest) + base64.b64decode(pair.right[2:])).decode("utf-8")
    else:
        stream = rest + pair.right[2:]
    fields = stream.split(":") if stream else []
    assert len(fields) % 3 == 0
    return [tuple(fields[i:i + 3]) for i in range(0, len(fields), 3)], int(placed), int(total)


def expected_fields(items) -> list[tuple[str, str, str]]:
    return [(codes.qr_item_name(i.name), str(i.quantity), str(i.unit_price)) for i in items]


CASES = {
    "vector C": [Item("拿鐵咖啡", 2, 65), Item("可頌", 1, 45)],
    "one long name": [Item("水管除油酵素錠三罐" * 4, 1, 1380)],
    "eight lines": [Item(f"商品{n:02d}號", n, 10 * n) for n in range(1, 9)],
    "twenty ASCII lines": [Item(f"ITEM-{n}", 1, 99) for n in range(20)],
    "forty lines": [Item(f"便當{n}", 2, 120) for n in range(40)],
    "a name longer than a code": [Item("長" * 200, 1, 1), Item("b", 1, 1)],
}


@pytest.mark.parametrize("encoding", [codes.ENCODING_BIG5, codes.ENCODING_UTF8, codes.ENCODING_BASE64])
@pytest.mark.parametrize("case", list(CASES))
def test_version_forcing_against_segno(case, encoding):
    items = CASES[case]
    pair = codes.qr_pair(HEAD, items, encoding=encoding)
    assert_version_is_right(pair)
    got, placed, total = recorded_items(pair)
    assert (placed, total) == (pair.items_in_codes, len(items))
    assert got == expected_fields(items[:placed])


def test_short_payloads_are_forced_up_to_v6():
    pair = codes.qr_pair(HEAD, [Item("水", 1, 10)])
    assert fits(pair.left, 1, 5) and fits(pair.right, 1, 1)  # they would fit smaller codes
    assert pair.version == 6


def test_items_overflow_into_the_right_code():
    items = CASES["eight lines"]
    pair = codes.qr_pair(HEAD, items)
    assert pair.items_in_codes == 8
    left_items = pair.left.split(":", 5)[5]
    assert left_items.endswith(":") and pair.right != "**"
    # the left code holds a prefix of whole items, the right one the rest
    assert left_items[:-1].split(":")[::3] == [f"商品{n:02d}號" for n in range(1, left_items.count(":") // 3 + 1)]
    assert pair.right[2:].startswith("商品")


def test_items_beyond_v9_are_dropped_and_counted():
    items = CASES["forty lines"]
    pair = codes.qr_pair(HEAD, items)
    placed = pair.items_in_codes
    assert 0 < placed < 40 and pair.version == 9
    assert pair.left.startswith(HEAD + f":**********:{placed}:40:1:")
    # maximal: one more item fits no split at V9, even with the shorter total counter
    for k in range(1, placed + 2):
        with pytest.raises(ValueError):
            codes.qr_pair(HEAD, items[:placed + 1], left_items=k)


def test_a_smaller_maximum_version_records_fewer_items():
    items = CASES["forty lines"]
    at6 = codes.qr_pair(HEAD, items, max_version=6)
    assert at6.version == 6 and at6.items_in_codes < codes.qr_pair(HEAD, items).items_in_codes
    assert_version_is_right(at6)


def test_a_name_too_long_for_any_code_is_left_out_of_the_codes():
    pair = codes.qr_pair(HEAD, CASES["a name longer than a code"])
    assert pair.items_in_codes == 0
    assert pair.left == HEAD + ":**********:0:2:1:" and pair.right == "**"


@pytest.mark.parametrize("name, shown", [("A:B", "A：B"), ("1:2:3", "1：2：3"), ("a\nb", "a b")])
def test_field_separator_in_names_is_replaced(name, shown):
    pair = codes.qr_pair(HEAD, [Item(name, 1, 5)])
    assert pair.left.endswith(f":1:1:1:{shown}:1:5")
    assert recorded_items(pair)[0] == [(shown, "1", "5")]


def test_a_9999_item_invoice_is_handled_fast():
    items = [Item(f"商品{n}", 1, 1) for n in range(9999)]
    started = time.process_time()
    pair = codes.qr_pair(HEAD, items)
    elapsed = time.process_time() - started
    assert elapsed < 1.0, f"qr_pair took {elapsed:.2f} s CPU for 9,999 items"
    got, placed, total = recorded_items(pair)
    assert total == 9999 and placed == pair.items_in_codes and 0 < placed < 9999
    assert got == expected_fields(items[:placed])
    assert_version_is_right(pair)


# ---------------------------------------------------------------- properties
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=25)
items_lists = st.lists(st.builds(Item, names, st.integers(1, 1000), st.integers(0, 100_000)), min_size=1,
                       max_size=30)


@settings(max_examples=150, deadline=None)
@given(items_lists, st.sampled_from([codes.ENCODING_BIG5, codes.ENCODING_UTF8, codes.ENCODING_BASE64]))
def test_qr_pair_invariants(items, encoding):
    pair = codes.qr_pair(HEAD, items, encoding=encoding)
    assert_version_is_right(pair)
    got, placed, total = recorded_items(pair)
    assert (placed, total) == (pair.items_in_codes, len(items))
    assert got == expected_fields(items[:placed])
    lengths = pair.byte_lengths()
    assert pair.version == max(6, *(codes.qr_version_for(n) for n in lengths))


@pytest.mark.parametrize("vector", ["vector_c", "vector_d", "vector_e"])
def test_reference_vectors_print_at_v6(request, key, vector):
    """Appendix A says C's 113-byte and D's 129-byte left payloads "need V5": that is python-qrcode's
    mixed numeric/byte segments. In byte mode, which the capacity table and the renderer use, they need
    V6 already (V5 holds 106 bytes), so V6 is both the forced and the needed version."""
    pair = request.getfixturevalue(vector).qr_codes(key)
    assert pair.version == 6
    auto = segno.make_qr(payload_bytes(pair.left, pair.encoding), error="l", boost_error=False, mode="byte", mask=0)
    assert auto.version == 6
    assert_version_is_right(pair)
