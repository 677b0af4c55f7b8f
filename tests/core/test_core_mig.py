"""MIG 4.1 XML: the messages builders (terminal.core.messages) and the schema-driven build/parse
(terminal.core.mig), checked against the reference's samples (§5.9) and the rules of Appendix C."""
import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.core import messages, mig
from terminal.core.errors import ValidationError
from terminal.core.messages import AllowanceLine
from terminal.core.numbers import InvoiceNumber, NumberRange
from terminal.core.period import Period

TAIPEI = dt.timezone(dt.timedelta(hours=8))
CANCEL_AT = dt.datetime(2024, 9, 16, 10, 0, 0, tzinfo=TAIPEI)
ALLOWANCE_AT = dt.datetime(2024, 11, 5, 11, 20, 0, tzinfo=TAIPEI)
ROOTS = {"F0401": "Invoice", "F0501": "CancelInvoice", "F0701": "VoidInvoice", "G0401": "Allowance",
         "G0501": "CancelAllowance", "E0402": "BranchTrackBlank"}


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def leaves(xml: bytes | str) -> list[tuple[str, str]]:
    """Every leaf element as (path, text), in document order: the element-by-element view of a message."""
    out = []

    def walk(el, path):
        kids = list(el)
        if not kids:
            out.append((path, el.text or ""))
        for n, kid in enumerate(kids):
            walk(kid, f"{path}/{local(kid.tag)}" + (f"[{n}]" if local(kid.tag) in {"ProductItem",
                                                                                 "BranchTrackBlankItem"} else ""))

    root = ET.fromstring(xml)
    walk(root, local(root.tag))
    return out


def children(xml: bytes, path: str) -> list[str]:
    root = ET.fromstring(xml)
    ns = {"m": root.tag[1:].partition("}")[0]}
    el = root.find("/".join(f"m:{p}" for p in path.split("/")), ns) if path else root
    return [local(c.tag) for c in el]


def no_sale_id(inv):
    return dataclasses.replace(inv, sale_id="")


@pytest.fixture
def vector_c_carrier(make_invoice):
    return make_invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)],
                        carrier={"type": "3J0002", "id": "/ABC+123"})


@pytest.fixture
def vector_c_donated(make_invoice):
    return make_invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)], donation_code="88888")


@pytest.fixture
def allowance(vector_c):
    return messages.g0401(vector_c, "AL1131105000001", ALLOWANCE_AT, [AllowanceLine(2, 1, 45)])


@pytest.fixture
def all_messages(vector_c, vector_d, vector_e, vector_c_donated, allowance):
    rng = NumberRange(Period(2024, 10), "AB", 12345650, 12345699)
    [blank] = messages.e0402([rng], [InvoiceNumber("AB", s) for s in range(12345650, 12345681)],
                             head_ban="04595257")
    return {
        "F0401 printed": messages.f0401(vector_c, printed=True),
        "F0401 carrier": messages.f0401(vector_e, printed=False),
        "F0401 donation": messages.f0401(vector_c_donated, printed=False),
        "F0401 buyer BAN": messages.f0401(vector_d, printed=True),
        "F0501": messages.f0501(vector_c, CANCEL_AT, "退貨重開"),
        "F0701": messages.f0701(vector_e, CANCEL_AT, "載具號碼錯誤"),
        "G0401": allowance,
        "G0501": messages.g0501(allowance, ALLOWANCE_AT + dt.timedelta(hours=1), "折讓開錯"),
        "E0402": blank,
    }


MESSAGE_NAMES = ["F0401 printed", "F0401 carrier", "F0401 donation", "F0401 buyer BAN", "F0501", "F0701",
                 "G0401", "G0501", "E0402"]


# ---------------------------------------------------------------- every message: namespace, round trip
@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_namespace_root_and_exact_round_trip(all_messages, name):
    message = all_messages[name]
    code = name.split()[0]
    xml = mig.build(message)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(xml)
    assert root.tag == f"{{urn:GEINV:eInvoiceMessage:{code}:4.1}}{ROOTS[code]}"
    assert all(el.tag.startswith(f"{{urn:GEINV:eInvoiceMessage:{code}:4.1}}") for el in root.iter())
    assert mig.message_code(message) == code
    parsed = mig.parse(xml)
    assert parsed == message
    assert mig.build(parsed) == xml
    assert mig.parse(xml.decode("utf-8")) == message


# ---------------------------------------------------------------- F0401 variants (§2.2 matrix)
def test_f0401_printed_consumer(all_messages):
    m = all_messages["F0401 printed"].main
    assert (m.print_mark, m.donate_mark, m.carrier_type, m.npoban) == ("Y", "0", None, None)
    assert m.buyer == mig.Party("0000000000", "0000000000")
    assert m.random_number == "5829" and m.relate_number == "POS-AB12345678"
    assert (m.invoice_date, m.invoice_time) == (dt.date(2024, 9, 15), dt.time(14, 30, 5))


