"""Turn the terminal's invoices, cancellations, allowances and blank ranges into MIG 4.1 messages."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from . import mig
from .errors import ValidationError
from .invoice import Invoice, Seller
from .money import split_tax
from .numbers import InvoiceNumber, NumberRange, blank_runs
from .period import Period

CONSUMER = "0000000000"
TAX_TAXABLE = "1"


def _seller(s: Seller) -> mig.Party:
    return mig.Party(s.tax_id, s.name, s.address)


def _buyer(ban: str | None) -> mig.Party:
    # A consumer is 10 zeros, name likewise; a business buyer's name is its BAN unless known.
    return mig.Party(ban, ban) if ban else mig.Party(CONSUMER, CONSUMER)


def f0401(inv: Invoice, *, printed: bool) -> mig.F0401:
    """F0401 for an issued invoice. ``printed`` says whether an original 證明聯 exists (PrintMark)."""
    if printed and not inv.prints_proof:
        raise ValidationError("an invoice on a carrier or donated has no printed proof", code="invalid_mig")
    if not printed and inv.prints_proof:
        # Turnkey rejects a B2C invoice with neither proof, carrier nor donation (reference, Appendix C)
        raise ValidationError("an invoice without a carrier or donation is uploaded only once its proof is "
                              "printed (PrintMark Y)", code="invalid_mig", field="printed")
    carrier = inv.carrier
    main = mig.InvoiceMain(
        invoice_number=str(inv.number), invoice_date=inv.issued_at.date(),
        invoice_time=inv.issued_at.time().replace(microsecond=0, tzinfo=None),
        seller=_seller(inv.seller), buyer=_buyer(inv.buyer_tax_id), invoice_type="07",
        donate_mark="1" if inv.donation else "0", print_mark="Y" if printed else "N",
        random_number=inv.random_code,
        carrier_type=carrier.type if carrier else None,
        carrier_id1=carrier.id if carrier else None, carrier_id2=carrier.id if carrier else None,
        npoban=inv.donation.code if inv.donation else None,
        relate_number=inv.sale_id[:20] or None)
    details = tuple(
        mig.ProductItem(description=it.name, quantity=Decimal(it.quantity), unit_price=Decimal(it.unit_price),
                        tax_type=TAX_TAXABLE, amount=Decimal(it.amount), sequence_number=f"{n:04d}")
        for n, it in enumerate(inv.items, start=1))
    amount = mig.InvoiceAmount(
        sales_amount=Decimal(inv.sales_amount), free_tax_sales_amount=Decimal(0),
        zero_tax_sales_amount=Decimal(0), tax_type=TAX_TAXABLE, tax_rate=Decimal("0.05"),
        tax_amount=Decimal(inv.tax_amount), total_amount=Decimal(inv.total))
    return mig.F0401(main, details, amount)


def _check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 20:
        raise ValidationError("reason must be 1 to 20 characters", code="invalid_reason", field="reason",
                              message_zh="原因須為1至20字")
    return reason.strip()


def f0501(inv: Invoice, at: dt.datetime, reason: str, *, return_tax_document: str | None = None) -> mig.F0501:
    """作廢 (cancel) an invoice."""
    return mig.F0501(str(inv.number), inv.issued_at.date(), inv.buyer_tax_id or CONSUMER, inv.seller.tax_id,
                     at.date(), at.time().replace(microsecond=0, tzinfo=None), _check_reason(reason),
                     return_tax_document_number=return_tax_document)


def f0701(inv: Invoice, at: dt.datetime, reason: str) -> mig.F0701:
    """註銷 (void for re-upload with the same number)."""
    return mig.F0701(str(inv.number), inv.issued_at.date(), inv.buyer_tax_id or CONSUMER, inv.seller.tax_id,
                     at.date(), at.time().replace(microsecond=0, tzinfo=None), _check_reason(reason))


@dataclass(frozen=True)
class AllowanceLine:
    """One credited line: ``amount`` is the tax-inclusive NT$ refunded for ``quantity`` units of
    the original line ``line_no`` (1-based)."""

    line_no: int
    quantity: int
    amount: int


def g0401(inv: Invoice, allowance_number: str, at: dt.datetime, lines: Sequence[AllowanceLine], *,
          unit: str = "個") -> mig.G0401:
    """折讓: amounts per line are untaxed with the tax separate (5 % split of the refund)."""
    if not lines:
        raise ValidationError("an allowance needs at least one line", code="invalid_allowance", field="lines")
    details = []
    for n, line in enumerate(lines, start=1):
        if not 1 <= line.line_no <= len(inv.items):
            raise ValidationError(f"line {line.line_no} is not on invoice {inv.number}",
                                  code="invalid_allowance", field=f"lines[{n - 1}].line_no")
        item = inv.items[line.line_no - 1]
        if not 1 <= line.quantity <= item.quantity or not 1 <= line.amount <= item.amount:
            raise ValidationError(f"line {line.line_no}: quantity/amount exceed the original line",
                                  code="invalid_allowance", field=f"lines[{n - 1}]")
        untaxed, tax = split_tax(line.amount)
        details.append(mig.AllowanceItem(
            original_invoice_date=inv.issued_at.date(), original_invoice_number=str(inv.number),
            original_description=item.name, quantity=Decimal(line.quantity), unit=unit,
            # MIG decimals carry at most 7 places; 95 / 3 must not become a 28-digit fraction
            unit_price=(Decimal(untaxed) / Decimal(line.quantity)).quantize(Decimal("1E-7")).normalize(),
            amount=Decimal(untaxed), tax=Decimal(tax), allowance_sequence_number=str(n),
            tax_type=TAX_TAXABLE, original_sequence_number=f"{line.line_no:04d}"))
    main = mig.AllowanceMain(allowance_number, at.date(), _seller(inv.seller), _buyer(inv.buyer_tax_id))
    amount = mig.AllowanceAmount(tax_amount=sum((d.tax for d in details), Decimal(0)),
                                 total_amount=sum((d.amount for d in details), Decimal(0)))
    return mig.G0401(main, tuple(details), amount)


def g0501(allowance: mig.G0401, at: dt.datetime, reason: str) -> mig.G0501:
    m = allowance.main
    return mig.G0501(m.allowance_number, m.allowance_date, m.buyer.identifier, m.seller.identifier,
                     at.date(), at.time().replace(microsecond=0, tzinfo=None), _check_reason(reason))


def e0402(rng_list: Sequence[NumberRange], used: Iterable[InvoiceNumber], *, head_ban: str,
          branch_ban: str | None = None) -> list[mig.E0402]:
    """Blank-number reports for one period: one message per track, holes and tails included."""
    by_track: dict[tuple[Period, str], list[mig.BlankItem]] = {}
    used_by_track: dict[str, set[int]] = {}
    for number in used:
        used_by_track.setdefault(number.track, set()).add(number.serial)
    for rng in sorted(rng_list):
        runs = blank_runs(rng, used_by_track.get(rng.track, ()))
        by_track.setdefault((rng.period, rng.track), []).extend(
            mig.BlankItem(f"{a:08d}", f"{b:08d}") for a, b in runs)
    return [mig.E0402(mig.BlankMain(head_ban, branch_ban or head_ban, "07", period.code, track), tuple(items))
            for (period, track), items in sorted(by_track.items()) if items]
