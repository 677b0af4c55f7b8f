"""Receipts as ESC/POS bytes, in one of the printer modes (see README.md, "Modes"):

* ``raster``: every slip is one picture (text rastered with a CJK font); any ESC/POS printer with
  ``GS v 0`` prints it the same, whatever its code page.
* ``big5`` (``gb18030`` for mainland firmware): text in the printer's own font, in Chinese mode
  (``FS &`` … ``FS .``); the barcode, the QR pair, a logo and any line the code page cannot encode are
  rastered. Native ``GS ( k`` QR codes are never used: the printer picks their version itself and prints
  each on its own line, while the spec wants two codes of one forced version side by side.

Pictures are sent as ``GS v 0`` bands of the inked rows only, each cut to its last inked byte; blank
rows become ``ESC J`` feeds. The whole job is encoded in memory (python-escpos ``Dummy``, with the
real printer's profile) before any byte goes out, so a rendering error never leaves half a receipt.
"""
from __future__ import annotations

from dataclasses import replace

from PIL import Image

from terminal.core.receipt import Barcode39, Columns, Cut, Feed, Logo, QrCodes, Receipt, Rule, Text

from .raster import DOTS_PER_MM, QR_QUIET, RasterRenderer
from .textfit import TextLine, fit, width

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
CUT_AFTER_FEED = GS + b"V" + bytes((66, 0))  # function B: feed to the cutter, then partial cut
MODES = {"raster": None, "big5": "cp950", "gb18030": "gb18030"}
MAX_BAND_ROWS = 255
BAND_HEADER = 8  # GS v 0 m xL xH yL yH


def raster_bytes(img: Image.Image, *, scale: bool = True) -> bytes:
    """A 1-bit picture as ``GS v 0`` bands of its inked rows and ``ESC J`` feeds for the blank ones.

    A blank gap is kept inside a band when that is cheaper than closing the band and opening a new
    one; each band is as wide as its rightmost inked byte (pictures start at the left margin). With
    ``scale``, a band whose rows come in identical pairs is sent at half height with ``GS v 0`` m=2
    (double height), one whose dots come in pairs at half width with m=1, both with m=3: exact, not
    an approximation (the barcode's rows, the title, QR codes of even module size)."""
    wb = (img.width + 7) // 8
    packed = img.convert("L").point(lambda v: 255 - v).convert("1", dither=Image.Dither.NONE).tobytes()
    rows = [packed[i * wb:(i + 1) * wb] for i in range(img.height)]
    used = [len(r.rstrip(b"\0")) for r in rows]
    out, y = bytearray(), 0
    while y < len(rows):
        if not used[y]:
            end = y
            while end < len(rows) and not used[end]:
                end += 1
            out += feed_bytes(end - y)
            y = end
            continue
        end, band_wb = y, 0
        while end < len(rows) and end - y < MAX_BAND_ROWS:
            if used[end]:
                band_wb = max(band_wb, used[end])
                end += 1
                continue
            gap = end
            while gap < len(rows) and not used[gap]:
                gap += 1
            if gap == len(rows) or (gap - end) * band_wb > BAND_HEADER + 3 or gap - y > MAX_BAND_ROWS:
                break
            end = gap
        band = [r[:band_wb] for r in rows[y:end]]
        mode = 0
        if scale and len(band) % 2 == 0 and band[0::2] == band[1::2]:
            band, mode = band[0::2], 2  # rows repeat in pairs (barcode, double-height text)
        if scale and all(not (b ^ b >> 1) & 0x55 for row in band for b in row):
            band, mode = [_halve_row(row) for row in band], mode | 1  # dots come in pairs (large QR modules)
        wb_sent = len(band[0])
        out += GS + b"v0" + bytes((mode, wb_sent & 0xFF, wb_sent >> 8, len(band) & 0xFF, len(band) >> 8))
        out += b"".join(band)
        y = end
    return bytes(out)


# a byte whose bits come in equal pairs -> the 4 bits it halves to
_HALF = {b: sum(((b >> (2 * k + 1)) & 1) << k for k in range(4))
         for b in range(256) if not (b ^ b >> 1) & 0x55}


def _halve_row(row: bytes) -> bytes:
    nibbles = [_HALF[b] for b in row] + [0]
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(row), 2))


def feed_bytes(dots: int) -> bytes:
    out = bytearray()
    while dots > 0:
        n = min(dots, 255)
        out += ESC + b"J" + bytes((n,))
        dots -= n
    return bytes(out)