def test_f0401_carrier(all_messages):
    m = all_messages["F0401 carrier"].main
    assert (m.print_mark, m.donate_mark, m.carrier_type, m.carrier_id1, m.carrier_id2) == \
        ("N", "0", "3J0002", "/ABC+123", "/ABC+123")


def test_f0401_donation(all_messages):
    m = all_messages["F0401 donation"].main
    assert (m.print_mark, m.donate_mark, m.npoban, m.carrier_type) == ("N", "1", "88888", None)


def test_f0401_buyer_ban(all_messages):
    msg = all_messages["F0401 buyer BAN"]
    assert (msg.main.print_mark, msg.main.donate_mark) == ("Y", "0")
    assert msg.main.buyer.identifier == "22099131"
    a = msg.amount
    assert (a.sales_amount, a.tax_amount, a.total_amount, a.tax_rate) == (1314, 66, 1380, Decimal("0.05"))
    # items stay tax-inclusive, the header carries the split
    assert [(d.description, d.amount) for d in msg.details] == [("水管除油酵素錠三罐", 1380)]


@pytest.mark.parametrize("name", ["F0401 printed", "F0401 carrier", "F0401 donation", "F0401 buyer BAN"])
def test_f0401_amount_invariant(all_messages, name):
    a = all_messages[name].amount
    assert a.total_amount == a.sales_amount + a.free_tax_sales_amount + a.zero_tax_sales_amount + a.tax_amount
    assert [d.sequence_number for d in all_messages[name].details] == \
        [f"{n:04d}" for n in range(1, len(all_messages[name].details) + 1)]


# ---------------------------------------------------------------- Appendix C, one rule at a time
def test_g0401_product_item_has_allowance_sequence_number_and_unit_and_no_sequence_number(all_messages):
    xml = mig.build(all_messages["G0401"])
    assert children(xml, "Details/ProductItem") == [
        "OriginalInvoiceDate", "OriginalInvoiceNumber", "OriginalSequenceNumber", "OriginalDescription",
        "Quantity", "Unit", "UnitPrice", "Amount", "Tax", "AllowanceSequenceNumber", "TaxType"]
    with pytest.raises(ValidationError) as e:
        mig.build(dataclasses.replace(all_messages["G0401"], details=(
            dataclasses.replace(all_messages["G0401"].details[0], unit=None),)))
    assert e.value.field == "Allowance/Details/ProductItem[0]/Unit"


def test_g0401_amount_holds_only_tax_and_total(all_messages):
    xml = mig.build(all_messages["G0401"])
    assert children(xml, "Amount") == ["TaxAmount", "TotalAmount"]
    assert children(xml, "Main") == ["AllowanceNumber", "AllowanceDate", "Seller", "Buyer", "AllowanceType"]
    assert all_messages["G0401"].main.allowance_type == "2"


def test_g0501_is_flat(all_messages):
    xml = mig.build(all_messages["G0501"])
    assert children(xml, "") == ["CancelAllowanceNumber", "AllowanceDate", "BuyerId", "SellerId",
                                 "CancelDate", "CancelTime", "CancelReason"]
    assert all(len(el) == 0 for el in ET.fromstring(xml))


def test_b2c_invoice_is_exactly_one_of_printed_carrier_donation(all_messages, vector_c, vector_e,
                                                                vector_c_donated):
    # the builder refuses both ways of breaking the rule
    with pytest.raises(ValidationError) as e:
        messages.f0401(vector_c, printed=False)  # nothing at all: Turnkey's ERR folder
    assert e.value.field == "printed"
    for inv in (vector_e, vector_c_donated):
        with pytest.raises(ValidationError):
            messages.f0401(inv, printed=True)
    # mig itself, building: every combination but the three valid ones
    base = all_messages["F0401 printed"]
    carrier = dict(carrier_type="3J0002", carrier_id1="/ABC+123", carrier_id2="/ABC+123")
    donation = dict(donate_mark="1", npoban="88888")
    for label, change in {"nothing": dict(print_mark="N"), "printed + carrier": carrier,
                          "printed + donation": donation,
                          "carrier + donation": dict(print_mark="N", **carrier, **donation)}.items():
        with pytest.raises(ValidationError) as e:
            mig.build(dataclasses.replace(base, main=dataclasses.replace(base.main, **change)))
        assert e.value.field == "Invoice/Main/PrintMark", label
    # and parsing: the same combinations forged by editing valid XML
    xml = {name: mig.build(all_messages[name]).decode() for name in MESSAGE_NAMES[:3]}
    forged = {
        "nothing": xml["F0401 printed"].replace("<PrintMark>Y<", "<PrintMark>N<"),
        "printed + carrier": xml["F0401 carrier"].replace("<PrintMark>N<", "<PrintMark>Y<"),
        "printed + donation": xml["F0401 donation"].replace("<PrintMark>N<", "<PrintMark>Y<"),
        "carrier + donation": xml["F0401 carrier"].replace("<DonateMark>0<", "<DonateMark>1<").replace(
            "<PrintMark>N</PrintMark>", "<PrintMark>N</PrintMark><NPOBAN>88888</NPOBAN>"),
    }
    for label, text in forged.items():
        with pytest.raises(ValidationError) as e:
            mig.parse(text)
        assert e.value.field == "Invoice/Main/PrintMark", label
        assert "exactly one" in e.value.message


