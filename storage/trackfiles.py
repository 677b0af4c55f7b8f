"""Reading number-range (字軌) allocation files: a CSV, or the MIG E0501 (``InvoiceAssignNo``) and E0401
(``BranchTrack``) XML. Each range comes back with where it was found (``file line N``), so that every
error, here or in the ledger's checks, names the line.

CSV: a header row, then one range per row. Column names (any case; spaces and underscores ignored):
``period`` (also YearMonth, 期別), ``track`` (InvoiceTrack, prefix, 字軌), ``start`` (begin,
InvoiceBeginNo, 起號), ``end`` (InvoiceEndNo, 迄號); optional ``booklets`` (InvoiceBooklet, 本數),
checked against the range, and ``invoice_type`` (InvoiceType, 發票類別), which must be 07. Blank lines
and lines starting with ``#`` are skipped. UTF-8 (with or without BOM) or Big5 (cp950).

Periods are the ROC code (``11310``) or Gregorian ``YYYYMM`` of either month of the period
(``202409``/``202410``); the MIG sources disagree on which form E0401/E0501 carry, so both are read.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from terminal.core.errors import ValidationError
from terminal.core.numbers import BOOKLET, NumberRange
from terminal.core.period import Period

MAX_FILE_BYTES = 5 * 1024 * 1024
INVOICE_TYPE = "07"  # 一般稅額: the only type this terminal issues

_HEADERS = {
    "period": {"period", "yearmonth", "期別"},
    "track": {"track", "invoicetrack", "prefix", "字軌"},
    "start": {"start", "begin", "invoicebeginno", "起號"},
    "end": {"end", "invoiceendno", "迄號"},
    "booklets": {"booklets", "invoicebooklet", "本數"},
    "invoice_type": {"invoicetype", "發票類別"},
}
_SERIAL_RE = re.compile(r"(?:([A-Z]{2})-?)?([0-9]{8})", re.ASCII)


@dataclass(frozen=True)
class FoundRange:
    range: NumberRange
    where: str  # "tracks.csv line 3"


def _bad(where: str, message: str) -> ValidationError:
    return ValidationError(f"{where}: {message}", code="invalid_range_file", field=where,
                           message_zh="字軌檔內容錯誤")


def parse_period(text: str, where: str) -> Period:
    text = (text or "").strip()
    if re.fullmatch(r"[0-9]{5}", text, re.ASCII):
        try:
            return Period.parse(text)
        except ValidationError as exc:
            raise _bad(where, exc.message) from None
    if re.fullmatch(r"[0-9]{6}", text, re.ASCII) and 1 <= int(text[4:]) <= 12 and 1912 <= int(text[:4]) <= 2910:
        return Period.of(dt.date(int(text[:4]), int(text[4:]), 1))
    raise _bad(where, f"period {text!r} must be the ROC code (11310) or YYYYMM (202410)")


def _serial(text: str, track: str, what: str, where: str) -> int:
    m = _SERIAL_RE.fullmatch((text or "").strip())
    if not m or (m.group(1) and m.group(1) != track):
        raise _bad(where, f"{what} {text!r} must be 8 digits (or the full number {track}12345678)")
    return int(m.group(2))


def _make_range(period: Period, track: str, start: str, end: str, booklets: str | None,
                invoice_type: str | None, where: str) -> FoundRange:
    track = (track or "").strip()
    if not re.fullmatch(r"[A-Z]{2}", track, re.ASCII):
        raise _bad(where, f"track {track!r} must be 2 uppercase letters")
    if invoice_type is not None and invoice_type.strip() != INVOICE_TYPE:
        raise _bad(where, f"invoice type {invoice_type.strip()!r}: this terminal issues type 07 only")
    a, b = _serial(start, track, "start", where), _serial(end, track, "end", where)
    try:
        rng = NumberRange(period, track, a, b)
    except ValidationError as exc:
        raise _bad(where, exc.message) from None
    if booklets is not None and booklets.strip():
        if not booklets.strip().isdigit() or int(booklets) * BOOKLET != rng.count:
            raise _bad(where, f"booklets {booklets.strip()!r} does not match the range {a:08d}-{b:08d} "
                              f"({rng.count} numbers)")
    return FoundRange(rng, where)


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _bad(name, "the file is neither UTF-8 nor Big5 text")


def parse_csv(data: bytes, name: str) -> list[FoundRange]:
    text = _decode(data, name)
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    if not rows:
        raise _bad(name, "no ranges in the file")
    header_line, header = rows[0]
    columns: dict[str, int] = {}
    for i, title in enumerate(header):
        key = re.sub(r"[\s_]", "", title).lower()
        for column, names in _HEADERS.items():
            if key in names:
                if column in columns:
                    raise _bad(f"{name} line {header_line}", f"column {column!r} appears twice")
                columns[column] = i
    missing = [c for c in ("period", "track", "start", "end") if c not in columns]
    if missing:
        raise _bad(f"{name} line {header_line}", f"the header needs the columns period, track, start, end "
                                                 f"(missing: {', '.join(missing)})")
    found = []
    for n, row in rows[1:]:
        where = f"{name} line {n}"
        if len(row) < len(header):
            raise _bad(where, f"expected {len(header)} columns, found {len(row)}")
        get = {c: row[i] for c, i in columns.items()}
        found.append(_make_range(parse_period(get["period"], where), get["track"], get["start"], get["end"],
                                 get.get("booklets"), get.get("invoice_type"), where))
    if not found:
        raise _bad(name, "no ranges in the file")
    return found


@dataclass
class _Node:
    tag: str  # local name, namespace dropped
    line: int
    text: str = ""
    children: list["_Node"] = field(default_factory=list)

    def child(self, tag: str) -> "_Node | None":
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str, name: str, *, required: bool = True) -> str | None:
        c = self.child(tag)
        if c is None:
            if required:
                raise _bad(f"{name} line {self.line}", f"<{self.tag}> has no <{tag}>")
            return None
        return c.text.strip()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


def _parse_xml(data: bytes, name: str) -> _Node:
    """A small tree with line numbers (ElementTree has none). DOCTYPEs are refused outright, so no
    entity expansion can happen."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(tag, _attrs):
        node = _Node(tag.rsplit(" ", 1)[-1], parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(_tag):
        stack.pop()

    def chars(text):
        if stack:
            stack[-1].text += text

    def doctype(*_):
        raise _bad(f"{name} line {parser.CurrentLineNumber}", "DOCTYPE declarations are not accepted")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler, parser.StartDoctypeDeclHandler = chars, doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _bad(f"{name} line {exc.lineno}", f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    return root[0]


def parse_xml(data: bytes, name: str) -> list[FoundRange]:
    root = _parse_xml(data, name)
    found: list[FoundRange] = []
    for node in root.walk():
        where = f"{name} line {node.line}"
        if node.tag == "InvoiceAssignNo":  # E0501: one flat range per element
            found.append(_make_range(
                parse_period(node.value("YearMonth", name), where), node.value("InvoiceTrack", name),
                node.value("InvoiceBeginNo", name), node.value("InvoiceEndNo", name),
                node.value("InvoiceBooklet", name, required=False), node.value("InvoiceType", name, required=False),
                where))
        elif node.tag == "BranchTrack":  # E0401: Main says the period and track, Details the ranges
            main = node.child("Main")
            if main is None:
                raise _bad(where, "<BranchTrack> has no <Main>")
            period = parse_period(main.value("YearMonth", name), f"{name} line {main.line}")
            track, kind = main.value("InvoiceTrack", name), main.value("InvoiceType", name, required=False)
            details = node.child("Details")
            items = [c for c in details.children if c.tag == "BranchTrackItem"] if details else []
            if not items:
                items = [main]
            for item in items:
                found.append(_make_range(period, track, item.value("InvoiceBeginNo", name),
                                         item.value("InvoiceEndNo", name),
                                         item.value("InvoiceBooklet", name, required=False), kind,
                                         f"{name} line {item.line}"))
    if not found:
        raise _bad(f"{name} line {root.line}", f"<{root.tag}> holds no E0501 <InvoiceAssignNo> or E0401 "
                                               "<BranchTrack> ranges")
    return found


def read_range_file(path: str | Path) -> list[FoundRange]:
    """The ranges in a CSV or E0401/E0501 XML file (told apart by content, not by name)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _bad(path.name, f"the file is {size} bytes; range files are at most {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read the range file {path}: {exc.strerror}", code="range_file_unreadable",
                              field=str(path), message_zh="無法讀取字軌檔") from None
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return parse_xml(data, path.name)
    return parse_csv(data, path.name)
