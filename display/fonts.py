"""The pixel CJK font for the 128x64 OLED: WenQuanYi Zen Hei *Sharp*, whose embedded bitmap strikes
at 12 and 16 px give crisp Traditional Chinese without anti-aliasing (hardware.md §2.4).

It comes from Debian's ``fonts-wqy-zenhei`` (scripts/setup.sh installs it; the Pi image must too).
Another font may be configured as ``path`` or ``path#face-index``; it must have glyphs at 12 and
16 px. Bitmap strikes render identically on every FreeType build, which keeps the golden PNGs exact.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from terminal.core.errors import TerminalError
from terminal.core.screens import LARGE, SMALL

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#2"  # face 2 = "Sharp" (bitmap strikes)


class FontMissing(TerminalError):
    code = "oled_font_missing"
    message_zh = "缺少中文字型"


@dataclass(frozen=True)
class Fonts:
    small: object  # PIL.ImageFont.FreeTypeFont at SMALL px
    large: object  # ... at LARGE px

    def at(self, size: int):
        return self.large if size == LARGE else self.small


def split_spec(spec: str) -> tuple[str, int]:
    """``"/x/font.ttc#2"`` -> ``("/x/font.ttc", 2)``; no ``#`` means face 0."""
    path, sep, index = spec.rpartition("#")
    if sep and index.isdigit():
        return path, int(index)
    return spec, 0


@lru_cache(maxsize=4)
def load_fonts(spec: str | None = None) -> Fonts:
    """Open the OLED font once per process (FreeType faces are shared by all renders)."""
    from PIL import ImageFont

    path, index = split_spec(spec or DEFAULT_FONT)
    if not os.path.isfile(path):
        raise FontMissing(f"OLED font {path} not found: install the Debian package fonts-wqy-zenhei "
                          "or set [oled] font to a CJK font file")
    try:
        return Fonts(ImageFont.truetype(path, SMALL, index=index), ImageFont.truetype(path, LARGE, index=index))
    except OSError as e:
        raise FontMissing(f"OLED font {path} (face {index}) cannot be used at {SMALL}/{LARGE} px: {e}") from e