@pytest.mark.parametrize("name, change, edit, field", [
    ("F0401 carrier", dict(carrier_id2=None), lambda x: x.replace("<CarrierId2>/ABC+123</CarrierId2>", ""),
     "Invoice/Main/CarrierType"),
    ("F0401 carrier", dict(carrier_type=None), lambda x: x.replace("<CarrierType>3J0002</CarrierType>", ""),
     "Invoice/Main/CarrierType"),
    ("F0401 donation", dict(npoban=None), lambda x: x.replace("<NPOBAN>88888</NPOBAN>", ""),
     "Invoice/Main/NPOBAN"),
    ("F0401 donation", dict(donate_mark="0"), lambda x: x.replace("<DonateMark>1<", "<DonateMark>0<"),
     "Invoice/Main/NPOBAN"),
])
def test_f0401_carrier_and_donation_elements_come_in_sets(all_messages, name, change, edit, field):
    base = all_messages[name]
    with pytest.raises(ValidationError) as e:
        mig.build(dataclasses.replace(base, main=dataclasses.replace(base.main, **change)))
    assert e.value.field == field
    with pytest.raises(ValidationError) as e:
        mig.parse(edit(mig.build(base).decode()))
    assert e.value.field == field


def test_f0401_buyer_ban_cannot_donate(vector_d):
    base = messages.f0401(vector_d, printed=True)
    msg = dataclasses.replace(base, main=dataclasses.replace(base.main, print_mark="N", donate_mark="1",
                                                              npoban="88888"))
    with pytest.raises(ValidationError) as e:
        mig.build(msg)
    assert e.value.field == "Invoice/Main/DonateMark"


# ---------------------------------------------------------------- §5.9 samples, element by element
F0401_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:GEINV:eInvoiceMessage:F0401:4.1">
  <Main>
    <InvoiceNumber>AB12345678</InvoiceNumber>
    <InvoiceDate>20240915</InvoiceDate>
    <InvoiceTime>14:30:05</InvoiceTime>
    <Seller><Identifier>04595257</Identifier><Name>範例咖啡有限公司</Name><Address>臺北市中正區範例路1號</Address></Seller>
    <Buyer><Identifier>0000000000</Identifier><Name>0000000000</Name></Buyer>
    <InvoiceType>07</InvoiceType>
    <DonateMark>0</DonateMark>
    <PrintMark>Y</PrintMark>
    <RandomNumber>5829</RandomNumber>
  </Main>
  <Details>
    <ProductItem><Description>拿鐵咖啡</Description><Quantity>2</Quantity><UnitPrice>65</UnitPrice><TaxType>1</TaxType><Amount>130</Amount><SequenceNumber>0001</SequenceNumber></ProductItem>
    <ProductItem><Description>可頌</Description><Quantity>1</Quantity><UnitPrice>45</UnitPrice><TaxType>1</TaxType><Amount>45</Amount><SequenceNumber>0002</SequenceNumber></ProductItem>
  </Details>
  <Amount>
    <SalesAmount>167</SalesAmount><FreeTaxSalesAmount>0</FreeTaxSalesAmount><ZeroTaxSalesAmount>0</ZeroTaxSalesAmount>
    <TaxType>1</TaxType><TaxRate>0.05</TaxRate><TaxAmount>8</TaxAmount><TotalAmount>175</TotalAmount>
  </Amount>
</Invoice>
"""
F0401_CARRIER_SAMPLE = F0401_SAMPLE.replace(
    "<DonateMark>0</DonateMark>\n    <PrintMark>Y</PrintMark>",
    "<DonateMark>0</DonateMark><CarrierType>3J0002</CarrierType><CarrierId1>/ABC+123</CarrierId1>"
    "<CarrierId2>/ABC+123</CarrierId2>\n    <PrintMark>N</PrintMark>")
F0401_DONATION_SAMPLE = F0401_SAMPLE.replace(
    "<DonateMark>0</DonateMark>\n    <PrintMark>Y</PrintMark>",
    "<DonateMark>1</DonateMark>\n    <PrintMark>N</PrintMark><NPOBAN>88888</NPOBAN>")
F0501_SAMPLE = """<CancelInvoice xmlns="urn:GEINV:eInvoiceMessage:F0501:4.1">
  <CancelInvoiceNumber>AB12345678</CancelInvoiceNumber><InvoiceDate>20240915</InvoiceDate>
  <BuyerId>0000000000</BuyerId><SellerId>04595257</SellerId>
  <CancelDate>20240916</CancelDate><CancelTime>10:00:00</CancelTime><CancelReason>退貨重開</CancelReason>
