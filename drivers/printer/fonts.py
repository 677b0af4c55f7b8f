"""The CJK font the receipts are rastered with: a configured path or WenQuanYi Zen Hei (Debian
``fonts-wqy-zenhei``, installed by scripts/setup.sh), its monospaced face, loaded once per size."""
from __future__ import annotations

import functools
from pathlib import Path

from .errors import PrinterError

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def resolve_font(font_path: str | None) -> str:
    """The font file to use; PrinterError(font_missing) names the path and the fix."""
    path = font_path or DEFAULT_FONT
    if not Path(path).is_file():
        hint = " (install fonts-wqy-zenhei or set [printer] font)" if not font_path else ""
        raise PrinterError("font_missing", f"receipt font {path} not found{hint}")
    return path


@functools.lru_cache(maxsize=16)
def load_font(path: str, size: int):
    """A face of ``path`` at ``size`` pixels. In a collection (.ttc) the face whose name ends in "Mono"
    is preferred: its Latin glyphs are exactly half the width of its CJK glyphs, like a printer's own
    Big5 font, so columns line up."""
    from PIL import ImageFont

    try:
        first = ImageFont.truetype(path, size, index=0)
    except OSError as exc:
        raise PrinterError("font_missing", f"receipt font {path} cannot be read: {exc}") from None
    if not path.lower().endswith((".ttc", ".otc")):
        return first
    for index in range(1, 8):
        try:
            face = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        if face.getname()[0].endswith("Mono"):
            return face
    return first
