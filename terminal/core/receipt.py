"""What goes on the paper: the 電子發票證明聯 and the 交易明細 slip as a printer-independent list of ops.

A ``Receipt`` is a "print program": text lines, the Code 39 barcode, the QR pair, rules, feeds and
cuts, top to bottom (einvoice_spec.md §4.1). The renderers in ``drivers.printer`` turn it into ESC/POS
bytes or a PNG; nothing here knows fonts, dots or code pages: the renderers wrap the text to the
paper and place the codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .carriers import CITIZEN
from .codes import MIN_QR_VERSION, QrPair
from .invoice import Invoice

TITLE = "電子發票證明聯"
REPRINT_MARK = "補印"
TEST_MARK = "測試"
DETAIL_TITLE = "交易明細"
B2B_FORMAT = "格式 25"  # printed only when the buyer has a tax ID
ALIGNS = ("left", "center", "right")


@dataclass(frozen=True)
class Text:
    """One paragraph; the renderer wraps it to the paper width.

    ``size`` 2 doubles width and height (period, number); ``tall`` doubles the height only (title).
    """

    text: str
    size: int = 1
    bold: bool = False
    align: str = "left"
    tall: bool = False

    def __post_init__(self) -> None:
        if self.size not in (1, 2):
            raise ValueError(f"text size must be 1 or 2, got {self.size}")
        if self.align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, got {self.align!r}")
        if "\n" in self.text:
            raise ValueError("a Text op holds one paragraph: split lines into separate ops")


@dataclass(frozen=True)
class Columns:
    """A line with ``left`` at the left edge and ``right`` at the right edge ("隨機碼 5829 … 總計 175").
    If both do not fit, ``left`` wraps and ``right`` ends the last line (or gets a line of its own)."""

    left: str
    right: str = ""
    bold: bool = False


@dataclass(frozen=True)
class Barcode39:
    """The proof's 1-D barcode: standard Code 39 (not Full ASCII), no check digit, no text line."""

    data: str
    height_mm: float = 6.0


@dataclass(frozen=True)
class QrCodes:
    """The two QR codes, side by side, top-aligned, both at exactly ``version``, level L."""

    left: str
    right: str
    version: int

    def __post_init__(self) -> None:
        if not self.right.startswith("**"):
            raise ValueError("the right QR code always starts with '**'")
        if self.version < MIN_QR_VERSION:
            raise ValueError(f"the proof's QR codes are version {MIN_QR_VERSION} or higher, got {self.version}")


@dataclass(frozen=True)
class Logo:
    """The merchant's logo (營業人識別標章), a picture file the renderer scales to fit."""

    path: str


@dataclass(frozen=True)
class Rule:
    """A dashed separator line."""


@dataclass(frozen=True)
class Feed:
    mm: float


@dataclass(frozen=True)
class Cut:
    """End of a slip: feed past the cutter or tear bar, then cut if the printer has a cutter."""


Op = Union[Text, Columns, Barcode39, QrCodes, Logo, Rule, Feed, Cut]


@dataclass(frozen=True)
class Receipt:
    """``key`` names the job (the invoice number); ``kind`` is ``proof`` or ``details``."""

    key: str
    kind: str
    ops: tuple[Op, ...]

    def __post_init__(self) -> None:
        if not self.ops or not isinstance(self.ops[-1], Cut):
            raise ValueError("a receipt ends with a Cut")