</CancelInvoice>
"""
E0402_SAMPLE = """<BranchTrackBlank xmlns="urn:GEINV:eInvoiceMessage:E0402:4.1">
  <Main><HeadBan>04595257</HeadBan><BranchBan>04595257</BranchBan><InvoiceType>07</InvoiceType>
        <YearMonth>11310</YearMonth><InvoiceTrack>AB</InvoiceTrack></Main>
  <Details><BranchTrackBlankItem><InvoiceBeginNo>12345681</InvoiceBeginNo><InvoiceEndNo>12345699</InvoiceEndNo></BranchTrackBlankItem></Details>
</BranchTrackBlank>
"""
G0401_SAMPLE = """<Allowance xmlns="urn:GEINV:eInvoiceMessage:G0401:4.1">
  <Main>
    <AllowanceNumber>AL1131105000001</AllowanceNumber><AllowanceDate>20241105</AllowanceDate>
    <Seller><Identifier>04595257</Identifier><Name>範例咖啡有限公司</Name><Address>臺北市中正區範例路1號</Address></Seller>
    <Buyer><Identifier>0000000000</Identifier><Name>0000000000</Name></Buyer>
    <AllowanceType>2</AllowanceType>
  </Main>
  <Details><ProductItem>
    <OriginalInvoiceDate>20240915</OriginalInvoiceDate><OriginalInvoiceNumber>AB12345678</OriginalInvoiceNumber>
    <OriginalSequenceNumber>2</OriginalSequenceNumber><OriginalDescription>可頌</OriginalDescription>
    <Quantity>1</Quantity><UnitPrice>43</UnitPrice><Amount>43</Amount><Tax>2</Tax>
    <AllowanceSequenceNumber>1</AllowanceSequenceNumber><TaxType>1</TaxType>
  </ProductItem></Details>
  <Amount><TaxAmount>2</TaxAmount><TotalAmount>43</TotalAmount></Amount>
</Allowance>
"""


def _same_elements(sample: str, message) -> None:
    assert leaves(mig.build(message)) == [(p, t.strip()) for p, t in leaves(sample)]
    assert mig.parse(sample.encode("utf-8")) == message


@pytest.mark.parametrize("sample, fixture", [
    (F0401_SAMPLE, "vector_c"),
    (F0401_CARRIER_SAMPLE, "vector_c_carrier"),
    (F0401_DONATION_SAMPLE, "vector_c_donated"),
])
def test_f0401_samples(request, sample, fixture):
    inv = no_sale_id(request.getfixturevalue(fixture))  # the samples carry no RelateNumber
    _same_elements(sample, messages.f0401(inv, printed=inv.prints_proof))


def test_f0501_sample(vector_c):
    _same_elements(F0501_SAMPLE, messages.f0501(vector_c, CANCEL_AT, "退貨重開"))


def test_e0402_sample():
    """Pool AB12345650–12345699, last used AB12345680 → blank 12345681–12345699."""
    rng = NumberRange(Period.parse("11310"), "AB", 12345650, 12345699)
    used = [InvoiceNumber("AB", s) for s in range(12345650, 12345681)]
    [blank] = messages.e0402([rng], used, head_ban="04595257")
    _same_elements(E0402_SAMPLE, blank)


def test_g0401_sample_follows_appendix_c_where_they_differ(vector_c, allowance):
    """The §5.9 sample (illustrative, not XSD-checked) has no Unit, which Appendix C says Turnkey requires:
    the parser rejects it naming Unit. With Unit added, and OriginalSequenceNumber written as the
    original line's SequenceNumber (0002, as in the F0401 sample), it is exactly what we build."""
    with pytest.raises(ValidationError) as e:
        mig.parse(G0401_SAMPLE)
    assert e.value.field == "Allowance/Details/ProductItem[0]/Unit"
    fixed = (G0401_SAMPLE.replace("<Quantity>1</Quantity>", "<Quantity>1</Quantity><Unit>個</Unit>")
             .replace("<OriginalSequenceNumber>2<", "<OriginalSequenceNumber>0002<"))
    _same_elements(fixed, allowance)
    item = allowance.details[0]
    assert (item.amount, item.tax, item.unit_price) == (43, 2, 43)  # 45 tax-inclusive refunded


