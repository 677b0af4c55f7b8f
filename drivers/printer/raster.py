"""Receipts as pictures: each op drawn as a 1-bit strip at the printer's resolution (203 dpi, 8 dots
per mm), the strips stacked per slip. Used for the raster ESC/POS mode, for the codes in every mode and
for PNG previews; PIL mode "1", 0 = ink.

Geometry that the spec fixes (einvoice_spec.md §4.3): both QR codes at exactly the given version,
level L, no ECI header, side by side, top-aligned, same size, at least 15 mm each with at least 2 mm of
quiet zone all round; Code 39 with 1-dot narrow and 3-dot wide elements (335 dots for the 19
characters, so it fits 48 mm with a 10-module quiet zone).

By default the quiet zones lie inside the printable width, which on 384 dots allows 3 dots per QR
module (V6: 15.4 mm). ``edge_quiet_dots`` below 16 lets the paper's unprinted margin (about 4.5 mm
each side of a 57.5 mm roll printed 48 mm wide) complete the outer zones: at 12, V6 codes get 4 dots
per module (20.5 mm), which also halves their bytes (see encode.raster_bytes).
"""
from __future__ import annotations

import functools

from PIL import Image, ImageDraw

from terminal.core.receipt import Barcode39, Columns, Cut, Feed, Logo, QrCodes, Receipt, Rule, Text

from .errors import PrinterError
from .fonts import load_font, resolve_font
from .textfit import COLUMN_DOTS, TextLine, fit

DOTS_PER_MM = 8
TEXT_DOTS = 24  # glyph cell height of a normal line
GLYPH_SLACK = 2
LINE_GAP = 2  # a normal line is 24 + 2 * 2 + 2 = 30 dots, a printer's usual line spacing
QR_QUIET = 2 * DOTS_PER_MM  # spec: >= 0.2 cm around each code
QR_MIN_DOTS = 15 * DOTS_PER_MM  # spec: each code >= 1.5 cm
BARCODE_QUIET = 10  # Code 39 needs 10 narrow modules of quiet zone at each end
BARCODE_PAD = 8
LOGO_MAX_DOTS = 12 * DOTS_PER_MM
RULE_DOTS = 12
CUT_MARK_DOTS = 24
WHITE, INK = 255, 0