class Encoder:
    """Turns receipts into the bytes of one printer.

    :param mode: ``raster``, ``big5`` or ``gb18030``.
    :param profile: the python-escpos profile of the printer (decides whether it has a cutter).
    :param tear_feed_mm: paper fed after a slip on printers without a cutter, to clear the tear bar.
    :param qr_edge_dots: quiet zone the QR codes keep inside the printable width at the paper's edges
        (see raster.py): 16 (2 mm) by default, 12 for 4-dot V6 modules.
    """

    def __init__(self, *, mode: str = "raster", font_path: str | None = None, width_dots: int = 384,
                 profile=None, tear_feed_mm: float = 12.0, qr_edge_dots: int = QR_QUIET) -> None:
        if mode not in MODES:
            raise ValueError(f"printer mode must be one of {sorted(MODES)}, got {mode!r}")
        self.mode = mode
        self.codec = MODES[mode]
        self.renderer = RasterRenderer(font_path, width_dots, edge_quiet_dots=qr_edge_dots)
        self.profile = profile
        self.tear_feed_mm = tear_feed_mm

    def encode(self, receipt: Receipt) -> bytes:
        from escpos.printer import Dummy

        out = Dummy()
        if self.profile is not None:
            out.profile = self.profile
        out._raw(INIT)
        if self.codec is None:
            for slip in self.renderer.slips(receipt):
                out._raw(raster_bytes(slip))
                self._cut(out)
        else:
            self._native(out, receipt)
        return out.output

    def _native(self, out, receipt: Receipt) -> None:
        out._raw(CHINESE_ON)
        style = (1, 1, False, "left")  # width, height, bold, alignment after ESC @
        # one column short of the paper: a line that fills the paper exactly and then gets LF is fed
        # twice by many printers
        cols = self.renderer.cols - 1
        for op in receipt.ops:
            if isinstance(op, (Text, Columns)):
                for line in fit(op, cols):
                    # Text lines are aligned by the printer (ESC a), Columns with spaces
                    text = line.segments[0][1] if isinstance(op, Text) else line.padded()
                    try:
                        data = text.encode(self.codec)
                    except UnicodeEncodeError:  # a character the printer's font lacks: raster the line
                        style = _set_style(out, style, (*style[:3], "left"))
                        out._raw(raster_bytes(self.renderer.text_line(fit_raster(line, self.renderer.cols))))
                        continue
                    style = _set_style(out, style, (line.size, line.height_factor, line.bold, line.align))
                    out._raw(data + b"\n")
            elif isinstance(op, Rule):
                style = _set_style(out, style, (1, 1, False, "left"))
                out._raw(b"-" * cols + b"\n")
            elif isinstance(op, Feed):
                out._raw(feed_bytes(round(op.mm * DOTS_PER_MM)))
            elif isinstance(op, (Barcode39, QrCodes, Logo)):
                # pictures are placed by their own pixels; some printers apply ESC a to GS v 0 too
                style = _set_style(out, style, (*style[:3], "left"))
                out._raw(raster_bytes(self.renderer.blocks(op)[0]))
            elif isinstance(op, Cut):
                self._cut(out)
            else:
                raise TypeError(f"not a receipt op: {op!r}")
        out._raw(CHINESE_OFF)

    def _cut(self, out) -> None:
        if out.profile.supports("paperPartCut") or out.profile.supports("paperFullCut"):
            out._raw(CUT_AFTER_FEED)
        else:
            out._raw(feed_bytes(round(self.tear_feed_mm * DOTS_PER_MM)))


def _set_style(out, current: tuple, wanted: tuple) -> tuple:
    """Send what changed: character size for single-byte (``GS !``) and Chinese characters (``FS !``),
    bold (``ESC E``), alignment (``ESC a``)."""
    w, h, bold, align = wanted
    if wanted[:3] != current[:3]:
        out.set(custom_size=True, width=w, height=h, bold=bold)
        out._raw(FS + b"!" + bytes(((0x04 if w == 2 else 0) | (0x08 if h == 2 else 0),)))
    if align != current[3]:
        out.set(align=align)
    return wanted


def fit_raster(line: TextLine, paper_cols: int) -> TextLine:
    """A Text line placed on the full grid of the raster (the Big5 layout is one column narrower)."""
    if line.align == "left" or len(line.segments) != 1:
        return line
    text = line.segments[0][1]
    free = paper_cols // line.size - width(text)
    return replace(line, segments=((free // 2 if line.align == "center" else free, text),))