# ---------------------------------------------------------------- builders' own rules
def test_g0401_amounts_and_unit_price_precision(make_invoice):
    inv = make_invoice("AB12345678", "5829", [("便當", 3, 100), ("湯", 1, 30)])
    msg = messages.g0401(inv, "AL2", ALLOWANCE_AT, [AllowanceLine(1, 3, 100), AllowanceLine(2, 1, 30)])
    assert [(d.amount, d.tax, d.original_sequence_number, d.allowance_sequence_number) for d in msg.details] == \
        [(95, 5, "0001", "1"), (29, 1, "0002", "2")]
    assert msg.details[0].unit_price == Decimal("31.6666667")  # MIG decimals: at most 7 places
    assert (msg.amount.tax_amount, msg.amount.total_amount) == (6, 124)
    assert b"<UnitPrice>31.6666667</UnitPrice>" in mig.build(msg)


@pytest.mark.parametrize("lines, field", [
    ([], "lines"),
    ([AllowanceLine(3, 1, 45)], "lines[0].line_no"),
    ([AllowanceLine(0, 1, 45)], "lines[0].line_no"),
    ([AllowanceLine(2, 2, 45)], "lines[0]"),   # more units than sold
    ([AllowanceLine(2, 1, 46)], "lines[0]"),   # more money than the line
    ([AllowanceLine(2, 1, 0)], "lines[0]"),
    ([AllowanceLine(2, 1, -45)], "lines[0]"),  # negative amounts
])
def test_g0401_rejects_bad_lines(vector_c, lines, field):
    with pytest.raises(ValidationError) as e:
        messages.g0401(vector_c, "AL3", ALLOWANCE_AT, lines)
    assert (e.value.code, e.value.field) == ("invalid_allowance", field)


@pytest.mark.parametrize("reason, ok", [("x" * 20, True), ("作" * 20, True), (" 退貨 ", True),
                                        ("x" * 21, False), ("作" * 21, False), ("", False), ("   ", False),
                                        (None, False)])
def test_reasons_are_1_to_20_characters(vector_c, allowance, reason, ok):
    builders = [lambda: messages.f0501(vector_c, CANCEL_AT, reason),
                lambda: messages.f0701(vector_c, CANCEL_AT, reason),
                lambda: messages.g0501(allowance, CANCEL_AT, reason)]
    for build in builders:
        if ok:
            msg = build()
            assert mig.parse(mig.build(msg)) == msg
        else:
            with pytest.raises(ValidationError) as e:
                build()
            assert (e.value.code, e.value.field) == ("invalid_reason", "reason")


def test_mig_rejects_over_long_reasons_directly(all_messages):
    for name, attr, tag in [("F0501", "cancel_reason", "CancelInvoice/CancelReason"),
                            ("F0701", "void_reason", "VoidInvoice/VoidReason"),
                            ("G0501", "cancel_reason", "CancelAllowance/CancelReason")]:
        msg = dataclasses.replace(all_messages[name], **{attr: "x" * 21})
        with pytest.raises(ValidationError) as e:
            mig.build(msg)
        assert (e.value.code, e.value.field) == ("invalid_mig", tag)


@pytest.mark.parametrize("path, value", [
    ("amount.sales_amount", Decimal(-1)), ("amount.tax_amount", Decimal(-8)), ("amount.total_amount", -175),
    ("details.amount", Decimal("-0.5")), ("details.quantity", Decimal(-2)), ("details.unit_price", Decimal(-65)),
])
def test_negative_amounts_are_rejected(all_messages, path, value):
    msg = all_messages["F0401 printed"]
    part, attr = path.split(".")
    if part == "details":
        msg = dataclasses.replace(msg, details=(dataclasses.replace(msg.details[0], **{attr: value}),
                                                *msg.details[1:]))
    else:
        msg = dataclasses.replace(msg, amount=dataclasses.replace(msg.amount, **{attr: value}))
    with pytest.raises(ValidationError) as e:
        mig.build(msg)
    tag = {"sales_amount": "SalesAmount", "tax_amount": "TaxAmount", "total_amount": "TotalAmount",
           "amount": "Amount", "quantity": "Quantity", "unit_price": "UnitPrice"}[attr]
    assert e.value.field == (f"Invoice/Details/ProductItem[0]/{tag}" if part == "details" else f"Invoice/Amount/{tag}")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), "12x", None])
def test_non_numbers_are_rejected(all_messages, value):
    msg = all_messages["G0401"]
    msg = dataclasses.replace(msg, amount=dataclasses.replace(msg.amount, total_amount=value))
    with pytest.raises(ValidationError) as e:
        mig.build(msg)
    assert e.value.field == "Allowance/Amount/TotalAmount"


