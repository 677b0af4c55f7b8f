"""Invoice numbers (``AB12345678``) and allocated number ranges (字軌) in booklets of 50."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from .errors import ValidationError
from .period import Period

BOOKLET = 50
# ASCII only and matched in full: a trailing newline or non-ASCII digits (int() accepts "١") are errors.
_NUMBER_RE = re.compile(r"([A-Z]{2})-?([0-9]{8})", re.ASCII)
_TRACK_RE = re.compile(r"[A-Z]{2}", re.ASCII)


@dataclass(frozen=True, order=True)
class InvoiceNumber:
    track: str  # the two letters (字軌)
    serial: int  # 0 .. 99_999_999

    def __post_init__(self) -> None:
        if not (isinstance(self.track, str) and _TRACK_RE.fullmatch(self.track)
                and isinstance(self.serial, int) and 0 <= self.serial <= 99_999_999):
            raise ValidationError(f"invalid invoice number {self.track!r}/{self.serial!r}: expected 2 "
                                  "uppercase letters and a serial of 0..99999999", code="invalid_invoice_number",
                                  message_zh="發票號碼格式錯誤")

    @classmethod
    def parse(cls, text: str) -> "InvoiceNumber":
        """Accepts ``AB12345678`` and the printed form ``AB-12345678``."""
        m = _NUMBER_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if not m:
            raise ValidationError(f"invalid invoice number {text!r}: expected 2 uppercase letters + "
                                  "8 digits, e.g. AB12345678", code="invalid_invoice_number",
                                  message_zh="發票號碼格式錯誤")
        return cls(m.group(1), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.track}{self.serial:08d}"

    @property
    def printed(self) -> str:
        """As printed on the 證明聯: ``AB-12345678``."""
        return f"{self.track}-{self.serial:08d}"


@dataclass(frozen=True, order=True)
class NumberRange:
    """A contiguous range of numbers of one track in one period; ``start``/``end`` inclusive."""

    period: Period
    track: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not (isinstance(self.track, str) and _TRACK_RE.fullmatch(self.track)):
            raise ValidationError(f"invalid track {self.track!r}: expected 2 uppercase letters",
                                  code="invalid_range")
        if not (0 <= self.start <= self.end <= 99_999_999):
            raise ValidationError(f"invalid range {self.start:08d}-{self.end:08d}: start must not "
                                  "exceed end, both 8 digits", code="invalid_range")

    @property
    def count(self) -> int:
        return self.end - self.start + 1

    @property
    def is_booklets(self) -> bool:
        """True when the range is whole booklets of 50 (…00/…50 to …49/…99)."""
        return self.start % BOOKLET == 0 and self.end % BOOKLET == BOOKLET - 1

    @property
    def booklets(self) -> int:
        return self.count // BOOKLET if self.is_booklets else 0

    def require_booklets(self) -> "NumberRange":
        if not self.is_booklets:
            raise ValidationError(
                f"range {self} is not whole booklets of 50 (must start at …00/…50 and end at …49/…99)",
                code="invalid_range", message_zh="字軌區間須為50張一本")
        return self

    def contains(self, number: InvoiceNumber) -> bool:
        return number.track == self.track and self.start <= number.serial <= self.end

    def overlaps(self, other: "NumberRange") -> bool:
        return (self.period == other.period and self.track == other.track
                and self.start <= other.end and other.start <= self.end)

    def __iter__(self) -> Iterator[InvoiceNumber]:
        return (InvoiceNumber(self.track, s) for s in range(self.start, self.end + 1))

    def __str__(self) -> str:
        return f"{self.period.code} {self.track}{self.start:08d}-{self.end:08d}"


def merge_serials(serials: Iterable[int]) -> list[tuple[int, int]]:
    """Merge serial numbers into maximal inclusive runs: [1,2,3,7] -> [(1,3),(7,7)]."""
    runs: list[tuple[int, int]] = []
    for s in sorted(set(serials)):
        if runs and runs[-1][1] + 1 == s:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


def blank_runs(rng: NumberRange, used: Iterable[int]) -> list[tuple[int, int]]:
    """The unused parts of ``rng`` (holes included), as inclusive runs for an E0402 report."""
    used_set = {s for s in used if rng.start <= s <= rng.end}
    runs: list[tuple[int, int]] = []
    cursor = rng.start
    for a, b in merge_serials(used_set):
        if a > cursor:
            runs.append((cursor, a - 1))
        cursor = b + 1
    if cursor <= rng.end:
        runs.append((cursor, rng.end))
    return runs
