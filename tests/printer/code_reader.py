"""Reading the codes back off a printed picture: zbarimg (Debian zbar-tools) for the payloads, and a
small reader of the QR format information and first mode indicator for what zbar does not report
(error correction level, mask, ECI header or not)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

ZBARIMG = shutil.which("zbarimg")


def zbar(img: Image.Image, symbology: str) -> list[bytes]:
    """Payloads of one symbology (``qrcode`` or ``code39``), as raw bytes. QR codes are read with
    ``-Sbinary``: without it zbar guesses a character set for byte-mode data without an ECI header and
    turns UTF-8 Chinese into Shift-JIS mojibake; so read one QR per picture."""
    if ZBARIMG is None:
        raise RuntimeError("zbarimg not found: install zbar-tools (scripts/setup.sh does)")
    padded = Image.new("1", (img.width + 40, img.height + 40), 255)
    padded.paste(img, (20, 20))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "symbol.png"
        padded.save(path)
        args = [ZBARIMG, "--nodbus", "--raw", "-q", "-Sdisable", f"-S{symbology}.enable"]
        if symbology == "qrcode":
            args.append("-Sbinary")
        r = subprocess.run([*args, str(path)], capture_output=True, timeout=30)
    if r.returncode == 4:  # no symbol found
        return []
    if r.returncode != 0:
        raise RuntimeError(f"zbarimg failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    if symbology == "qrcode":
        return [r.stdout]
    return [line for line in r.stdout.split(b"\n") if line]


@dataclass(frozen=True)
class QrSymbol:
    x: int
    y: int
    size: int  # dots
    modules: int
    matrix: tuple[tuple[int, ...], ...]  # 1 = dark, sampled at module centres

    @property
    def module_dots(self) -> int:
        return self.size // self.modules

    @property
    def version(self) -> int:
        return (self.modules - 17) // 4


def find_qr_pair(img: Image.Image, min_dots: int = 100) -> tuple[QrSymbol, QrSymbol]:
    """The two QR codes of a proof: in each half of the paper, the run of at least ``min_dots``
    consecutive inked rows, and its ink's bounding box."""
    found = []
    half = img.width // 2
    for x0 in (0, half):
        part = ImageOps.invert(img.crop((x0, 0, x0 + half, img.height)).convert("L"))
        inked = [part.crop((0, y, part.width, y + 1)).getbbox() is not None for y in range(part.height)]
        y, run = 0, None
        while y < len(inked):
            if inked[y]:
                end = y
                while end < len(inked) and inked[end]:
                    end += 1
                if end - y >= min_dots:
                    run = (y, end)
                    break
                y = end
            else:
                y += 1
        if run is None:
            raise AssertionError(f"no QR code in the half starting at x={x0}")
        box = part.crop((0, run[0], part.width, run[1])).getbbox()
        left, top, right, bottom = box[0] + x0, box[1] + run[0], box[2] + x0, box[3] + run[0]
        found.append(_sample(img, left, top, right - left, bottom - top))
    return found[0], found[1]


def _sample(img: Image.Image, x: int, y: int, w: int, h: int) -> QrSymbol:
    if w != h:
        raise AssertionError(f"QR code at ({x},{y}) is {w}x{h} dots, not square")
    for modules in range(21, 178, 4):
        if w % modules == 0 and w // modules <= 8:
            break
    else:
        raise AssertionError(f"a {w}-dot code has no QR module count that divides it")
    m = w // modules
    px = img.load()
    matrix = tuple(tuple(1 if px[x + c * m + m // 2, y + r * m + m // 2] == 0 else 0 for c in range(modules))
                   for r in range(modules))
    for r in range(modules):  # every module is a solid m x m square
        for c in range(modules):
            block = img.crop((x + c * m, y + r * m, x + (c + 1) * m, y + (r + 1) * m))
            lo, hi = block.convert("L").getextrema()
            if lo != hi or (lo == 0) != bool(matrix[r][c]):
                raise AssertionError(f"module ({c},{r}) of the code at ({x},{y}) is not a solid square")
    return QrSymbol(x, y, w, modules, matrix)


_MASKS = (
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: x * y % 2 + x * y % 3 == 0,
    lambda x, y: (x * y % 2 + x * y % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + x * y % 3) % 2 == 0,
)
_LEVELS = {1: "L", 0: "M", 3: "Q", 2: "H"}
MODE_NAMES = {0b0001: "numeric", 0b0010: "alphanumeric", 0b0100: "byte", 0b0111: "eci", 0b1000: "kanji"}


def format_and_mode(sym: QrSymbol) -> tuple[str, int, str]:
    """(error correction level, mask, mode of the first segment) read from the modules themselves
    (ISO/IEC 18004: format information beside the top-left finder; the first data codeword starts in
    the bottom-right corner and, interleaved, belongs to the first block)."""
    m = sym.matrix
    bits = 0
    for i in range(6):
        bits |= m[i][8] << i
    bits |= m[7][8] << 6 | m[8][8] << 7 | m[8][7] << 8
    for i in range(9, 15):
        bits |= m[8][14 - i] << i
    data = (bits ^ 0x5412) >> 10
    rem = data
    for _ in range(10):
        rem = rem << 1 ^ (rem >> 9) * 0x537
    if (data << 10 | rem) ^ 0x5412 != bits:
        raise AssertionError(f"format information 0b{bits:015b} fails its BCH check")
    level, mask = _LEVELS[data >> 3], data & 7
    n = sym.modules - 1
    first = [(n, n), (n - 1, n), (n, n - 1), (n - 1, n - 1)]  # (x, y) of the first four data bits
    mode = 0
    for x, y in first:
        mode = mode << 1 | (m[y][x] ^ int(_MASKS[mask](x, y)))
    return level, mask, MODE_NAMES.get(mode, f"0b{mode:04b}")