@pytest.mark.parametrize("attr, value, tag", [
    ("seller_id", "０４５９５２５７", "SellerId"),        # full-width digits
    ("seller_id", "0459525", "SellerId"),
    ("buyer_id", "000000000", "BuyerId"),              # 9 zeros: neither consumer nor BAN
    ("cancel_invoice_number", "ab12345678", "CancelInvoiceNumber"),
    ("cancel_reason", "退貨\r重開", "CancelReason"),      # CR would not survive an XML parser
    ("cancel_reason", "退貨\x00", "CancelReason"),
    ("cancel_reason", "\ud800", "CancelReason"),
    ("remark", "x" * 201, "Remark"),
    ("return_tax_document_number", "", "ReturnTaxDocumentNumber"),
])
def test_f0501_field_rules(all_messages, attr, value, tag):
    msg = dataclasses.replace(all_messages["F0501"], **{attr: value})
    with pytest.raises(ValidationError) as e:
        mig.build(msg)
    assert e.value.field == f"CancelInvoice/{tag}"


def test_build_rejects_non_messages():
    with pytest.raises(TypeError):
        mig.build(object())


def test_e0402_one_message_per_track_with_holes():
    p = Period.parse("11310")
    ranges = [NumberRange(p, "AC", 0, 49), NumberRange(p, "AB", 100, 149), NumberRange(p, "AB", 50, 99)]
    used = [InvoiceNumber("AB", s) for s in (50, 51, 60, 149)] + [InvoiceNumber("AC", s) for s in range(50)]
    [ab] = messages.e0402(ranges, used, head_ban="04595257", branch_ban="22099131")
    assert (ab.main.invoice_track, ab.main.year_month, ab.main.head_ban, ab.main.branch_ban) == \
        ("AB", "11310", "04595257", "22099131")
    assert [(i.invoice_begin_no, i.invoice_end_no) for i in ab.details] == [
        ("00000052", "00000059"), ("00000061", "00000099"), ("00000100", "00000148")]
    assert mig.parse(mig.build(ab)) == ab


@pytest.mark.parametrize("items, edit, field", [
    ([("00000010", "00000015")], ("00000010", "00000016"),
     "BranchTrackBlank/Details/BranchTrackBlankItem[0]/InvoiceEndNo"),
    ([("00000000", "00000049"), ("00000050", "00000060")], ("00000050", "00000049"),
     "BranchTrackBlank/Details/BranchTrackBlankItem[1]/InvoiceBeginNo"),
    ([("00000020", "00000030"), ("00000000", "00000015")], ("00000015", "00000025"),
     "BranchTrackBlank/Details/BranchTrackBlankItem[0]/InvoiceBeginNo"),
])
def test_e0402_ranges_are_ordered_pairs_and_do_not_overlap(items, edit, field):
    valid = mig.E0402(mig.BlankMain("04595257", "04595257", "07", "11310", "AB"),
                      tuple(mig.BlankItem(a, b) for a, b in items))
    xml = mig.build(valid).decode()
    assert mig.parse(xml) == valid
    old, new = edit
    bad = mig.E0402(valid.main, tuple(mig.BlankItem(*(new if v == old else v for v in (i.invoice_begin_no,
                                                                                         i.invoice_end_no)))
                                      for i in valid.details))
    with pytest.raises(ValidationError) as e:
        mig.build(bad)
    assert e.value.field == field
    with pytest.raises(ValidationError) as e:
        mig.parse(xml.replace(f">{old}<", f">{new}<"))
    assert e.value.field == field


# ---------------------------------------------------------------- the parser names what is wrong
def _f0401_xml(all_messages) -> str:
    return mig.build(all_messages["F0401 carrier"]).decode("utf-8")


