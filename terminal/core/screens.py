"""What the 128x64 counter OLED says, as data: one ``Screen`` per state of the terminal, in
Traditional Chinese. No pixels here; ``display.render_screen`` draws these.

Layout contract with the renderer: an inverted title bar, then body lines of 12 px (``SMALL``) or
16 px (``LARGE``) whose heights add up to at most ``BODY_PX``, each at most ``WIDTH_PX`` wide. Widths
are estimated per character from the advance widths of the OLED font (an upper bound for its 12 and
16 px strikes); with another font the renderer still shrinks or truncates with "…" if a line does
not fit.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from .carriers import CITIZEN, MOBILE, BuyerChoice, BuyerTaxId, Carrier, Donation
from .numbers import InvoiceNumber

SMALL, LARGE = 12, 16
BODY_PX = 48
WIDTH_PX = 126
# Advance widths of the OLED font's ASCII in twelfths of an em, rounded up over its 12 and 16 px
# strikes (tests/peripherals checks them against the real font). Full-width characters are 12.
_ASCII_TWELFTHS = {ch: w for w, chars in (
    (3, "ijl"), (3.5, "I|"), (4, " !'(),-.:;[]frt{}"), (5, "J`"), (5.5, "vxyz"), (6, '"FLT_cgk'),
    (6.5, "/?XZ\\abdehnopqsu"), (7, "AEPVY"), (7.5, "#$*+0123456789<=>BCKRS^~"), (8, "DGHNOQUw"),
    (8.5, "%&"), (10, "@MWm")) for ch in chars}
_OTHER_NARROW = 10  # any other half-width character: as wide as the widest ASCII
_BREAK_AFTER = "，、。：；！？"


@dataclass(frozen=True)
class Line:
    text: str
    size: int = SMALL  # SMALL or LARGE (pixel height of the font)
    align: str = "left"  # "left" or "center"

    def __post_init__(self) -> None:
        if self.size not in (SMALL, LARGE) or self.align not in ("left", "center"):
            raise ValueError(f"bad line style: size={self.size!r} align={self.align!r}")


@dataclass(frozen=True)
class Screen:
    """``kind`` names the state (ready, pending, issued, error, upload, scan_rejected); ``alert``
    marks a screen that needs the staff's attention (the service maps it to the error LED)."""

    kind: str
    title: str
    lines: tuple[Line, ...] = ()
    alert: bool = False

    def __post_init__(self) -> None:
        used = sum(line.size for line in self.lines)
        if used > BODY_PX:
            raise ValueError(f"{self.kind} screen body is {used} px high, the OLED has {BODY_PX}")

    @property
    def text(self) -> str:
        """All text, one line each, for logs, the status API and tests."""
        return "\n".join([self.title, *(line.text for line in self.lines)])


def text_width(text: str, size: int = SMALL) -> float:
    """Estimated pixel width of ``text`` at ``size`` px (an upper bound for the OLED font)."""
    twelfths = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WFA":  # ambiguous ones (…, ○) are full-width in CJK fonts
            twelfths += 12
        else:
            twelfths += _ASCII_TWELFTHS.get(ch, _OTHER_NARROW)
    return twelfths * size / 12


def fits(text: str, size: int = SMALL) -> bool:
    return text_width(text, size) <= WIDTH_PX


def wrap(text: str, size: int = SMALL) -> list[str]:
    """Break ``text`` into lines that fit: after CJK punctuation or at spaces where possible,
    between any two CJK characters otherwise."""
    lines: list[str] = []
    current = ""
    for word in _words(text):
        candidate = current + word
        if not current or fits(candidate.rstrip(), size):
            current = candidate
        else:
            brk = max(current.rfind(p) for p in _BREAK_AFTER)
            if 0 < brk < len(current) - 1:  # end the line at the clause, carry the rest over
                lines.append(current[:brk + 1])
                current = current[brk + 1:] + word
            else:
                lines.append(current.rstrip())
                current = word.lstrip()
        while not fits(current.rstrip(), size):  # a single word wider than the screen
            cut = _longest_prefix(current, size)
            lines.append(current[:cut])
            current = current[cut:]
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _words(text: str) -> list[str]:
    """Split into breakable units: each CJK character alone, ASCII runs with their trailing space."""
    units: list[str] = []
    run = ""
    for ch in " ".join(text.split()):
        if unicodedata.east_asian_width(ch) in "WF":
            if run:
                units.append(run)
                run = ""
            units.append(ch)
        else:
            run += ch
            if ch == " ":
                units.append(run)
                run = ""
    if run:
        units.append(run)
    return units


