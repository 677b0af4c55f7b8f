"""Simulate mode's PNG printer and `receipt-terminal preview`, checked against the spec's own strings."""
import dataclasses
import json

import pytest
from printer_cases import KEY, vector_c
from escpos_decode import decode
from PIL import Image, ImageChops
from code_reader import zbar

from drivers.printer import PngFilePrinter, PrinterError, preview
from drivers.printer.raster import RasterRenderer
from drivers.printer.simulate import invoice_from_json
from terminal.core.carriers import Carrier
from terminal.core.errors import ValidationError
from terminal.core.receipt import detail_slip_layout, proof_layout

# POST /v1/sales 201 response of vector C plus items, seller and key (interfaces.md, einvoice_spec §4.7)
SALE_C = {"invoice_number": "AB12345678", "period": "11310", "issued_at": "2024-09-15T14:30:05+08:00",
          "random_code": "5829", "total": 175, "sales_amount": 167, "tax_amount": 8, "printed": True,
          "print_state": "printed", "carrier": None, "donation_code": None, "buyer_tax_id": None,
          "items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1, "unit_price": 45}],
          "seller_tax_id": "04595257", "qr_key": KEY}
SALE_D = {**SALE_C, "invoice_number": "AB12345679", "random_code": "0417", "total": 1380, "sales_amount": 1314,
          "tax_amount": 66, "buyer_tax_id": "22099131",
          "items": [{"name": "水管除油酵素錠三罐", "quantity": 1, "unit_price": 1380}]}


def test_preview_of_vector_c_gives_the_spec_payloads_and_scannable_files(tmp_path, font):
    out = preview(SALE_C, tmp_path / "out", store_name="範例咖啡")
    assert out["barcode"] == "11310AB123456785829"
    assert out["qr_left"] == ("AB1234567811309155829000000a7000000af000000000459525708r5MIfzJbFNxKEpVUDCMg==:"
                              "**********:2:2:1:拿鐵咖啡:2:65:")
    assert out["qr_right"] == "**可頌:1:45"
    assert (out["png"], out["bin"]) == (tmp_path / "out" / "AB12345678.png", tmp_path / "out" / "AB12345678.bin")
    picture = Image.open(out["png"]).convert("1")
    assert zbar(picture, "code39") == [b"11310AB123456785829"]
    assert zbar(picture.crop((0, 0, 192, picture.height)), "qrcode") == [out["qr_left"].encode()]
    assert zbar(picture.crop((192, 0, 384, picture.height)), "qrcode") == [out["qr_right"].encode()]
    paper = decode(out["bin"].read_bytes())
    assert paper.commands[0] == ("ESC @",) and paper.commands[-1] == ("GS V", 66, 0)


def test_preview_of_vector_d(tmp_path, font):
    out = preview(SALE_D, tmp_path)
    assert out["barcode"] == "11310AB123456790417"
    assert out["qr_left"] == ("AB1234567911309150417000005220000056422099131045952577c0cDujW2RfsGkUmO5TiiA==:"
                              "**********:1:1:1:水管除油酵素錠三罐:1:1380")
    assert out["qr_right"] == "**"


def test_preview_takes_seller_and_key_from_config_when_the_file_has_none(tmp_path, font):
    sale = {k: v for k, v in SALE_C.items() if k not in ("seller_tax_id", "qr_key")}
    out = preview(sale, tmp_path, qr_key=KEY, seller_tax_id="04595257")
    assert out["qr_left"].startswith("AB1234567811309155829000000a7000000af0000000004595257")
    other = preview(SALE_C, tmp_path / "b", qr_key="00" * 16, seller_tax_id="10458575")
    assert other["qr_left"] == out["qr_left"]  # the file's own values win


def test_preview_of_a_carrier_invoice_renders_the_detail_slip(tmp_path, font):
    sale = {**SALE_C, "carrier": {"type": "3J0002", "id": "/ABC+123"}, "printed": False}
    out = preview(sale, tmp_path)
    picture = Image.open(out["png"]).convert("1")
    assert zbar(picture, "code39") == [] and zbar(picture, "qrcode") == []
    inv = dataclasses.replace(vector_c(), carrier=Carrier("3J0002", "/ABC+123"))
    expected = RasterRenderer(font).render(detail_slip_layout(inv, store_name=""))
    assert ImageChops.difference(picture.convert("L"), expected.convert("L")).getbbox() is None
    assert out["qr_right"] == "**可頌:1:45"  # the payloads are still reported


