"""Pixel-exact golden frames of every OLED screen, drawn through luma's dummy device.

Regenerate after an intended change with ``RT_UPDATE_GOLDEN=1`` and look at the PNGs before
committing them."""
import os
from pathlib import Path

import pytest
from luma.core.device import dummy
from PIL import Image, ImageChops, ImageFont

from display import OledDisplay, load_fonts, render_screen
from display.fonts import DEFAULT_FONT, FontMissing, split_spec
from terminal.core import screens
from terminal.core.screens import LARGE, SMALL

from .catalog import SCREENS

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RT_UPDATE_GOLDEN") == "1"


def _frame(screen):
    device = dummy(width=128, height=64, mode="1")
    OledDisplay(device, clock=lambda: 0.0).show(screen)
    return device.image


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_its_golden_png(name, tmp_path):
    frame = _frame(SCREENS[name])
    path = GOLDEN / f"{name}.png"
    if UPDATE:
        frame.save(path)
    assert path.exists(), f"no golden {path.name}: run with RT_UPDATE_GOLDEN=1"
    golden = Image.open(path)
    assert golden.mode == "1" and golden.size == (128, 64)
    diff = ImageChops.difference(frame.convert("L"), golden.convert("L")).getbbox()
    if diff:
        frame.save(tmp_path / path.name)
    assert diff is None, f"{name}: pixels differ in {diff}; actual frame in {tmp_path / path.name}"


def test_golden_set_has_no_strays():
    assert sorted(p.stem for p in GOLDEN.glob("*.png")) == sorted(SCREENS)


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_frames_keep_the_burn_in_border_blank_and_use_the_title_bar(name):
    frame = render_screen(SCREENS[name])
    px = frame.load()
    border = [px[x, y] for x in range(128) for y in (0, 63)] + [px[x, y] for y in range(64) for x in (0, 127)]
    assert not any(border)
    assert all(px[x, 1] for x in range(1, 127))  # the title bar's white top row
    assert any(px[x, y] for x in range(128) for y in range(15, 63))  # a body was drawn


def test_the_font_has_every_glyph_the_screens_use():
    fonts = load_fonts()
    missing_glyph = bytes(fonts.small.getmask("\U0010FFFD", mode="1"))
    chars = {ch for screen in SCREENS.values() for ch in screen.text if not ch.isspace()}
    chars |= set("…！，：") | {ch for text in screens.ERROR_MESSAGES_ZH.values() for ch in text}
    absent = [ch for ch in sorted(chars) if bytes(fonts.small.getmask(ch, mode="1")) == missing_glyph]
    assert absent == []


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_core_width_estimate_bounds_the_real_font(size):
    font = load_fonts().at(size)
    for ch in map(chr, range(32, 127)):
        assert font.getlength(ch) <= screens.text_width(ch, size) + 1e-9, ch
    for screen in SCREENS.values():
        for line in screen.lines:
            assert load_fonts().at(line.size).getlength(line.text) <= screens.text_width(line.text, line.size)


def test_a_line_too_wide_for_large_type_is_drawn_small_and_one_too_wide_is_cut():
    text = "AB-12345678-WWW"
    shrunk = render_screen(screens.Screen("t", "T", (screens.Line(text, LARGE, "center"),)))
    small = render_screen(screens.Screen("t", "T", (screens.Line(text, SMALL, "center"),)))
    # the same 12 px glyphs, centred in the 16 px slot (2 px lower)
    assert shrunk.crop((0, 17, 128, 64)) == small.crop((0, 15, 128, 62)) and shrunk.getbbox() != small.getbbox()
    cut = render_screen(screens.Screen("t", "T", (screens.Line("W" * 30),)))
    expected = render_screen(screens.Screen("t", "T", (screens.Line("W" * 12 + "…"),)))
    assert cut == expected


def test_font_spec_and_a_missing_font(tmp_path):
    assert split_spec(DEFAULT_FONT) == ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 2)
    assert split_spec("/a/b#c.ttf") == ("/a/b#c.ttf", 0)
    with pytest.raises(FontMissing, match="fonts-wqy-zenhei") as e:
        render_screen(SCREENS["ready"], font_path=str(tmp_path / "none.ttf"))
    assert e.value.code == "oled_font_missing"
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(FontMissing, match="cannot be used"):
        load_fonts(str(bad))


def test_the_sharp_face_renders_from_bitmap_strikes():
    """Face 2 at 12 px draws a glyph without anti-aliasing even in greyscale: only 0 and 255."""
    path, index = split_spec(DEFAULT_FONT)
    mask = ImageFont.truetype(path, SMALL, index=index).getmask("發", mode="L")
    assert set(bytes(mask)) <= {0, 255}
