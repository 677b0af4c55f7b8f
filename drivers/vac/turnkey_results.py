"""Read the platform's answers that Turnkey downloads (ProcessResult, SummaryResult) into records:
which message (type and reference number) was accepted or refused, and why.

The official MIG 4.1 XSD of these two messages was not available when this was written, so the reader
is deliberately tolerant of namespaces and element order and strict about meaning:

- ProcessResult (one file per processed upload): every element with a ``ResultCode`` (or ``Status``)
  child and a reference child is a record. ``ResultCode`` 0 (or Status OK/WARNING) is acceptance,
  anything else a refusal whose reason is ``ErrorCode``/``ErrorMessage``/``ResultMessage``. This is the
  shape Turnkey's manual describes (transcribed in latte1855/turnbridge docs/turnkey/manual/08).
- SummaryResult (daily): references listed under a ``Good`` element are accepted, under ``Failed``
  refused; the message type comes from the enclosing ``Message``'s ``MessageType``.
- Reference: ``InvoiceNumber`` (also ``ReferenceNumber``, ``AllowanceNumber``, and the Cancel/Void
  variants); for E0402, ``YearMonth:InvoiceTrack``. The message type comes from a ``MessageType`` child,
  an ancestor's, or the file's directory (``Unpack/<category>/<type>/...``).

A file whose root is neither raises ``NotAResult``; a result file that does not make sense raises
``ResultFileError``: nothing in it is acknowledged, so a wrong guess can never drop a message.
Parsing uses defusedxml: a DTD or entity declaration is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from terminal.core.ports import MESSAGE_TYPES

RESULT_ROOTS = ("ProcessResult", "SummaryResult")
REFERENCE_TAGS = ("InvoiceNumber", "ReferenceNumber", "AllowanceNumber", "CancelInvoiceNumber",
                  "VoidInvoiceNumber", "CancelAllowanceNumber")
ACCEPT_STATUS = {"0", "OK", "WARNING", "SUCCESS"}
MAX_RESULT_BYTES = 16 << 20


class NotAResult(ValueError):
    """The XML is some other message (e.g. an E0501 allocation Turnkey also unpacks)."""


class ResultFileError(ValueError):
    """A ProcessResult/SummaryResult that cannot be read safely; its messages stay pending."""


@dataclass(frozen=True)
class ResultRecord:
    message_type: str
    reference: str
    accepted: bool
    code: str
    text: str


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child_text(el: Element, *names: str) -> str | None:
    """The text of the first child named like ``names[0]``, else ``names[1]``, …"""
    children = {}
    for child in el:
        children.setdefault(_local(child.tag), child)
    for name in names:
        if name in children:
            return (children[name].text or "").strip()
    return None


def _reference(el: Element) -> str | None:
    ref = _child_text(el, *REFERENCE_TAGS)
    if ref:
        return ref
    track, year_month = _child_text(el, "InvoiceTrack"), _child_text(el, "YearMonth")
    if track and year_month:
        return f"{year_month}:{track}"
    return None


def _message_type(el: Element, parents: dict[Element, Element], hint: str | None) -> str | None:
    node: Element | None = el
    while node is not None:
        text = _child_text(node, "MessageType")
        if text is None:
            info = next((c for c in node if _local(c.tag) == "Info"), None)
            text = _child_text(info, "MessageType") if info is not None else None
        if text:
            return text
        node = parents.get(node)
    return hint


def parse_results(data: bytes, *, type_hint: str | None = None, source: str = "") -> list[ResultRecord]:
    """The records of one ProcessResult or SummaryResult file.

    :raises NotAResult: the root element is not a result message.
    :raises ResultFileError: not well-formed, a DTD, no records, an unknown message type or status.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    where = f" ({source})" if source else ""
    if len(data) > MAX_RESULT_BYTES:
        raise ResultFileError(f"result file larger than {MAX_RESULT_BYTES} bytes{where}")
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise ResultFileError(f"unreadable XML{where}: {type(exc).__name__}: {exc}") from None
    kind = _local(root.tag)
    if kind not in RESULT_ROOTS:
        raise NotAResult(f"{kind} is not a result message{where}")
    parents = {child: parent for parent in root.iter() for child in parent}
    records: list[ResultRecord] = []
    for el in root.iter():
        name = _local(el.tag)
        status = _child_text(el, "ResultCode", "Status")
        if status is not None:
            ref = _reference(el)
            if ref is None:
                continue  # a batch-level status without a message reference
            accepted = status.upper() in ACCEPT_STATUS
            code = _child_text(el, "ErrorCode") or status
            text = _child_text(el, "ErrorMessage", "ResultMessage", "Description") or ""
            records.append(_record(el, parents, type_hint, ref, accepted, code, text, where))
        elif name in ("Good", "Failed"):
            for sub in el.iter():
                if _local(sub.tag) in REFERENCE_TAGS:
                    ref = (sub.text or "").strip()
                else:
                    track, year_month = _child_text(sub, "InvoiceTrack"), _child_text(sub, "YearMonth")
                    ref = f"{year_month}:{track}" if track and year_month else ""
                if ref:
                    good = name == "Good"
                    records.append(_record(el, parents, type_hint, ref, good, "" if good else "Failed",
                                           "" if good else "listed as failed in the SummaryResult", where))
    if not records:
        raise ResultFileError(f"{kind} without any message reference{where}")
    return records


def _record(el: Element, parents: dict, hint: str | None, ref: str, accepted: bool, code: str, text: str,
            where: str) -> ResultRecord:
    message_type = _message_type(el, parents, hint)
    if message_type not in MESSAGE_TYPES:
        raise ResultFileError(f"result for {ref} has no known MessageType ({message_type!r}){where}")
    return ResultRecord(message_type, ref, accepted, code, text)