def _longest_prefix(text: str, size: int) -> int:
    n = len(text)
    while n > 1 and not fits(text[:n], size):
        n -= 1
    return n


def _clip(lines: list[str], max_lines: int) -> list[str]:
    """At most ``max_lines``; the last kept line ends in "…" when something was cut."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and not fits(last + "…"):
        last = last[:-1]
    kept[-1] = last + "…"
    return kept


def _message_lines(message: str, max_px: int) -> list[Line]:
    """A message in large type if it takes at most two large lines, else in small type."""
    large = wrap(message, LARGE)
    if len(large) <= 2 and len(large) * LARGE <= max_px:
        return [Line(t, LARGE, "center") for t in large]
    return [Line(t) for t in _clip(wrap(message, SMALL), max(1, max_px // SMALL))]


def _one_line(text: str) -> str:
    """``text`` on one line, cut with "…" if it does not fit."""
    text = " ".join(text.split())
    if fits(text):
        return text
    while text and not fits(text + "…"):
        text = text[:-1]
    return text + "…"


def _room(lines: list[Line]) -> int:
    """How many more small lines fit under ``lines``."""
    return (BODY_PX - sum(line.size for line in lines)) // SMALL


def _printable(raw: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in raw)


def ready_screen(period_label: str, numbers_left: int, days_left: int | None,
                 warnings: Sequence[str] = ()) -> Screen:
    """Idle and able to issue: period (e.g. ``113年09-10月``), numbers left in the pool and the
    estimated days they last (None when there is no usage history yet), plus any warnings."""
    if numbers_left < 0 or (days_left is not None and days_left < 0):
        raise ValueError("numbers_left and days_left must not be negative")
    period = Line(f"期別 {period_label}")
    if not warnings:
        days = "可用天數尚無資料" if days_left is None else f"約可用 {days_left} 天"
        return Screen("ready", "可開立發票", (
            period, Line(f"剩餘號碼 {numbers_left} 張"), Line(days), Line("請掃描載具或統編")))
    shown = list(warnings[:2]) if len(warnings) <= 2 else [warnings[0], f"另有 {len(warnings) - 1} 項警告"]
    days = "" if days_left is None else f" 約{days_left}天"
    return Screen("ready", "可開立發票", (
        period, Line(f"剩{numbers_left}張{days}"), *(Line(_one_line("！" + w)) for w in shown)))


_CHOICE_TEXT = {
    MOBILE: ("手機條碼載具", "發票將存入此載具"),
    CITIZEN: ("自然人憑證載具", "發票將存入此載具"),
    "donation": ("捐贈發票 愛心碼", "發票將捐贈此單位"),
    "buyer": ("買方統一編號", "將開立含統編發票"),
}


def pending_screen(choice: BuyerChoice, expires_in_s: int) -> Screen:
    """A scanned carrier / donation code / tax ID waiting for the next sale, shown big so the
    customer can check it, with the seconds until it is cleared."""
    if isinstance(choice, Carrier):
        key, code = choice.type, choice.id
    elif isinstance(choice, Donation):
        key, code = "donation", choice.code
    elif isinstance(choice, BuyerTaxId):
        key, code = "buyer", choice.ban
    else:
        raise TypeError(f"not a buyer choice: {choice!r}")
    title, purpose = _CHOICE_TEXT[key]
    size = LARGE if fits(code, LARGE) else SMALL
    return Screen("pending", title, (
        Line(code, size, "center"), Line(purpose, align="center"),
        Line(f"{max(0, int(expires_in_s))} 秒後自動清除", align="center")))


_OUTCOMES = {
    "printed": ("請取發票",),
    "carrier": ("已存入載具",),
    "donation": ("已捐贈",),
    "queued": ("印表機未就緒", "恢復後自動列印"),
}


def issued_screen(invoice_number: str, outcome: str) -> Screen:
    """The invoice just issued and what happened to it: ``printed`` (take the proof), ``carrier``
    (stored on the carrier), ``donation`` (donated) or ``queued`` (printer not ready yet)."""
    if outcome not in _OUTCOMES:
        raise ValueError(f"unknown issue outcome {outcome!r}: expected one of {sorted(_OUTCOMES)}")
    number = InvoiceNumber.parse(invoice_number)
    printed = f"{number.track}-{number.serial:08d}"
    return Screen("issued", "發票已開立", (
        Line(printed, LARGE, "center"), *(Line(t, align="center") for t in _OUTCOMES[outcome])),
        alert=outcome == "queued")


# Chinese text for the error conditions the terminal knows; pass the one that fits to error_screen.
ERROR_MESSAGES_ZH = {
    "no_numbers": "發票號碼已用完",
    "next_period_missing": "下期字軌未匯入",
    "paper_out": "印表機缺紙",
    "printer_offline": "印表機未連線",
    "clock_not_synced": "時間未同步，暫停開立",
    "upload_backlog": "發票上傳積壓",
    "config_error": "設定錯誤",
    "scanner_missing": "找不到掃描器",
}


def error_screen(code: str, message_zh: str, detail: str = "") -> Screen:
    """A condition the staff must fix. ``message_zh`` is the headline (large when short),
    ``detail`` the specifics (e.g. the config key ``printer.baudrate``), ``code`` the snake_case
    error code for the technician, shown when there is room."""
    lines = _message_lines(message_zh or ERROR_MESSAGES_ZH.get(code, "錯誤"), BODY_PX - SMALL)
    room = _room(lines)
    if detail and room:
        detail_lines = wrap(_printable(detail))
        keep_code_line = bool(code) and len(detail_lines) < room
        lines += [Line(t) for t in _clip(detail_lines, room - keep_code_line)]
    if code and _room(lines):
        lines.append(Line(_one_line(f"代碼 {code}")))
    return Screen("error", "錯誤", tuple(lines), alert=True)


def config_error_screen(key: str, problem_zh: str = "") -> Screen:
    """A config value is missing or wrong: name the key so a technician can fix the file."""
    return error_screen("config_error", "設定錯誤" + (f"：{problem_zh}" if problem_zh else ""), key)


def upload_screen(pending: int, rejected: int, oldest_age_h: float | None) -> Screen:
    """Uploads to the value-added center: waiting, refused, and the age of the oldest waiting one.
    B2C invoices must be on the platform within about 48 h, so past 24 h the screen is an alert."""
    if pending < 0 or rejected < 0:
        raise ValueError("pending and rejected must not be negative")
    late = oldest_age_h is not None and pending > 0 and oldest_age_h >= 24
    if pending == 0:
        age = "全部已上傳"
    else:
        age = f"最久 {oldest_age_h:.1f} 小時" if oldest_age_h is not None else "最久 -- 小時"
    lines = [Line(f"待上傳 {pending} 筆"), Line(f"被退回 {rejected} 筆"), Line(age)]
    if late:
        lines.append(Line("請儘快連線上傳"))
    elif rejected:
        lines.append(Line("請技術人員處理退件"))
    return Screen("upload", "上傳狀態", tuple(lines), alert=late or rejected > 0)


def scan_rejected_screen(message_zh: str, raw: str) -> Screen:
    """A scan that is no carrier, donation code or tax ID: why, and what was read."""
    lines = _message_lines(message_zh, BODY_PX - 2 * SMALL)
    seen = _printable(raw.strip()) or "(空白)"
    lines.append(Line(_one_line(f"讀到 {seen}")))
    if _room(lines):
        lines.append(Line("請重新掃描", align="center"))
    return Screen("scan_rejected", "條碼無法使用", tuple(lines), alert=True)
