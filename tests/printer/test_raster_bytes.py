"""raster_bytes is lossless: any picture comes back dot for dot from its GS v 0 bands and feeds,
including the bands it sends at double height, double width or both."""
from escpos_decode import decode
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from drivers.printer.encode import raster_bytes


@st.composite
def pictures(draw):
    wb, h = draw(st.integers(1, 6)), draw(st.integers(1, 24))
    sx, sy = draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2]))
    bits = draw(st.lists(st.booleans(), min_size=wb * 8 * h, max_size=wb * 8 * h))
    blank_rows = draw(st.sets(st.integers(0, h - 1)))
    small = Image.new("L", (wb * 8, h), 255)
    small.putdata([0 if b and (i // (wb * 8)) not in blank_rows else 255 for i, b in enumerate(bits)])
    return small.resize((wb * 8 * sx, h * sy), Image.NEAREST).convert("1", dither=Image.Dither.NONE)


@settings(max_examples=150, deadline=None)
@given(pictures())
def test_round_trip(img):
    job = decode(b"\x1b@" + raster_bytes(img), width=img.width)
    assert job.tail.height == img.height
    back = job.tail.image(img.width)
    assert ImageChops.difference(back.convert("L"), img.convert("L")).getbbox() is None


def test_scaled_bands_use_the_smaller_command():
    img = Image.new("L", (16, 2), 255)
    img.putdata([0, 0, 255, 255] * 4 + [0, 0, 255, 255] * 4)  # dots and rows in pairs
    data = raster_bytes(img.convert("1"))
    assert data == b"\x1dv0\x03\x01\x00\x01\x00" + bytes([0b10101010])


def test_blank_rows_are_feeds_not_pictures():
    img = Image.new("1", (384, 300), 255)
    img.paste(0, (0, 10, 8, 11))
    # 10 blank rows, one row of 8 dots (sent as 4 at double width), 289 blank rows in two feeds
    assert raster_bytes(img) == b"\x1bJ\x0a" + b"\x1dv0\x01\x01\x00\x01\x00\xf0" + b"\x1bJ\xff\x1bJ\x22"
