"""A strict decoder for the ESC/POS subset the receipt encoder may emit: it rebuilds the paper (raster
bands placed where the printer would put them) and the Big5/GB18030 text lines, and fails on any byte
it does not understand, so an unexpected command in a job is a test failure."""
from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageOps

ESC, GS, FS, LF = 0x1B, 0x1D, 0x1C, 0x0A
TEXT_LINE_DOTS = 30  # paper a native text line takes (the printer's default line spacing)


@dataclass
class Slip:
    bands: list[tuple[int, Image.Image]] = field(default_factory=list)  # (y, picture) in paper dots
    text: list[tuple[int, str, tuple]] = field(default_factory=list)  # (y, line, (w, h, bold, l/c/r))
    height: int = 0

    def image(self, width: int = 384) -> Image.Image:
        """The paper of this slip: raster bands drawn, text lines left blank."""
        out = Image.new("1", (width, self.height), 255)
        for y, band in self.bands:
            out.paste(band, (0, y))
        return out


@dataclass
class Job:
    slips: list[Slip]
    commands: list[tuple]  # every command in order, e.g. ("GS v 0", m, width_bytes, rows)
    tail: Slip  # paper after the last cut (normally empty)


def decode(data: bytes, *, codec: str = "cp950", width: int = 384) -> Job:
    slips, commands = [], []
    slip, chinese, style, line = Slip(), False, (1, 1, False), bytearray()
    gs_size, fs_size, bold, align = 0, 0, False, 0
    i = 0

    def need(n: int) -> bytes:
        if i + n > len(data):
            raise ValueError(f"truncated command at byte {i}")
        return data[i:i + n]

    while i < len(data):
        b = data[i]
        if b == ESC:
            op = need(2)[1]
            if op == ord("@"):
                commands.append(("ESC @",))
                gs_size, fs_size, bold, chinese, align = 0, 0, False, False, 0
                i += 2
            elif op == ord("J"):
                n = need(3)[2]
                commands.append(("ESC J", n))
                slip.height += n
                i += 3
            elif op == ord("E"):
                bold = bool(need(3)[2] & 1)
                commands.append(("ESC E", int(bold)))
                i += 3
            elif op == ord("a"):
                align = need(3)[2]
                if align not in (0, 1, 2):
                    raise ValueError(f"bad ESC a {align} at byte {i}")
                commands.append(("ESC a", align))
                i += 3
            else:
                raise ValueError(f"unexpected ESC 0x{op:02x} at byte {i}")
        elif b == GS:
            op = need(2)[1]
            if op == ord("v"):
                head = need(8)
                if head[2] != ord("0"):
                    raise ValueError(f"unexpected GS v 0x{head[2]:02x} at byte {i}")
                m, wb, rows = head[3], head[4] | head[5] << 8, head[6] | head[7] << 8
                if m > 3 or wb * 8 > width or not wb or not rows:
                    raise ValueError(f"bad GS v 0 header {head.hex()} at byte {i}")
                body = need(8 + wb * rows)[8:]
                band = ImageOps.invert(Image.frombytes("1", (wb * 8, rows), body).convert("L"))  # bit 1 = ink
                band = band.resize((wb * 8 * (2 if m & 1 else 1), rows * (2 if m & 2 else 1)), Image.NEAREST)
                if align:
                    raise ValueError(f"raster image while ESC a {align} is set (byte {i})")
                commands.append(("GS v 0", m, wb, rows))
                slip.bands.append((slip.height, band.convert("1", dither=Image.Dither.NONE)))
                slip.height += band.height
                i += 8 + wb * rows
            elif op == ord("!"):
                gs_size = need(3)[2]
                commands.append(("GS !", gs_size))
                i += 3
            elif op == ord("V"):
                m = need(3)[2]
                if m in (65, 66):
                    n = need(4)[3]
                    commands.append(("GS V", m, n))
                    i += 4
                else:
                    raise ValueError(f"unexpected GS V {m} at byte {i}")
                slips.append(slip)
                slip = Slip()
            else:
                raise ValueError(f"unexpected GS 0x{op:02x} at byte {i}")
        elif b == FS:
            op = need(2)[1]
            if op == ord("&"):
                chinese = True
                commands.append(("FS &",))
                i += 2
            elif op == ord("."):
                chinese = False
                commands.append(("FS .",))
                i += 2
            elif op == ord("!"):
                fs_size = need(3)[2]
                commands.append(("FS !", fs_size))
                i += 3
            else:
                raise ValueError(f"unexpected FS 0x{op:02x} at byte {i}")
        elif b == LF:
            text = bytes(line)
            if any(c >= 0x80 for c in text) and not chinese:
                raise ValueError(f"multi-byte text outside Chinese mode: {text!r}")
            w, h = (gs_size >> 4) + 1, (gs_size & 0x0F) + 1
            if any(c >= 0x80 for c in text) and (w, h) != (1 + bool(fs_size & 4), 1 + bool(fs_size & 8)):
                raise ValueError(f"Chinese character size (FS !) differs from GS ! for {text!r}")
            slip.text.append((slip.height, text.decode(codec), (w, h, bold, "lcr"[align])))
            commands.append(("text", text.decode(codec)))
            slip.height += TEXT_LINE_DOTS * h
            line.clear()
            i += 1
        elif b < 0x20:
            raise ValueError(f"unexpected control byte 0x{b:02x} at byte {i}")
        else:
            line.append(b)
            i += 1
    if line:
        raise ValueError(f"text without a line feed at the end: {bytes(line)!r}")
    return Job(slips, commands, slip)