class RasterRenderer:
    """Draws ops for a printer ``width_dots`` wide. The font is only opened when text is drawn."""

    def __init__(self, font_path: str | None = None, width_dots: int = 384, *,
                 edge_quiet_dots: int = QR_QUIET) -> None:
        if width_dots < 2 * (QR_MIN_DOTS + 2 * QR_QUIET) or width_dots % 8:
            raise ValueError(f"width_dots must be a multiple of 8 and at least {2 * (QR_MIN_DOTS + 2 * QR_QUIET)}")
        if not 0 <= edge_quiet_dots <= QR_QUIET:
            raise ValueError(f"edge_quiet_dots must be between 0 and {QR_QUIET}")
        self.width = width_dots
        self.cols = width_dots // COLUMN_DOTS
        self.edge_quiet = edge_quiet_dots
        self._font_path = font_path

    # ------------------------------------------------------------------ whole receipts
    def slips(self, receipt: Receipt) -> list[Image.Image]:
        """One picture per slip (the ops up to each Cut), without the cut itself."""
        out, blocks = [], []
        for op in receipt.ops:
            if isinstance(op, Cut):
                out.append(stack(blocks, self.width))
                blocks = []
            else:
                blocks += self.blocks(op)
        return out

    def render(self, receipt: Receipt) -> Image.Image:
        """The whole receipt as one picture, each cut shown as a dotted line."""
        blocks = []
        for slip in self.slips(receipt):
            blocks += [slip, self._cut_mark()]
        return stack(blocks, self.width)

    def blocks(self, op) -> list[Image.Image]:
        if isinstance(op, (Text, Columns)):
            return [self.text_line(line) for line in fit(op, self.cols)]
        if isinstance(op, Barcode39):
            return [self.barcode(op)]
        if isinstance(op, QrCodes):
            return [self.qr_pair(op)]
        if isinstance(op, Logo):
            return [self.logo(op)]
        if isinstance(op, Rule):
            return [self.rule()]
        if isinstance(op, Feed):
            return [Image.new("1", (self.width, max(0, round(op.mm * DOTS_PER_MM))), WHITE)]
        raise TypeError(f"not a receipt op: {op!r}")

    # ------------------------------------------------------------------ ops
    def text_line(self, line: TextLine) -> Image.Image:
        """A text line; double width and height use a font twice the size, double height alone
        stretches the normal glyphs like a printer does."""
        scale = 2 if line.size == 2 else 1
        px = TEXT_DOTS * scale
        font = load_font(resolve_font(self._font_path), px)
        top = font.getbbox("國")[1]
        # the cell gets GLYPH_SLACK rows above and below: some glyphs poke out of the CJK em box
        strip = Image.new("1", (self.width, px + 2 * GLYPH_SLACK), WHITE)
        draw = ImageDraw.Draw(strip)
        draw.fontmode = "1"
        for col, text in line.segments:
            x = col * COLUMN_DOTS * scale
            draw.text((x, GLYPH_SLACK - top), text, font=font, fill=INK)
            if line.bold:
                draw.text((x + 1, GLYPH_SLACK - top), text, font=font, fill=INK)
        if line.tall and scale == 1:
            strip = strip.resize((self.width, 2 * strip.height), Image.NEAREST)
        out = Image.new("1", (self.width, strip.height + LINE_GAP), WHITE)
        out.paste(strip, (0, 0))
        return out

    def barcode(self, op: Barcode39) -> Image.Image:
        from barcode.codex import Code39
        from barcode.errors import IllegalCharacterError

        try:
            modules = Code39(op.data, add_checksum=False).build()[0]
        except IllegalCharacterError as exc:
            raise ValueError(f"{op.data!r} is not standard Code 39: {exc}") from None
        narrow = max(1, (self.width - 2 * BARCODE_QUIET) // len(modules))
        if len(modules) * narrow + 2 * BARCODE_QUIET > self.width:
            raise ValueError(f"Code 39 of {len(op.data)} characters does not fit {self.width} dots")
        height = round(op.height_mm * DOTS_PER_MM)
        row = Image.frombytes("L", (len(modules), 1), bytes(0 if m == "1" else 255 for m in modules))
        bars = row.resize((len(modules) * narrow, height), Image.NEAREST).convert("1")
        out = Image.new("1", (self.width, height + 2 * BARCODE_PAD), WHITE)
        out.paste(bars, ((self.width - bars.width) // 2, BARCODE_PAD))
        return out

    def qr_pair(self, op: QrCodes) -> Image.Image:
        """Both codes at the largest whole module size that leaves 2 mm between them, above and below,
        and ``edge_quiet_dots`` at the paper's edges."""
        codes = [make_qr(text, op.version) for text in (op.left, op.right)]
        n = codes[0].symbol_size(border=0)[0]
        module = (self.width - 2 * self.edge_quiet - 2 * QR_QUIET) // (2 * n)
        size, half = n * module, self.width // 2
        if size < QR_MIN_DOTS:
            raise ValueError(f"QR version {op.version} ({n} modules) cannot be printed 15 mm wide twice with "
                             f"quiet zones on {self.width} dots")
        if half - size >= 2 * QR_QUIET:  # each code centred in its half of the paper
            x_left = (half - size) // 2
            x_right = half + x_left
        else:  # large modules: the codes 2 x 2 mm apart, the rest shared by the edges
            x_left = (self.width - 2 * size - 2 * QR_QUIET) // 2
            x_right = x_left + size + 2 * QR_QUIET
        out = Image.new("1", (self.width, size + 2 * QR_QUIET), WHITE)
        for x, code in zip((x_left, x_right), codes):
            small = Image.frombytes("L", (n, n), bytes(0 if v & 1 else 255 for row in code.matrix for v in row))
            out.paste(small.resize((size, size), Image.NEAREST).convert("1"), (x, QR_QUIET))
        return out

    def logo(self, op: Logo) -> Image.Image:
        try:
            with Image.open(op.path) as src:
                pic = src.convert("L")
        except OSError as exc:
            raise PrinterError("render_failed", f"logo {op.path} cannot be read: {exc}") from None
        pic.thumbnail((self.width, LOGO_MAX_DOTS), Image.LANCZOS)
        out = Image.new("1", (self.width, pic.height + LINE_GAP), WHITE)
        out.paste(pic.convert("1"), ((self.width - pic.width) // 2, 0))
        return out

    def rule(self) -> Image.Image:
        out = Image.new("1", (self.width, RULE_DOTS), WHITE)
        draw = ImageDraw.Draw(out)
        for x in range(0, self.width, 12):
            draw.rectangle((x, RULE_DOTS // 2 - 1, x + 7, RULE_DOTS // 2), fill=INK)
        return out

    def _cut_mark(self) -> Image.Image:
        out = Image.new("1", (self.width, CUT_MARK_DOTS), WHITE)
        draw = ImageDraw.Draw(out)
        for x in range(0, self.width, 4):
            draw.point((x, CUT_MARK_DOTS // 2), fill=INK)
        return out


@functools.lru_cache(maxsize=8)  # a receipt's codes are drawn for the job and again for its PNG
def make_qr(text: str, version: int):
    """A segno QR code at exactly ``version``, level L, UTF-8 bytes without an ECI header; ValueError
    if the text does not fit (segno never picks another version when one is given)."""
    import segno

    code = segno.make_qr(text, error="l", version=version, boost_error=False, encoding="utf-8", eci=False)
    if code.version != version or code.error != "L":  # guards the library's contract
        raise ValueError(f"segno made a {code.designator} code instead of {version}-L")
    return code


def stack(blocks: list[Image.Image], width: int) -> Image.Image:
    out = Image.new("1", (width, sum(b.height for b in blocks)), WHITE)
    y = 0
    for b in blocks:
        out.paste(b, (0, y))
        y += b.height
    return out


def render_png(receipt: Receipt, *, font_path: str | None = None, width_dots: int = 384,
               edge_quiet_dots: int = QR_QUIET) -> Image.Image:
    """The picture of a receipt as the raster mode prints it (cuts shown as dotted lines)."""
    return RasterRenderer(font_path, width_dots, edge_quiet_dots=edge_quiet_dots).render(receipt)
