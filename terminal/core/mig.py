"""MIG 4.1 XML messages for B2C: F0401 (issue), F0501 (作廢), F0701 (註銷), G0401 (折讓),
G0501 (作廢折讓) and E0402 (空白未使用字軌).

Each message is a frozen dataclass; one declarative schema per message (element order, mandatory or
optional, length, pattern, enumeration) drives the builder, the parser and the field-rule check, so
``parse(build(m)) == m`` holds by construction and a rule is written once. Builders are strict (a rule
broken raises ValidationError naming the element); the parser applies the same rules.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields as dc_fields
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

MIG_VERSION = "4.1"


def namespace(code: str) -> str:
    return f"urn:GEINV:eInvoiceMessage:{code}:{MIG_VERSION}"


@dataclass(frozen=True)
class Rule:
    """One element: ``kind`` is str | int | dec | date | time | group | list."""

    tag: str
    attr: str
    kind: str = "str"
    required: bool = True
    max_len: int | None = None
    pattern: str | None = None
    min_len: int = 1
    node: type | None = None  # dataclass for group/list
    item_tag: str | None = None  # element name of list items
    max_items: int | None = None


_SCHEMA_OF: dict[type, tuple[Rule, ...]] = {}


def _r(tag: str, kind: str = "str", required: bool = True, *, schema: tuple[Rule, ...] | None = None,
       attr: str | None = None, **kw) -> Rule:
    """A rule; the attribute name defaults to the tag in snake_case. ``schema`` registers the child
    rules of a group or list node."""
    if attr is None:
        attr = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", tag).lower()
    rule = Rule(tag, attr, kind, required, **kw)
    if schema is not None:
        _SCHEMA_OF[rule.node] = schema
    return rule


BAN = r"\d{8}"
BUYER_ID = r"\d{8}|0{10}"
NUMBER = r"[A-Z]{2}\d{8}"


# ---------------------------------------------------------------- message dataclasses
@dataclass(frozen=True)
class Party:
    identifier: str
    name: str
    address: str | None = None


@dataclass(frozen=True)
class ProductItem:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_type: str
    amount: Decimal
    sequence_number: str
    unit: str | None = None
    remark: str | None = None
    relate_number: str | None = None


@dataclass(frozen=True)
class InvoiceMain:
    invoice_number: str
    invoice_date: dt.date
    invoice_time: dt.time
    seller: Party
    buyer: Party
    invoice_type: str
    donate_mark: str
    print_mark: str
    random_number: str | None = None
    carrier_type: str | None = None
    carrier_id1: str | None = None
    carrier_id2: str | None = None
    npoban: str | None = None
    main_remark: str | None = None
    relate_number: str | None = None


@dataclass(frozen=True)
class InvoiceAmount:
    sales_amount: Decimal
    free_tax_sales_amount: Decimal
    zero_tax_sales_amount: Decimal
    tax_type: str
    tax_rate: Decimal
    tax_amount: Decimal
    total_amount: Decimal


@dataclass(frozen=True)
class F0401:
    main: InvoiceMain
    details: tuple[ProductItem, ...]
    amount: InvoiceAmount


@dataclass(frozen=True)
class F0501:
    cancel_invoice_number: str
    invoice_date: dt.date
    buyer_id: str
    seller_id: str
    cancel_date: dt.date
    cancel_time: dt.time
    cancel_reason: str
    return_tax_document_number: str | None = None
    remark: str | None = None


@dataclass(frozen=True)
class F0701:
    void_invoice_number: str
    invoice_date: dt.date
    buyer_id: str
    seller_id: str
    void_date: dt.date
    void_time: dt.time
    void_reason: str
    remark: str | None = None


@dataclass(frozen=True)
class AllowanceMain:
    allowance_number: str
    allowance_date: dt.date
    seller: Party
    buyer: Party
    allowance_type: str = "2"


@dataclass(frozen=True)
class AllowanceItem:
    original_invoice_date: dt.date
    original_invoice_number: str
    original_description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    tax: Decimal
    allowance_sequence_number: str
    tax_type: str
    original_sequence_number: str | None = None


@dataclass(frozen=True)
class AllowanceAmount:
    tax_amount: Decimal
    total_amount: Decimal


@dataclass(frozen=True)
class G0401:
    main: AllowanceMain
    details: tuple[AllowanceItem, ...]
    amount: AllowanceAmount


@dataclass(frozen=True)
class G0501:
    cancel_allowance_number: str
    allowance_date: dt.date
    buyer_id: str
    seller_id: str
    cancel_date: dt.date
    cancel_time: dt.time
    cancel_reason: str
    remark: str | None = None


@dataclass(frozen=True)
class BlankMain:
    head_ban: str
    branch_ban: str
    invoice_type: str
    year_month: str
    invoice_track: str


@dataclass(frozen=True)
class BlankItem:
    invoice_begin_no: str
    invoice_end_no: str


@dataclass(frozen=True)
class E0402:
    main: BlankMain
    details: tuple[BlankItem, ...]


# ---------------------------------------------------------------- schemas (element order matters)
def _party(tag: str, ident_pattern: str) -> Rule:
    return _r(tag, "group", node=Party, schema=(
        _r("Identifier", pattern=ident_pattern),
        _r("Name", max_len=60),
        _r("Address", required=tag == "Seller", max_len=100),
    ))


SELLER = _party("Seller", BAN)
BUYER = _party("Buyer", BUYER_ID)
REASON = dict(max_len=20)

SCHEMAS: dict[str, tuple[str, type, tuple[Rule, ...]]] = {
    "F0401": ("Invoice", F0401, (
        _r("Main", "group", node=InvoiceMain, schema=(
            _r("InvoiceNumber", pattern=NUMBER),
            _r("InvoiceDate", "date"),
            _r("InvoiceTime", "time"),
            SELLER, BUYER,
            _r("MainRemark", required=False, max_len=200),
            _r("RelateNumber", required=False, max_len=20),
            _r("InvoiceType", pattern="07|08"),
            _r("DonateMark", pattern="0|1"),
            _r("CarrierType", required=False, max_len=6),
            _r("CarrierId1", required=False, max_len=400),
            _r("CarrierId2", required=False, max_len=400),
            _r("PrintMark", pattern="Y|N"),
            _r("NPOBAN", attr="npoban", required=False, max_len=10),
            _r("RandomNumber", required=False, pattern=r"\d{4}"),
        )),
        _r("Details", "list", node=ProductItem, item_tag="ProductItem", max_items=9999, schema=(
            _r("Description", max_len=500),
            _r("Quantity", "dec"),
            _r("Unit", required=False, max_len=6),
            _r("UnitPrice", "dec"),
            _r("TaxType", pattern="1|2|3|4"),
            _r("Amount", "dec"),
            _r("SequenceNumber", max_len=4),
            _r("Remark", required=False, max_len=120),
            _r("RelateNumber", required=False, max_len=50),
        )),
        _r("Amount", "group", node=InvoiceAmount, schema=(
            _r("SalesAmount", "dec"),
            _r("FreeTaxSalesAmount", "dec"),
            _r("ZeroTaxSalesAmount", "dec"),
            _r("TaxType", pattern="1|2|3|4|9"),
            _r("TaxRate", "dec", pattern=r"0|0\.01|0\.02|0\.05|0\.15|0\.25"),
            _r("TaxAmount", "dec", pattern=r"\d+"),
            _r("TotalAmount", "dec"),
        )),
    )),
    "F0501": ("CancelInvoice", F0501, (
        _r("CancelInvoiceNumber", pattern=NUMBER),
        _r("InvoiceDate", "date"),
        _r("BuyerId", pattern=BUYER_ID),
        _r("SellerId", pattern=BAN),
        _r("CancelDate", "date"),
        _r("CancelTime", "time"),
        _r("CancelReason", **REASON),
        _r("ReturnTaxDocumentNumber", required=False, max_len=60),
        _r("Remark", required=False, max_len=200),
    )),
    "F0701": ("VoidInvoice", F0701, (
        _r("VoidInvoiceNumber", pattern=NUMBER),
        _r("InvoiceDate", "date"),
        _r("BuyerId", pattern=BUYER_ID),
        _r("SellerId", pattern=BAN),
        _r("VoidDate", "date"),
        _r("VoidTime", "time"),
        _r("VoidReason", **REASON),
        _r("Remark", required=False, max_len=200),
    )),
    "G0401": ("Allowance", G0401, (
        _r("Main", "group", node=AllowanceMain, schema=(
            _r("AllowanceNumber", max_len=16),
            _r("AllowanceDate", "date"),
            SELLER, BUYER,
            _r("AllowanceType", pattern="2"),
        )),
        _r("Details", "list", node=AllowanceItem, item_tag="ProductItem", max_items=9999, schema=(
            _r("OriginalInvoiceDate", "date"),
            _r("OriginalInvoiceNumber", pattern=NUMBER),
            _r("OriginalSequenceNumber", required=False, max_len=4),
            _r("OriginalDescription", max_len=500),
            _r("Quantity", "dec"),
            _r("Unit", max_len=6),
            _r("UnitPrice", "dec"),
            _r("Amount", "dec"),
            _r("Tax", "dec", pattern=r"\d+"),
            _r("AllowanceSequenceNumber", max_len=4),
            _r("TaxType", pattern="1|2|3|4"),
        )),
        _r("Amount", "group", node=AllowanceAmount, schema=(
            _r("TaxAmount", "dec", pattern=r"\d+"),
            _r("TotalAmount", "dec"),
        )),
    )),
    "G0501": ("CancelAllowance", G0501, (
        _r("CancelAllowanceNumber", max_len=16),
        _r("AllowanceDate", "date"),
        _r("BuyerId", pattern=BUYER_ID),
        _r("SellerId", pattern=BAN),
        _r("CancelDate", "date"),
        _r("CancelTime", "time"),
        _r("CancelReason", **REASON),
        _r("Remark", required=False, max_len=200),
    )),
    "E0402": ("BranchTrackBlank", E0402, (
        _r("Main", "group", node=BlankMain, schema=(
            _r("HeadBan", pattern=BAN),
            _r("BranchBan", pattern=BAN),
            _r("InvoiceType", pattern="07|08"),
            _r("YearMonth", pattern=r"\d{3}(02|04|06|08|10|12)"),
            _r("InvoiceTrack", pattern="[A-Z]{2}"),
        )),
        _r("Details", "list", node=BlankItem, item_tag="BranchTrackBlankItem", max_items=25000, schema=(
            _r("InvoiceBeginNo", pattern=r"\d{8}"),
            _r("InvoiceEndNo", pattern=r"\d{8}"),
        )),
    )),
}
_CODE_OF = {cls: code for code, (_, cls, _) in SCHEMAS.items()}
_CODE_OF_ROOT = {root: code for code, (root, _, _) in SCHEMAS.items()}


# ---------------------------------------------------------------- rules across elements
def _check_f0401(msg: F0401, path: str) -> None:
    """Appendix C of the reference: Turnkey rejects a B2C invoice that is not exactly one of printed
    proof, carrier or donation; the carrier and donation elements come in complete sets."""
    m, path = msg.main, f"{path}/Main"
    has_carrier = m.carrier_type is not None
    if has_carrier != (m.carrier_id1 is not None) or has_carrier != (m.carrier_id2 is not None):
        raise _fail(f"{path}/CarrierType", "CarrierType, CarrierId1 and CarrierId2 are given together or not at all")
    donated = m.donate_mark == "1"
    if donated != (m.npoban is not None):
        raise _fail(f"{path}/NPOBAN", "NPOBAN is given exactly when DonateMark is 1")
    if donated and m.buyer.identifier != "0" * 10:
        raise _fail(f"{path}/DonateMark", "an invoice with a buyer tax ID cannot be donated")
    if (m.print_mark == "Y") + has_carrier + donated != 1:
        raise _fail(f"{path}/PrintMark", "a B2C invoice is exactly one of: printed proof (PrintMark Y), "
                                         "a carrier, or a donation")


def _check_e0402(msg: E0402, path: str) -> None:
    """Blank ranges must be ordered pairs and must not overlap (the platform rejects the whole package)."""
    previous_end = -1
    for n, item in sorted(enumerate(msg.details), key=lambda p: p[1].invoice_begin_no):
        p = f"{path}/Details/BranchTrackBlankItem[{n}]"
        if item.invoice_begin_no > item.invoice_end_no:
            raise _fail(f"{p}/InvoiceEndNo", "the range ends before it begins")
        if int(item.invoice_begin_no) <= previous_end:
            raise _fail(f"{p}/InvoiceBeginNo", "blank ranges overlap")
        previous_end = int(item.invoice_end_no)


_CROSS_RULES = {F0401: _check_f0401, E0402: _check_e0402}


# ---------------------------------------------------------------- text conversion and rules
def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}: {message}", code="invalid_mig", field=path)


def _to_text(rule: Rule, value: Any, path: str) -> str:
    if rule.kind == "date":
        text = value.strftime("%Y%m%d")
    elif rule.kind == "time":
        text = value.strftime("%H:%M:%S")
    elif rule.kind == "dec":
        try:
            value = Decimal(value)
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise _fail(path, f"{value!r} is not a number") from exc
        if not value.is_finite():
            raise _fail(path, f"{value} is not a finite number")
        if value < 0:
            raise _fail(path, "MIG 4.1 amounts may not be negative")
        text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
    else:
        text = str(value)
    _check_text(rule, text, path)
    return text


# Characters XML 1.0 cannot carry, plus CR, which parsers turn into LF (the round trip would change it).
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


@functools.lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.ASCII)


def _check_text(rule: Rule, text: str, path: str) -> None:
    if rule.max_len is not None and not rule.min_len <= len(text) <= rule.max_len:
        raise _fail(path, f"length must be {rule.min_len}..{rule.max_len}, got {len(text)}")
    if _NOT_XML.search(text):
        raise _fail(path, "contains a character XML cannot carry (control character or surrogate)")
    # re.ASCII: MIG digits are 0-9 only; \d would also accept full-width and other scripts' digits
    if rule.pattern is not None and not _pattern(rule.pattern).fullmatch(text):
        raise _fail(path, f"{text!r} does not match {rule.pattern}")
    if not text:
        raise _fail(path, "must not be empty")


def _from_text(rule: Rule, text: str, path: str) -> Any:
    _check_text(rule, text, path)
    try:
        if rule.kind == "date":
            return dt.datetime.strptime(text, "%Y%m%d").date()
        if rule.kind == "time":
            return dt.datetime.strptime(text, "%H:%M:%S").time()
        if rule.kind == "dec":
            value = Decimal(text)
    except (ValueError, InvalidOperation) as exc:
        raise _fail(path, f"{text!r} is not a valid {rule.kind}") from exc
    if rule.kind == "dec":
        # outside the try: a ValidationError is a ValueError and would lose its reason there
        if not value.is_finite() or value < 0:
            raise _fail(path, f"{text!r}: amount must be a non-negative number")
        return value
    return text


# ---------------------------------------------------------------- build
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _emit(out: list[str], schema: tuple[Rule, ...], obj: Any, path: str, pad: str) -> None:
    """Append the elements of ``obj`` as indented XML text. The messages are text-only elements, so
    writing them directly is exact and about twice as fast as an ElementTree round (it runs on every
    sale, inside the ledger's transaction)."""
    for rule in schema:
        value = getattr(obj, rule.attr)
        p = f"{path}/{rule.tag}"
        if value is None or (rule.kind == "list" and not value):
            if rule.required:
                raise _fail(p, "is mandatory")
            continue
        tag = rule.tag
        if rule.kind == "group":
            out.append(f"{pad}<{tag}>\n")
            _emit(out, _SCHEMA_OF[rule.node], value, p, pad + "  ")
            out.append(f"{pad}</{tag}>\n")
        elif rule.kind == "list":
            if rule.max_items and len(value) > rule.max_items:
                raise _fail(p, f"at most {rule.max_items} items")
            out.append(f"{pad}<{tag}>\n")
            inner, item_tag, item_schema = pad + "    ", rule.item_tag, _SCHEMA_OF[rule.node]
            for n, item in enumerate(value):
                out.append(f"{pad}  <{item_tag}>\n")
                _emit(out, item_schema, item, f"{p}/{item_tag}[{n}]", inner)
                out.append(f"{pad}  </{item_tag}>\n")
            out.append(f"{pad}</{tag}>\n")
        else:
            out.append(f"{pad}<{tag}>{_to_text(rule, value, p).translate(_ESCAPES)}</{tag}>\n")


def build(message: Any) -> bytes:
    """Serialise a message dataclass to MIG 4.1 XML (UTF-8, with declaration and namespace, two-space
    indentation)."""
    code = _CODE_OF.get(type(message))
    if code is None:
        raise TypeError(f"not a MIG message: {type(message).__name__}")
    root_tag, _, schema = SCHEMAS[code]
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root_tag} xmlns="{namespace(code)}">\n']
    _emit(out, schema, message, root_tag, "  ")
    _check_across(message, root_tag)
    out.append(f"</{root_tag}>\n")
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- parse
def _parse_node(el: ET.Element, ns: str, schema: tuple[Rule, ...], cls: type, path: str) -> Any:
    children = list(el)
    expected = {r.tag for r in schema}
    kwargs: dict[str, Any] = {}
    pos = 0
    for child in children:
        if child.tag.startswith("{"):
            cns, _, tag = child.tag[1:].partition("}")
            if cns != ns:
                raise _fail(f"{path}/{tag}", f"wrong namespace {cns}")
        else:
            raise _fail(f"{path}/{child.tag}", "element without the message namespace")
        if tag not in expected:
            raise _fail(f"{path}/{tag}", "unexpected element")
        if all(r.tag != tag for r in schema[pos:]):
            raise _fail(f"{path}/{tag}", "out of order or repeated")
        while schema[pos].tag != tag:
            if schema[pos].required:
                raise _fail(f"{path}/{schema[pos].tag}", "is mandatory (missing or out of order)")
            pos += 1
        rule = schema[pos]
        pos += 1
        p = f"{path}/{tag}"
        if rule.kind == "group":
            kwargs[rule.attr] = _parse_node(child, ns, _SCHEMA_OF[rule.node], rule.node, p)
        elif rule.kind == "list":
            items = []
            for n, item in enumerate(child):
                if item.tag != f"{{{ns}}}{rule.item_tag}":
                    raise _fail(f"{p}/{item.tag}", f"expected {rule.item_tag}")
                items.append(_parse_node(item, ns, _SCHEMA_OF[rule.node], rule.node, f"{p}/{rule.item_tag}[{n}]"))
            if rule.max_items and len(items) > rule.max_items:
                raise _fail(p, f"at most {rule.max_items} items")
            kwargs[rule.attr] = tuple(items)
        else:
            if len(child):
                raise _fail(p, "must not have child elements")
            text = child.text or ""
            # strings keep their exact text (xs:string preserves whitespace); dates and numbers collapse
            kwargs[rule.attr] = _from_text(rule, text if rule.kind == "str" else text.strip(), p)
    for rule in schema[pos:]:
        if rule.required:
            raise _fail(f"{path}/{rule.tag}", "is mandatory")
    for rule in schema:
        if rule.kind == "list" and rule.required and not kwargs.get(rule.attr):
            raise _fail(f"{path}/{rule.tag}", "needs at least one item")
    return cls(**kwargs)


def parse(data: bytes | str) -> Any:
    """Parse MIG 4.1 XML back into its message dataclass; every rule of the builder is checked."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValidationError(f"not well-formed XML: {exc}", code="invalid_mig") from exc
    ns, _, tag = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    code = _CODE_OF_ROOT.get(tag)
    if code is None:
        raise _fail(tag, "unknown message root element")
    if ns != namespace(code):
        raise _fail(tag, f"namespace must be {namespace(code)}, got {ns or 'none'}")
    _, cls, schema = SCHEMAS[code]
    message = _parse_node(root, ns, schema, cls, tag)
    _check_across(message, tag)
    return message


def _check_across(message: Any, path: str) -> None:
    rule = _CROSS_RULES.get(type(message))
    if rule is not None:
        rule(message, path)


def message_code(message: Any) -> str:
    return _CODE_OF[type(message)]


def field_names(cls: type) -> list[str]:
    return [f.name for f in dc_fields(cls)]