@pytest.mark.parametrize("change,field", [
    ({"qr_key": None}, "qr_key"),
    ({"qr_key": "FE0F50D8"}, "qr_key"),
    ({"seller_tax_id": "12345678"}, "seller_tax_id"),
    ({"issued_at": "2024-09-15T14:30:05"}, "issued_at"),
    ({"issued_at": "yesterday"}, "issued_at"),
    ({"period": "11308"}, "period"),
    ({"random_code": "58290"}, "random_code"),
    ({"total": 176}, "total"),
    ({"sales_amount": 170}, "sales_amount"),
    ({"buyer_tax_id": "22099131"}, "sales_amount"),  # total 175 splits 167 + 8 either way: see below
    ({"items": "拿鐵"}, "items"),
    ({"items": [{"name": "", "quantity": 1, "unit_price": 175}]}, "items[0].name"),
    ({"carrier": {"type": "3J0002"}}, "carrier"),
    ({"carrier": {"type": "3J0002", "id": "/abc+123"}}, "carrier.id"),
    ({"donation_code": "12"}, "donation_code"),
    ({"invoice_number": "AB1234567"}, None),
])
def test_bad_invoice_files_name_the_field(change, field, tmp_path):
    sale = {**SALE_C, **change}
    if change == {"buyer_tax_id": "22099131"}:
        sale["sales_amount"], sale["tax_amount"] = 175, 0  # a business buyer needs the 5 % split
    with pytest.raises(ValidationError) as err:
        preview(sale, tmp_path)
    assert err.value.field == field
    assert not list(tmp_path.iterdir())  # nothing written for a bad file


def test_the_interface_example_parses(tmp_path):
    sale = json.loads('{"invoice_number": "AB12345678", "period": "11310", "issued_at": "2024-09-15T14:03:11+08:00",'
                      ' "random_code": "5829", "total": 175, "sales_amount": 167, "tax_amount": 8, "printed": true,'
                      ' "print_state": "printed", "carrier": null, "donation_code": null, "buyer_tax_id": null}')
    sale["items"] = SALE_C["items"]
    inv, key = invoice_from_json(sale, qr_key=KEY, seller_tax_id="04595257")
    assert (str(inv.number), inv.total, inv.sales_amount, inv.tax_amount, key) == ("AB12345678", 175, 167, 8, KEY)
    assert inv.seller.name == "" and inv.issued_at.utcoffset().total_seconds() == 8 * 3600


def test_png_printer_keeps_every_print(tmp_path, font):
    printer = PngFilePrinter(tmp_path / "receipts", font_path=font)
    inv = vector_c()
    qr = inv.qr_codes(KEY)
    printer.print_receipt(proof_layout(inv, qr, store_name="", reprint=False))
    printer.print_receipt(proof_layout(inv, qr, store_name="", reprint=True))
    names = sorted(p.name for p in (tmp_path / "receipts").iterdir())
    assert names == ["AB12345678-2.bin", "AB12345678-2.png", "AB12345678.bin", "AB12345678.png"]
    first, second = (Image.open(tmp_path / "receipts" / n).convert("L") for n in ("AB12345678.png", "AB12345678-2.png"))
    assert ImageChops.difference(first, second).getbbox() is not None  # the reprint says 補印
    expected = RasterRenderer(font).render(proof_layout(inv, qr, store_name="", reprint=True))
    assert ImageChops.difference(second, expected.convert("L")).getbbox() is None
    assert decode((tmp_path / "receipts" / "AB12345678.bin").read_bytes()).commands[-1] == ("ESC J", 96)
    assert printer.status().state == "ok"


def test_png_printer_can_play_a_printer_problem(tmp_path, font):
    printer = PngFilePrinter(tmp_path, mode="big5", font_path=font)
    printer.simulate("paper_out")
    assert printer.status().state == "paper_out" and printer.status().message_zh == "印表機缺紙"
    inv = vector_c()
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False))
    assert err.value.code == "paper_out" and not list(tmp_path.iterdir())
    printer.simulate("ok")
    printer.print_receipt(proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False))
    assert "電子發票證明聯".encode("cp950") in (tmp_path / "AB12345678.bin").read_bytes()
    with pytest.raises(ValueError):
        printer.simulate("on_fire")