@pytest.mark.parametrize("edit, field, words", [
    (lambda x: x.replace("F0401:4.1", "F0401:4.0"), "Invoice", "namespace"),
    (lambda x: x.replace(' xmlns="urn:GEINV:eInvoiceMessage:F0401:4.1"', ""), "Invoice", "namespace"),
    (lambda x: x.replace("<InvoiceNumber>", '<InvoiceNumber xmlns="urn:other">'), "Invoice/Main/InvoiceNumber",
     "wrong namespace"),
    (lambda x: x.replace("    <InvoiceDate>20240915</InvoiceDate>\n", ""), "Invoice/Main/InvoiceDate", "mandatory"),
    (lambda x: x.replace("    <TotalAmount>65</TotalAmount>\n", ""), "Invoice/Amount/TotalAmount", "mandatory"),
    (lambda x: x.replace("<SequenceNumber>0001</SequenceNumber>", ""),
     "Invoice/Details/ProductItem[0]/SequenceNumber", "mandatory"),
    (lambda x: x.replace("<InvoiceNumber>AB12345680</InvoiceNumber>\n    <InvoiceDate>20240915</InvoiceDate>",
                         "<InvoiceDate>20240915</InvoiceDate>\n    <InvoiceNumber>AB12345680</InvoiceNumber>"),
     "Invoice/Main/InvoiceNumber", "out of order"),
    (lambda x: x.replace("<CarrierId1>/ABC+123</CarrierId1>\n    <CarrierId2>/ABC+123</CarrierId2>",
                         "<CarrierId2>/ABC+123</CarrierId2>\n    <CarrierId1>/ABC+123</CarrierId1>"),
     "Invoice/Main/CarrierId1", "out of order"),
    (lambda x: x.replace("<RandomNumber>7301</RandomNumber>",
                         "<RandomNumber>7301</RandomNumber><RandomNumber>7301</RandomNumber>"),
     "Invoice/Main/RandomNumber", "repeated"),
    (lambda x: x.replace("<Main>", "<Main><Foo>1</Foo>"), "Invoice/Main/Foo", "unexpected"),
    (lambda x: x.replace("<InvoiceDate>20240915<", "<InvoiceDate>20240231<"), "Invoice/Main/InvoiceDate",
     "valid date"),
    (lambda x: x.replace("<InvoiceTime>14:30:05<", "<InvoiceTime>2:30 PM<"), "Invoice/Main/InvoiceTime",
     "valid time"),
    (lambda x: x.replace("<Amount>65</Amount>", "<Amount>-65</Amount>"), "Invoice/Details/ProductItem[0]/Amount",
     "non-negative"),
    (lambda x: x.replace("<Quantity>1</Quantity>", "<Quantity>one</Quantity>"),
     "Invoice/Details/ProductItem[0]/Quantity", "valid dec"),
    (lambda x: x.replace("<TaxAmount>3</TaxAmount>", "<TaxAmount>3.5</TaxAmount>"), "Invoice/Amount/TaxAmount",
     "does not match"),
    (lambda x: x.replace("<PrintMark>N</PrintMark>", "<PrintMark>n</PrintMark>"), "Invoice/Main/PrintMark",
     "does not match"),
    (lambda x: x.replace("<Identifier>04595257</Identifier>", "<Identifier>0459525</Identifier>"),
     "Invoice/Main/Seller/Identifier", "does not match"),
    (lambda x: x.replace("<CarrierType>3J0002</CarrierType>", "<CarrierType>3J0002<X/></CarrierType>"),
     "Invoice/Main/CarrierType", "child elements"),
    (lambda x: x.replace("<ProductItem>", "<Item>", 1).replace("</ProductItem>", "</Item>", 1),
     "Invoice/Details/{urn:GEINV:eInvoiceMessage:F0401:4.1}Item", "expected ProductItem"),
    (lambda x: x.split("<Details>")[0] + "<Details/>" + x.split("</Details>")[1], "Invoice/Details",
     "at least one"),
    (lambda x: x.replace("<Description>拿鐵咖啡</Description>", f"<Description>{'咖' * 501}</Description>"),
     "Invoice/Details/ProductItem[0]/Description", "length"),
    (lambda x: x.replace("<Description>拿鐵咖啡</Description>", "<Description></Description>"),
     "Invoice/Details/ProductItem[0]/Description", "length"),
    (lambda x: x.replace("<PrintMark>N</PrintMark>", "<PrintMark>Y</PrintMark>"), "Invoice/Main/PrintMark",
     "exactly one"),
    (lambda x: x.replace("Invoice", "Receipt"), "Receipt", "unknown message"),
])
def test_parse_rejects_and_names_the_element(all_messages, edit, field, words):
    xml = edit(_f0401_xml(all_messages))
    with pytest.raises(ValidationError) as e:
        mig.parse(xml.encode("utf-8"))
    assert (e.value.code, e.value.field) == ("invalid_mig", field)
    assert words in e.value.message and field in e.value.message


@pytest.mark.parametrize("xml", [b"", b"<Invoice", b"not xml", "<Invoice xmlns='x'>\x00</Invoice>"])
def test_parse_rejects_malformed_xml(xml):
    with pytest.raises(ValidationError) as e:
        mig.parse(xml)
    assert e.value.code == "invalid_mig"


def test_parse_keeps_string_text_exactly_and_collapses_numbers():
    msg = mig.F0501("AB12345678", dt.date(2024, 9, 15), "0000000000", "04595257", dt.date(2024, 9, 16),
                    dt.time(10, 0), " 退貨\t重開 ", remark="第一行\n第二行")
    xml = mig.build(msg)
    assert mig.parse(xml) == msg
    padded = xml.replace(b"<InvoiceDate>20240915<", b"<InvoiceDate> 20240915\n<")
    assert mig.parse(padded).invoice_date == dt.date(2024, 9, 15)


