"""The codes as a phone or scanner reads them: the ESC/POS bytes decoded back to paper, then zbarimg.

For the spec's vectors C and D and long invoices, in both modes: the Code 39 and both QR payloads are
exactly the core's, the check code decrypts to number + random code, and the QR pair follows the
spec's geometry (same version >= 6, level L, no ECI, side by side, top-aligned, >= 15 mm, 2 mm quiet
zones), module for module identical to the symbol of the payload.
"""
import pytest
from printer_cases import KEY, long_business, long_consumer, vector_c, vector_d
from escpos.capabilities import get_profile
from escpos_decode import decode
from PIL import ImageChops
from code_reader import find_qr_pair, format_and_mode, zbar

from drivers.printer.encode import Encoder
from drivers.printer.raster import QR_MIN_DOTS, QR_QUIET, RasterRenderer, make_qr
from terminal.core.codes import verify_check_code
from terminal.core.receipt import proof_layout

INVOICES = {"C": vector_c, "D": vector_d, "long-consumer": long_consumer, "long-business": long_business}


def _printed(name, mode, font):
    inv = INVOICES[name]()
    qr = inv.qr_codes(KEY)
    receipt = proof_layout(inv, qr, store_name="範例咖啡", reprint=False, footer="退換貨須憑電子發票證明聯正本辦理")
    job = Encoder(mode=mode, font_path=font, profile=get_profile("default")).encode(receipt)  # has a cutter
    return inv, qr, receipt, decode(job)


@pytest.mark.parametrize("mode", ["raster", "big5"])
@pytest.mark.parametrize("name", list(INVOICES))
def test_codes_decode_to_the_core_payloads(name, mode, font):
    inv, qr, _, job = _printed(name, mode, font)
    paper = job.slips[0].image()
    assert zbar(paper, "code39") == [inv.barcode.encode()]
    left, right = find_qr_pair(paper)
    half = paper.width // 2
    got_left = zbar(paper.crop((0, 0, half, paper.height)), "qrcode")
    got_right = zbar(paper.crop((half, 0, paper.width, paper.height)), "qrcode")
    assert got_left == [qr.left.encode("utf-8")] and got_right == [qr.right.encode("utf-8")]
    check = got_left[0][53:77].decode("ascii")
    assert verify_check_code(KEY, check) == f"{inv.number}{inv.random_code}"


@pytest.mark.parametrize("mode", ["raster", "big5"])
@pytest.mark.parametrize("name", list(INVOICES))
def test_qr_pair_geometry_follows_the_spec(name, mode, font):
    _, qr, _, job = _printed(name, mode, font)
    paper = job.slips[0].image()
    left, right = find_qr_pair(paper)
    assert left.version == right.version == qr.version >= 6
    assert left.size == right.size >= QR_MIN_DOTS  # >= 15 mm at 8 dots/mm
    assert left.y == right.y  # top edges aligned
    assert right.x >= paper.width // 2 > left.x + left.size
    for sym in (left, right):  # >= 2 mm of blank paper all round, inside the printable width
        box = (sym.x - QR_QUIET, sym.y - QR_QUIET, sym.x + sym.size + QR_QUIET, sym.y + sym.size + QR_QUIET)
        assert box[0] >= 0 and box[2] <= paper.width
        ring = paper.crop(box).convert("L")
        ring.paste(255, (QR_QUIET, QR_QUIET, QR_QUIET + sym.size, QR_QUIET + sym.size))
        assert ring.getextrema() == (255, 255), f"ink in the quiet zone of the code at x={sym.x}"
    for sym, text in ((left, qr.left), (right, qr.right)):
        level, mask, first_mode = format_and_mode(sym)
        expected = make_qr(text, qr.version)
        assert sym.matrix == tuple(tuple(v & 1 for v in row) for row in expected.matrix)
        assert level == "L" and mask == expected.mask
        assert first_mode == ("alphanumeric" if text == "**" else "byte")  # never an ECI header


def test_the_printed_matrix_check_catches_an_eci_header():
    # the reader behind the test above is not blind: a code made with ECI reads as such
    import segno

    from code_reader import QrSymbol

    code = segno.make_qr(vector_c().qr_codes(KEY).left, error="l", version=6, encoding="utf-8", eci=True,
                         boost_error=False)
    sym = QrSymbol(0, 0, 41, 41, tuple(tuple(v & 1 for v in row) for row in code.matrix))
    assert format_and_mode(sym) == ("L", code.mask, "eci")


