"""Receipts without a printer: the simulate-mode printer that keeps every receipt as a PNG and its
ESC/POS bytes, and ``preview`` (``receipt-terminal preview``), which renders an invoice given as JSON."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Mapping

from terminal.core.carriers import validate_carrier, validate_donation
from terminal.core.errors import ValidationError
from terminal.core.invoice import Invoice, Seller
from terminal.core.money import make_item, split_tax, validate_lines
from terminal.core.numbers import InvoiceNumber
from terminal.core.receipt import Receipt, detail_slip_layout, proof_layout
from terminal.core.taxid import validate_ban

from .encode import Encoder
from .errors import PrinterError
from .raster import QR_QUIET, render_png
from .status import STATES, PrinterStatus


class PngFilePrinter:
    """The printer of simulate mode, with ReceiptPrinter's interface. Each job is written as
    ``<out_dir>/<key>.png`` (what the paper would show) and ``<key>.bin`` (the ESC/POS bytes a printer
    with ``profile`` would get); a later job with the same key gets ``<key>-2.png``, ``-3`` …, so
    reprints never overwrite the original. ``simulate(state)`` makes it report a printer problem."""

    def __init__(self, out_dir, *, mode: str = "raster", font_path: str | None = None, width_dots: int = 384,
                 profile: str = "POS-5890", qr_edge_dots: int = QR_QUIET) -> None:
        from escpos.capabilities import get_profile

        self.out_dir = Path(out_dir)
        self.font_path = font_path
        self.width_dots = width_dots
        self.qr_edge_dots = qr_edge_dots
        self.encoder = Encoder(mode=mode, font_path=font_path, width_dots=width_dots, profile=get_profile(profile),
                               qr_edge_dots=qr_edge_dots)
        self.printed: list[tuple[Path, Path]] = []
        self._state = "ok"

    @property
    def mode(self) -> str:
        return self.encoder.mode

    def simulate(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        self._state = state

    def status(self) -> PrinterStatus:
        return PrinterStatus.of(self._state, f"simulated printer writing to {self.out_dir}")

    def print_receipt(self, receipt: Receipt) -> None:
        if self._state not in ("ok", "paper_near_end"):
            raise PrinterError(self._state, f"simulated printer: {self._state}", status=self.status())
        try:
            job = self.encoder.encode(receipt)
            picture = render_png(receipt, font_path=self.font_path, width_dots=self.width_dots,
                                 edge_quiet_dots=self.qr_edge_dots)
        except PrinterError:
            raise
        except (ValueError, TypeError) as exc:
            raise PrinterError("render_failed", f"receipt {receipt.key} cannot be rendered: {exc}") from None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem, n = receipt.key, 1
        while (self.out_dir / f"{stem}.png").exists():
            n += 1
            stem = f"{receipt.key}-{n}"
        png, binary = self.out_dir / f"{stem}.png", self.out_dir / f"{stem}.bin"
        _write_atomic(binary, job)
        picture.save(png.with_suffix(".png.tmp"), format="PNG")
        os.replace(png.with_suffix(".png.tmp"), png)
        self.printed.append((png, binary))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def preview(invoice_json: Mapping[str, Any], out_dir, *, qr_key: str | None = None,
            seller_tax_id: str | None = None, store_name: str = "", mode: str = "raster",
            font_path: str | None = None) -> dict:
    """Render one invoice without issuing it: ``out_dir/<number>.png`` and ``.bin``.

    ``invoice_json`` holds the fields of the ``POST /v1/sales`` response plus ``items``, and
    ``seller_tax_id`` and ``qr_key`` unless given here (the file's own values win). A carrier or
    donation invoice renders as the 交易明細 slip the terminal would print. Returns the exact
    ``barcode``, ``qr_left`` and ``qr_right`` payloads and the two paths.
    """
    inv, key = invoice_from_json(invoice_json, qr_key=qr_key, seller_tax_id=seller_tax_id)
    qr = inv.qr_codes(key)
    if inv.prints_proof:
        receipt = proof_layout(inv, qr, store_name=store_name, reprint=False)
    else:
        receipt = detail_slip_layout(inv, store_name=store_name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, binary = out / f"{inv.number}.png", out / f"{inv.number}.bin"
    try:
        job = Encoder(mode=mode, font_path=font_path).encode(receipt)
        picture = render_png(receipt, font_path=font_path)
    except (ValueError, TypeError) as exc:
        raise PrinterError("render_failed", f"invoice {inv.number} cannot be rendered: {exc}") from None
    _write_atomic(binary, job)
    picture.save(png, format="PNG")
    return {"barcode": inv.barcode, "qr_left": qr.left, "qr_right": qr.right, "png": png, "bin": binary}


def invoice_from_json(data: Mapping[str, Any], *, qr_key: str | None = None,
                      seller_tax_id: str | None = None) -> tuple[Invoice, str]:
    """A core Invoice (seller name and address empty) and the QR key from an invoice JSON object;
    ValidationError naming the field for anything missing or inconsistent."""
    if not isinstance(data, Mapping):
        raise ValidationError("the invoice must be a JSON object", code="malformed")
    number = InvoiceNumber.parse(_field(data, "invoice_number", str))
    issued_at = _issued_at(_field(data, "issued_at", str))
    random_code = _field(data, "random_code", str)
    if len(random_code) != 4 or not random_code.isdigit() or not random_code.isascii():
        raise _bad("random_code", f"random_code must be 4 digits, got {random_code!r}")
    raw_items = _field(data, "items", list)
    items = []
    for n, it in enumerate(raw_items):
        if not isinstance(it, Mapping):
            raise _bad(f"items[{n}]", f"items[{n}] must be an object")
        items.append(make_item(it.get("name"), it.get("quantity"), it.get("unit_price"), index=n))
    total = validate_lines(items, data.get("total"))
    buyer = data.get("buyer_tax_id")
    if buyer is not None:
        buyer = validate_ban(buyer, field="buyer_tax_id")
    sales, tax = data.get("sales_amount"), data.get("tax_amount")
    if sales is None and tax is None:
        sales, tax = split_tax(total)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (sales, tax)) or sales + tax != total:
        raise _bad("sales_amount", f"sales_amount + tax_amount must equal total {total}, got {sales!r} + {tax!r}")
    if buyer and (sales, tax) != split_tax(total):
        raise _bad("sales_amount", f"with a buyer tax ID the total {total} splits into {split_tax(total)}")
    period = data.get("period")
    if period is not None and period != _period_code(issued_at):
        raise _bad("period", f"period {period!r} does not match issued_at ({_period_code(issued_at)})")
    carrier = data.get("carrier")
    if carrier is not None:
        if not isinstance(carrier, Mapping) or set(carrier) != {"type", "id"}:
            raise _bad("carrier", 'carrier must be null or {"type": ..., "id": ...}')
        carrier = validate_carrier(carrier["type"], carrier["id"])
    donation = data.get("donation_code")
    if donation is not None:
        donation = validate_donation(donation)
    seller = validate_ban(data.get("seller_tax_id") or seller_tax_id or "", field="seller_tax_id")
    key = data.get("qr_key") or qr_key
    if not isinstance(key, str) or len(key) != 32 or any(c not in "0123456789abcdefABCDEF" for c in key):
        raise _bad("qr_key", "qr_key must be the 32 hex digits of the QR AES key (in the file or the config)")
    inv = Invoice(number=number, issued_at=issued_at, random_code=random_code, seller=Seller(seller, "", ""),
                  items=tuple(items), total=total, sales_amount=sales, tax_amount=tax, buyer_tax_id=buyer,
                  carrier=carrier, donation=donation)
    return inv, key


def _field(data: Mapping, name: str, kind: type):
    value = data.get(name)
    if not isinstance(value, kind):
        raise _bad(name, f"{name} is missing or not a {kind.__name__}")
    return value


def _bad(field: str, message: str) -> ValidationError:
    return ValidationError(message, code="invalid_invoice", field=field)


def _issued_at(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad("issued_at", f"issued_at {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise _bad("issued_at", "issued_at needs its UTC offset, e.g. 2024-09-15T14:03:11+08:00")
    return value


def _period_code(issued_at: dt.datetime) -> str:
    from terminal.core.period import Period

    return Period.of(issued_at.date()).code
