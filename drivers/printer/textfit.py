"""Fitting ``Text`` and ``Columns`` ops to the paper: wrapping and placing them on a grid of half-width
columns (a CJK character takes two). Both renderers use this, so a raster receipt and a Big5 one break
their lines in the same places; a 384-dot printer has 32 columns of 12 dots.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from terminal.core.receipt import Columns, Text

COLUMN_DOTS = 12  # half-width cell of a 24-dot printer font (Big5 font A is 12x24 / 24x24)


@dataclass(frozen=True)
class TextLine:
    """One printed line: ``segments`` are (start column, text) in units of this line's cells, which are
    ``size`` times wider than normal ones."""

    segments: tuple[tuple[int, str], ...]
    size: int = 1
    bold: bool = False
    tall: bool = False
    align: str = "left"  # of a Text line; its one segment is already placed accordingly

    @property
    def height_factor(self) -> int:
        return 2 if self.size == 2 or self.tall else 1

    def padded(self) -> str:
        """The line as one string, positions made with spaces (for printers' own fonts)."""
        out = ""
        for col, text in self.segments:
            out += " " * (col - width(out)) + text
        return out


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(char_width(c) for c in text)


def wrap(text: str, cols: int) -> list[str]:
    """Greedy wrap at ``cols`` columns; a Latin word breaks at the last space of the line, if any."""
    lines: list[str] = []
    line, used = "", 0
    for ch in text:
        w = char_width(ch)
        if used + w > cols and line:
            cut = line.rfind(" ")
            if w == 1 and ch != " " and char_width(line[-1]) == 1 and cut > 0:
                lines.append(line[:cut].rstrip())
                line = line[cut + 1:]
            else:
                lines.append(line.rstrip())
                line = ""
            used = width(line)
            if ch == " " and not line:
                continue  # no line starts with the space it broke at
        line += ch
        used += w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def fit(op: Text | Columns, paper_cols: int) -> list[TextLine]:
    """Lay one op out as lines of at most ``paper_cols`` normal columns."""
    if isinstance(op, Text):
        cols = paper_cols // op.size
        out = []
        for part in wrap(op.text, cols):
            free = cols - width(part)
            start = {"left": 0, "center": free // 2, "right": free}[op.align]
            out.append(TextLine(((start, part),), op.size, op.bold, op.tall, op.align))
        return out
    right_w = width(op.right)
    if not op.right:
        return [TextLine(((0, part),), bold=op.bold) for part in wrap(op.left, paper_cols)]
    if not op.left:
        return [TextLine(((paper_cols - right_w, op.right),), bold=op.bold)]
    if right_w > paper_cols:
        raise ValueError(f"{op.right!r} is wider than the paper")
    parts = wrap(op.left, paper_cols)
    lines = [TextLine(((0, p),), bold=op.bold) for p in parts[:-1]]
    last = parts[-1]
    if width(last) + 1 + right_w <= paper_cols:
        lines.append(TextLine(((0, last), (paper_cols - right_w, op.right)), bold=op.bold))
    else:
        lines += [TextLine(((0, last),), bold=op.bold),
                  TextLine(((paper_cols - right_w, op.right),), bold=op.bold)]
    return lines
