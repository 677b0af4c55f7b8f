"""Draw a ``terminal.core.screens.Screen`` into a 128x64 1-bit image, the OLED's exact frame.

Geometry (a 1 px border stays blank so the burn-in orbit never clips): the title bar fills rows 1-13
in white with black text; body lines start at row 15, 12 or 16 px each. A line wider than the screen
drops from 16 to 12 px, then is cut with "…" — never drawn past the edge.
"""
from __future__ import annotations

from PIL import Image, ImageDraw

from terminal.core.screens import LARGE, SMALL, WIDTH_PX, Screen

from .fonts import load_fonts

WIDTH, HEIGHT = 128, 64
MARGIN = 1
TITLE_BOTTOM = 13
BODY_TOP = 15
GLYPH_TOP = 2  # the font's CJK glyphs start 2 px below the drawing origin at both sizes


def render_screen(screen: Screen, *, font_path: str | None = None) -> Image.Image:
    """The frame for ``screen``: mode "1", 128x64, white (1) on black (0)."""
    fonts = load_fonts(font_path)
    img = Image.new("1", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"
    draw.rectangle((MARGIN, MARGIN, WIDTH - 1 - MARGIN, TITLE_BOTTOM), fill=1)
    _line(draw, fonts.small, _fit(fonts.small, screen.title), MARGIN + 1 - GLYPH_TOP, "center", fill=0)
    y = BODY_TOP
    for line in screen.lines:
        font = fonts.at(line.size)
        text = line.text
        if line.size == LARGE and font.getlength(text) > WIDTH_PX:
            font = fonts.small
        shrunk = (line.size - SMALL) // 2 if font is fonts.small else 0  # keep a shrunk line centred
        _line(draw, font, _fit(font, text), y - GLYPH_TOP + shrunk, line.align, fill=1)
        y += line.size
    return img


def _fit(font, text: str) -> str:
    if font.getlength(text) <= WIDTH_PX:
        return text
    while text and font.getlength(text + "…") > WIDTH_PX:
        text = text[:-1]
    return text + "…"


def _line(draw: ImageDraw.ImageDraw, font, text: str, y: int, align: str, *, fill: int) -> None:
    if not text:
        return
    width = font.getlength(text)
    x = MARGIN if align == "left" else MARGIN + (WIDTH_PX - width) / 2
    draw.text((round(x), y), text, font=font, fill=fill)
