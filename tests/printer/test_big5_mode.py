"""Big5 mode: text in the printer's own font in Chinese mode, codes rastered; golden bytes.

Golden files are regenerated only with RT_UPDATE_GOLDEN=1 (then review the diff of the decoded text).
"""
import pytest
from printer_cases import GOLDEN, KEY, UPDATE_GOLDEN, long_consumer, make_invoice, vector_c, vector_d
from escpos.capabilities import get_profile
from escpos_decode import decode
from PIL import ImageChops, ImageOps

from drivers.printer.encode import Encoder
from drivers.printer.raster import RasterRenderer
from drivers.printer.textfit import TextLine, width
from terminal.core.receipt import proof_layout

FOOTER = "退換貨須憑電子發票證明聯正本辦理"
CASES = {"vector-c": (vector_c, False), "vector-d": (vector_d, True), "long-consumer": (long_consumer, False)}


def _job(inv, *, reprint=False, mode="big5", profile="POS-5890", font=None):
    receipt = proof_layout(inv, inv.qr_codes(KEY), store_name="範例咖啡", reprint=reprint, footer=FOOTER)
    return Encoder(mode=mode, profile=get_profile(profile), font_path=font).encode(receipt)


@pytest.mark.parametrize("name", list(CASES))
def test_golden_bytes(name):
    make, reprint = CASES[name]
    job = _job(make(), reprint=reprint)
    path = GOLDEN / f"proof-big5-{name}.bin"
    if UPDATE_GOLDEN:
        path.write_bytes(job)
    assert path.exists(), f"{path.name} missing: run with RT_UPDATE_GOLDEN=1 once and review it"
    assert job == path.read_bytes()


def test_vector_c_text_lines_in_big5():
    job = decode(_job(vector_c()))
    assert [(t, style) for _, t, style in job.tail.text] == [
        ("範例咖啡", (1, 1, True, "c")),
        ("電子發票證明聯", (1, 2, True, "c")),
        ("113年09-10月", (2, 2, True, "c")),
        ("AB-12345678", (2, 2, True, "c")),
        ("2024-09-15 14:30:05", (1, 1, False, "l")),
        ("隨機碼 5829            總計 175", (1, 1, False, "l")),
        ("賣方 04595257", (1, 1, False, "l")),
        ("退換貨須憑電子發票證明聯正本辦", (1, 1, False, "c")),  # 31 columns: one short of the paper
        ("理", (1, 1, False, "c")),
    ]
    assert job.commands[:2] == [("ESC @",), ("FS &",)] and job.commands[-1] == ("FS .",)


def test_vector_d_text_lines_in_big5():
    job = decode(_job(vector_d(), reprint=True))
    lines = [t for _, t, _ in job.tail.text]
    assert lines[1] == "電子發票證明聯補印"
    assert lines[4:8] == ["2024-09-15 14:30:05     格式 25", "隨機碼 0417           總計 1380",
                          "銷售額 1314             稅額 66", "賣方 04595257     買方 22099131"]
    assert lines[-5:] == ["水管除油酵素錠三罐         1380", "-" * 31, "銷售額                     1314",
                          "稅額                         66", "總計                       1380"]


def test_the_bytes_are_big5_not_the_gb18030_python_escpos_would_send():
    job = _job(vector_c())
    assert "電子發票證明聯".encode("cp950") in job
    assert "電子發票證明聯".encode("gb18030") not in job
    gb = _job(vector_c(), mode="gb18030")
    assert "電子發票證明聯".encode("gb18030") in gb and "電子發票證明聯".encode("cp950") not in gb


def test_every_text_line_leaves_the_last_column_free():
    for _, text, (w, _, _, _) in decode(_job(long_consumer())).tail.text:
        assert width(text) * w <= 31, text


@pytest.mark.parametrize("name", list(CASES))
def test_big5_receipts_stay_under_10_kb(name):
    make, reprint = CASES[name]
    assert len(_job(make(), reprint=reprint)) <= 10 * 1024


def test_a_character_outside_big5_is_rastered_with_the_line_it_is_on(font):
    inv = make_invoice("AB12345683", "1234", [("𠮷野家牛丼", 1, 120), ("味噌湯", 1, 30)], buyer="22099131")
    job = decode(_job(inv, font=font))
    lines = [t for _, t, _ in job.tail.text]
    assert "味噌湯" + " " * 23 + "30" in lines and not any("牛丼" in t for t in lines)
    # placed like the Big5 lines around it: right text ending at column 31
    expected = RasterRenderer(font).text_line(TextLine(((0, "𠮷野家牛丼"), (28, "120"))))
    top, bottom = ImageOps.invert(expected.convert("L")).getbbox()[1::2]  # the inked rows are sent
    inked = expected.crop((0, top, expected.width, bottom)).convert("L")
    bands = [b for _, b in job.tail.bands if b.height == inked.height]
    assert len(bands) == 1, "the line was not sent as its own picture"
    assert ImageChops.difference(bands[0].convert("L"), inked.crop((0, 0) + bands[0].size)).getbbox() is None
    assert inked.crop((bands[0].width, 0, inked.width, inked.height)).getextrema() == (255, 255)
    assert ("ESC a", 0) in job.commands