def proof_layout(inv: Invoice, qr: QrPair, *, store_name: str, reprint: bool, test: bool = False,
                 details: bool | None = None, footer: str | None = None, logo: str | None = None) -> Receipt:
    """The 電子發票證明聯 (spec §4.1 field order).

    :param reprint: every print after the first original says 補印 next to the title.
    :param test: non-production prints say 測試.
    :param details: print the transaction details; always (and by default) for a buyer with a tax ID,
        where they follow the proof uncut. For a consumer they come after a cut, so the proof itself
        keeps its 9 cm.
    :param logo: path of a logo picture printed instead of the store name.
    :raises ValueError: a carrier/donation invoice (it has no proof), a QR pair of another invoice, or
        ``details=False`` for a buyer with a tax ID.
    """
    if not inv.prints_proof:
        raise ValueError(f"invoice {inv.number} went to a carrier or a donation: it has no printed proof "
                         "(print detail_slip_layout instead)")
    if not qr.left.startswith(str(inv.number)):
        raise ValueError(f"the QR codes given belong to another invoice than {inv.number}")
    if details is None:
        details = bool(inv.buyer_tax_id)
    elif not details and inv.buyer_tax_id:
        raise ValueError("an invoice with a buyer tax ID always prints its transaction details")

    title = (TEST_MARK + " " if test else "") + TITLE + (REPRINT_MARK if reprint else "")
    ops: list[Op] = [*_header(store_name, logo),
                     Text(title, bold=True, align="center", tall=True),
                     Text(inv.period.label, size=2, bold=True, align="center"),
                     Text(inv.number.printed, size=2, bold=True, align="center"),
                     Columns(_timestamp(inv), B2B_FORMAT if inv.buyer_tax_id else ""),
                     Columns(f"隨機碼 {inv.random_code}", f"總計 {inv.total}")]
    if inv.buyer_tax_id:
        ops.append(Columns(f"銷售額 {inv.sales_amount}", f"稅額 {inv.tax_amount}"))
    ops += [Columns(f"賣方 {inv.seller.tax_id}", f"買方 {inv.buyer_tax_id}" if inv.buyer_tax_id else ""),
            Barcode39(inv.barcode),
            QrCodes(qr.left, qr.right, qr.version)]
    if footer:
        ops += [Text(line, align="center") for line in footer.splitlines() if line.strip()]
    if details and inv.buyer_tax_id:
        ops += [Rule(), Text(DETAIL_TITLE, bold=True, align="center"), *_detail_lines(inv)]
    elif details:
        ops += [Cut(), *_header(store_name, None), Text(DETAIL_TITLE + (REPRINT_MARK if reprint else ""),
                                                        bold=True, align="center", tall=True),
                Columns(f"發票號碼 {inv.number.printed}"), Columns(_timestamp(inv)), *_detail_lines(inv)]
    ops.append(Cut())
    return Receipt(str(inv.number), "proof", tuple(ops))


def detail_slip_layout(inv: Invoice, *, store_name: str, reprint: bool = False) -> Receipt:
    """The 交易明細 for a sale whose invoice went to a carrier or a donation: no barcodes, no 證明聯
    title, and the carrier or donation code so the customer can check it."""
    ops: list[Op] = [*_header(store_name, None),
                     Text(DETAIL_TITLE + (REPRINT_MARK if reprint else ""), bold=True, align="center", tall=True),
                     Columns(f"發票號碼 {inv.number.printed}"), Columns(_timestamp(inv))]
    if inv.carrier is not None:
        shown = inv.carrier.id if inv.carrier.type != CITIZEN else _mask(inv.carrier.id)
        ops.append(Columns(f"載具 {inv.carrier.kind_zh}", shown))
    if inv.donation is not None:
        ops.append(Columns("捐贈 愛心碼", inv.donation.code))
    if inv.buyer_tax_id:
        ops.append(Columns("買方統編", inv.buyer_tax_id))
    ops += [*_detail_lines(inv), Text("此為交易明細，非電子發票證明聯", align="center"), Cut()]
    return Receipt(str(inv.number), "details", tuple(ops))


def _header(store_name: str, logo: str | None) -> list[Op]:
    if logo:
        return [Logo(logo)]
    return [Text(line, bold=True, align="center") for line in (store_name or "").splitlines() if line.strip()]


def _timestamp(inv: Invoice) -> str:
    return inv.issued_at.strftime("%Y-%m-%d %H:%M:%S")


def _detail_lines(inv: Invoice) -> list[Op]:
    ops: list[Op] = [Rule()]
    for item in inv.items:
        left = item.name if item.quantity == 1 else f"{item.name} {item.unit_price}x{item.quantity}"
        ops.append(Columns(left, str(item.amount)))
    ops += [Rule(), Columns("銷售額", str(inv.sales_amount)), Columns("稅額", str(inv.tax_amount)),
            Columns("總計", str(inv.total), bold=True), Feed(2)]
    return ops


def _mask(text: str) -> str:
    """A citizen-certificate number shows its first 2 and last 4 characters."""
    return text[:2] + "*" * (len(text) - 6) + text[-4:]