@pytest.mark.parametrize("name", list(INVOICES))
def test_raster_mode_bytes_are_the_rendered_picture_exactly(name, font):
    inv, _, receipt, job = _printed(name, "raster", font)
    slips = RasterRenderer(font).slips(receipt)
    assert len(job.slips) == len(slips) and job.tail.height == 0
    for decoded, drawn in zip(job.slips, slips):
        assert decoded.height == drawn.height
        assert ImageChops.difference(decoded.image().convert("L"), drawn.convert("L")).getbbox() is None
    assert job.commands[-1] == ("GS V", 66, 0)  # feed to the cutter, partial cut


def test_a_printer_without_cutter_feeds_past_the_tear_bar_instead(font):
    inv = vector_c()
    receipt = proof_layout(inv, inv.qr_codes(KEY), store_name="", reprint=False)
    job = decode(Encoder(font_path=font, profile=get_profile("POS-5890"), tear_feed_mm=12).encode(receipt))
    assert job.slips == [] and job.commands[-1] == ("ESC J", 96)
    assert not any(c[0] == "GS V" for c in job.commands)


def test_code39_is_one_dot_narrow_three_dots_wide_with_quiet_zones(font):
    inv, _, _, job = _printed("C", "raster", font)
    paper = job.slips[0].image()
    bars = [band for _, band in job.slips[0].bands if band.height >= 40 and ImageChops.difference(
        band.convert("L"), band.crop((0, 0, band.width, 1)).resize(band.size).convert("L")).getbbox() is None]
    assert len(bars) == 1 and bars[0].height == 48, "the barcode is one 6 mm band of identical rows"
    assert ("GS v 0", 2, bars[0].width // 8, 24) in job.commands  # sent once at double height
    row = [bars[0].getpixel((x, 0)) for x in range(bars[0].width)]
    first, last = row.index(0), len(row) - 1 - row[::-1].index(0)
    runs, x = [], first
    while x <= last:
        end = x
        while end <= last and row[end] == row[x]:
            end += 1
        runs.append(end - x)
        x = end
    assert set(runs) == {1, 3} and len(runs) == 21 * 10 - 1  # 21 symbols of 5 bars + 4 spaces, 1-dot gaps
    assert first >= 10 and paper.width - 1 - last >= 10


@pytest.mark.parametrize("name", ["C", "long-consumer"])
def test_a_consumer_proof_fits_9_cm(name, font):
    inv = INVOICES[name]()
    qr = inv.qr_codes(KEY)
    receipt = proof_layout(inv, qr, store_name="範例咖啡", reprint=True, test=True,
                           footer="退換貨須憑電子發票證明聯正本辦理")
    proof = RasterRenderer(font).slips(receipt)[0]
    assert proof.height + 12 * 8 <= 90 * 8  # picture + the feed past the tear bar
    if name == "long-consumer":
        assert qr.version > 6  # the worst case: a larger QR pair


def test_large_modules_when_the_paper_margin_completes_the_outer_quiet_zones(font):
    inv, qr = vector_c(), vector_c().qr_codes(KEY)
    receipt = proof_layout(inv, qr, store_name="範例咖啡", reprint=False)
    data = Encoder(mode="big5", profile=get_profile("default"), qr_edge_dots=12).encode(receipt)
    job = decode(data)
    paper = job.slips[0].image()
    left, right = find_qr_pair(paper)
    assert left.module_dots == right.module_dots == 4 and left.size == right.size == 164  # 20.5 mm
    assert (left.x, right.x - left.x - left.size, paper.width - right.x - right.size) == (12, 32, 12)
    assert left.y == right.y
    half = paper.width // 2
    assert zbar(paper.crop((0, 0, half, paper.height)), "qrcode") == [qr.left.encode()]
    assert zbar(paper.crop((half, 0, paper.width, paper.height)), "qrcode") == [qr.right.encode()]
    assert format_and_mode(left)[::2] == ("L", "byte")
    assert ("GS v 0", 3, 24, 82) in job.commands  # sent at quadruple density: a quarter of the bytes
    assert len(data) <= 115_200 // 10 * 90 // 200  # the 115200-baud link outruns 9 cm of paper at 200 mm/s


def test_large_modules_only_where_they_fit(font):
    inv = long_consumer()
    qr = inv.qr_codes(KEY)
    receipt = proof_layout(inv, qr, store_name="", reprint=False)
    paper = RasterRenderer(font, edge_quiet_dots=12).slips(receipt)[0]
    left, right = find_qr_pair(paper)
    assert qr.version > 6 and left.module_dots == 3 and left.size >= QR_MIN_DOTS
