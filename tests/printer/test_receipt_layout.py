"""The printer-independent layout in terminal.core.receipt: field order, marks and which slips."""
import dataclasses

import pytest
from printer_cases import KEY, long_business, make_invoice, vector_c, vector_d

from terminal.core.carriers import Carrier, Donation
from terminal.core.receipt import (Barcode39, Columns, Cut, Feed, Logo, QrCodes, Receipt, Rule, Text,
                                   detail_slip_layout, proof_layout)


def test_vector_c_proof_is_the_spec_field_order():
    inv = vector_c()
    qr = inv.qr_codes(KEY)
    r = proof_layout(inv, qr, store_name="範例咖啡", reprint=False, footer="退換貨須憑電子發票證明聯正本辦理")
    assert r.key == "AB12345678" and r.kind == "proof"
    assert r.ops == (
        Text("範例咖啡", bold=True, align="center"),
        Text("電子發票證明聯", bold=True, align="center", tall=True),
        Text("113年09-10月", size=2, bold=True, align="center"),
        Text("AB-12345678", size=2, bold=True, align="center"),
        Columns("2024-09-15 14:30:05", ""),
        Columns("隨機碼 5829", "總計 175"),
        Columns("賣方 04595257", ""),
        Barcode39("11310AB123456785829"),
        QrCodes("AB1234567811309155829000000a7000000af000000000459525708r5MIfzJbFNxKEpVUDCMg==:**********:"
                "2:2:1:拿鐵咖啡:2:65:", "**可頌:1:45", 6),
        Text("退換貨須憑電子發票證明聯正本辦理", align="center"),
        Cut(),
    )


def test_vector_d_buyer_gets_format_25_split_tax_and_details_without_a_cut():
    inv = vector_d()
    r = proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False)
    assert r.ops[:7] == (
        Text("電子發票證明聯", bold=True, align="center", tall=True),
        Text("113年09-10月", size=2, bold=True, align="center"),
        Text("AB-12345679", size=2, bold=True, align="center"),
        Columns("2024-09-15 14:30:05", "格式 25"),
        Columns("隨機碼 0417", "總計 1380"),
        Columns("銷售額 1314", "稅額 66"),
        Columns("賣方 04595257", "買方 22099131"),
    )
    assert r.ops[9:] == (
        Rule(), Text("交易明細", bold=True, align="center"), Rule(),
        Columns("水管除油酵素錠三罐", "1380"), Rule(),
        Columns("銷售額", "1314"), Columns("稅額", "66"), Columns("總計", "1380", bold=True), Feed(2), Cut(),
    )
    assert [type(op) for op in r.ops].count(Cut) == 1  # details follow the proof, not cut off


@pytest.mark.parametrize("reprint,test,title", [
    (False, False, "電子發票證明聯"), (True, False, "電子發票證明聯補印"),
    (False, True, "測試 電子發票證明聯"), (True, True, "測試 電子發票證明聯補印")])
def test_title_marks_reprints_and_tests(reprint, test, title):
    inv = vector_c()
    r = proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=reprint, test=test)
    assert r.ops[0] == Text(title, bold=True, align="center", tall=True)


def test_consumer_details_come_after_a_cut_so_the_proof_keeps_its_size():
    inv = vector_c()
    r = proof_layout(inv, inv.qr_codes(KEY), store_name="範例咖啡", reprint=True, details=True)
    cut = r.ops.index(Cut())
    assert isinstance(r.ops[cut - 1], QrCodes)
    assert r.ops[cut + 1:cut + 5] == (Text("範例咖啡", bold=True, align="center"),
                                      Text("交易明細補印", bold=True, align="center", tall=True),
                                      Columns("發票號碼 AB-12345678"), Columns("2024-09-15 14:30:05"))
    assert Columns("拿鐵咖啡 65x2", "130") in r.ops and Columns("可頌", "45") in r.ops
    assert r.ops[-1] == Cut() and [type(op) for op in r.ops].count(Cut) == 2


def test_logo_replaces_the_store_name():
    inv = vector_c()
    r = proof_layout(inv, inv.qr_codes(KEY), store_name="範例咖啡", reprint=False, logo="/srv/logo.png")
    assert r.ops[0] == Logo("/srv/logo.png") and Text("範例咖啡", bold=True, align="center") not in r.ops


def test_every_item_of_a_long_invoice_is_on_the_details():
    inv = long_business()
    r = proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False)
    lines = [op for op in r.ops if isinstance(op, Columns) and op.right.isdigit()]
    assert len(lines) == 40 + 3  # items, then 銷售額 稅額 總計
    assert lines[4] == Columns("冰美式咖啡:大杯4 55x2", "110")  # the QR code replaces ':', paper keeps it


def test_a_buyer_tax_id_invoice_always_prints_details():
    inv = vector_d()
    with pytest.raises(ValueError, match="always prints its transaction details"):
        proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False, details=False)


def test_no_proof_for_a_carrier_or_donated_invoice():
    inv = dataclasses.replace(vector_c(), carrier=Carrier("3J0002", "/ABC+123"))
    with pytest.raises(ValueError, match="no printed proof"):
        proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False)


def test_qr_codes_of_another_invoice_are_refused():
    with pytest.raises(ValueError, match="another invoice"):
        proof_layout(vector_c(), vector_d().qr_codes(KEY), store_name="", reprint=False)


def test_detail_slip_for_a_mobile_carrier_has_no_codes_and_shows_the_carrier():
    inv = dataclasses.replace(vector_c(), carrier=Carrier("3J0002", "/ABC+123"))
    r = detail_slip_layout(inv, store_name="範例咖啡")
    assert r.kind == "details" and r.key == "AB12345678"
    assert not any(isinstance(op, (Barcode39, QrCodes)) for op in r.ops)
    assert not any(op.text.startswith("電子發票證明聯") for op in r.ops if isinstance(op, Text))
    assert r.ops[-2] == Text("此為交易明細，非電子發票證明聯", align="center")
    assert Columns("載具 手機條碼", "/ABC+123") in r.ops
    assert r.ops[1] == Text("交易明細", bold=True, align="center", tall=True)


def test_detail_slip_masks_a_citizen_certificate_and_shows_a_donation():
    cert = dataclasses.replace(vector_c(), carrier=Carrier("CQ0001", "AB12345678901234"))
    assert Columns("載具 自然人憑證", "AB**********1234") in detail_slip_layout(cert, store_name="").ops
    gift = dataclasses.replace(vector_c(), donation=Donation("88888"))
    assert Columns("捐贈 愛心碼", "88888") in detail_slip_layout(gift, store_name="", reprint=True).ops


@pytest.mark.parametrize("make,message", [
    (lambda: Text("x", size=3), "size must be 1 or 2"),
    (lambda: Text("x", align="middle"), "align must be"),
    (lambda: Text("a\nb"), "one paragraph"),
    (lambda: QrCodes("AB", "**", 5), "version 6 or higher"),
    (lambda: QrCodes("AB", "x", 6), "starts with"),
    (lambda: Receipt("AB12345678", "proof", (Text("x"),)), "ends with a Cut"),
])
def test_ops_refuse_impossible_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_free_items_print_with_their_zero_amount():
    inv = make_invoice("AB12345690", "1111", [("贈品", 3, 0), ("咖啡", 1, 50)])
    r = detail_slip_layout(dataclasses.replace(inv, donation=Donation("168001")), store_name="")
    assert Columns("贈品 0x3", "0") in r.ops