# ---------------------------------------------------------------- properties
XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")


def text(max_size, min_size=1, cap=30):
    return st.text(st.one_of(XML_CHARS, st.sampled_from("\t\n ")), min_size=min_size, max_size=min(max_size, cap))


def optional(strategy):
    return st.none() | strategy


bans = st.from_regex(r"[0-9]{8}", fullmatch=True)
decimals = st.one_of(st.integers(0, 10 ** 12).map(Decimal),
                     st.decimals(0, 10 ** 6, places=2), st.decimals(0, 10 ** 4, places=7))
dates = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
times = st.times().map(lambda t: t.replace(microsecond=0))

product_items = st.builds(
    mig.ProductItem, description=text(500), quantity=decimals, unit_price=decimals,
    tax_type=st.sampled_from("1234"), amount=decimals,
    sequence_number=st.from_regex(r"[0-9]{1,4}", fullmatch=True), unit=optional(text(6)),
    remark=optional(text(120)), relate_number=optional(text(50)))


@st.composite
def f0401_messages(draw):
    choice = draw(st.sampled_from(["printed", "carrier", "donation"]))
    buyer_id = "0000000000" if choice == "donation" else draw(st.just("0000000000") | bans)
    carrier = {}
    if choice == "carrier":
        carrier_id = draw(text(400))
        carrier = dict(carrier_type=draw(st.sampled_from(["3J0002", "CQ0001", "EJ0113"])),
                       carrier_id1=carrier_id, carrier_id2=draw(st.just(carrier_id) | text(400)))
    main = mig.InvoiceMain(
        invoice_number=draw(st.from_regex(r"[A-Z]{2}[0-9]{8}", fullmatch=True)), invoice_date=draw(dates),
        invoice_time=draw(times), seller=mig.Party(draw(bans), draw(text(60)), draw(text(100))),
        buyer=mig.Party(buyer_id, draw(text(60)), draw(optional(text(100)))),
        invoice_type=draw(st.sampled_from(["07", "08"])), donate_mark="1" if choice == "donation" else "0",
        print_mark="Y" if choice == "printed" else "N",
        random_number=draw(optional(st.from_regex(r"[0-9]{4}", fullmatch=True))),
        npoban=draw(st.from_regex(r"[0-9]{3,7}", fullmatch=True)) if choice == "donation" else None,
        main_remark=draw(optional(text(200))), relate_number=draw(optional(text(20))), **carrier)
    amount = mig.InvoiceAmount(
        sales_amount=draw(decimals), free_tax_sales_amount=draw(decimals), zero_tax_sales_amount=draw(decimals),
        tax_type=draw(st.sampled_from("12349")),
        tax_rate=draw(st.sampled_from([Decimal(r) for r in ("0", "0.01", "0.02", "0.05", "0.15", "0.25")])),
        tax_amount=Decimal(draw(st.integers(0, 10 ** 9))), total_amount=draw(decimals))
    return mig.F0401(main, tuple(draw(st.lists(product_items, min_size=1, max_size=4))), amount)


@st.composite
def e0402_messages(draw):
    items, cursor = [], draw(st.integers(0, 1000))
    for gap, length in draw(st.lists(st.tuples(st.integers(1, 10 ** 5), st.integers(0, 10 ** 4)), min_size=1,
                                     max_size=30)):
        start = cursor + gap
        if start + length > 99_999_999:
            break
        items.append(mig.BlankItem(f"{start:08d}", f"{start + length:08d}"))
        cursor = start + length
    if not items:
        items.append(mig.BlankItem("00000000", "00000049"))
    main = mig.BlankMain(draw(bans), draw(bans), draw(st.sampled_from(["07", "08"])),
                         Period(draw(st.integers(1912, 2910)), draw(st.sampled_from([2, 4, 6, 8, 10, 12]))).code,
                         draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)))
    return mig.E0402(main, tuple(draw(st.permutations(items))))


@settings(max_examples=150, deadline=None)
@given(f0401_messages())
def test_f0401_build_parse_round_trip(message):
    xml = mig.build(message)
    assert mig.parse(xml) == message
    assert mig.build(mig.parse(xml)) == xml


@settings(max_examples=150, deadline=None)
@given(e0402_messages())
def test_e0402_build_parse_round_trip(message):
    xml = mig.build(message)
    assert mig.parse(xml) == message
    assert [(p, t) for p, t in leaves(xml) if "Details" in p] == [
        (f"BranchTrackBlank/Details/BranchTrackBlankItem[{n}]/{tag}", value)
        for n, item in enumerate(message.details)
        for tag, value in (("InvoiceBeginNo", item.invoice_begin_no), ("InvoiceEndNo", item.invoice_end_no))]
