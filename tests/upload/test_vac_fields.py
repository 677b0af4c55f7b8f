"""MIG 4.1 → ECPay offline-API Data, field by field, and ECPay's track answers → ranges."""
import datetime as dt
from dataclasses import replace

import pytest

from terminal.core import messages
from terminal.core import vac_ecpay_fields as f
from terminal.core.carriers import Carrier, Donation
from terminal.core.errors import ValidationError
from terminal.core.numbers import NumberRange
from terminal.core.period import Period
from vac_samples import TAIPEI, invoice

AT = dt.datetime(2024, 9, 15, 14, 3, 11, tzinfo=TAIPEI)


def _issue(inv, **kw):
    return f.issue_data(messages.f0401(inv, printed=inv.prints_proof), merchant_id="2000132", machine_id="POS01",
                        relate=f.relate_number(str(inv.number), 42), **kw)


def test_printed_consumer_invoice_maps_every_field():
    inv = invoice(1, AT)
    assert _issue(inv) == {
        "MerchantID": "2000132", "MachineID": "POS01", "InvoiceNo": "AB10000001",
        "InvoiceDate": "2024-09-15 14:03:11", "RelateNumber": "AB1000000142", "TaxType": "1",
        "SalesAmount": 175, "TaxAmount": 8, "InvType": "07", "RandomNumber": inv.random_code,
        "Items": [
            {"ItemSeq": 1, "ItemName": "拿鐵咖啡", "ItemCount": 2, "ItemWord": "個", "ItemPrice": 65,
             "ItemTaxType": "1", "ItemAmount": 130, "ItemRemark": ""},
            {"ItemSeq": 2, "ItemName": "可頌", "ItemCount": 1, "ItemWord": "個", "ItemPrice": 45,
             "ItemTaxType": "1", "ItemAmount": 45, "ItemRemark": ""}],
        "CustomerIdentifier": "", "CustomerName": "", "Print": "1", "Donation": "0", "LoveCode": "",
        "CarrierType": "", "CarrierNum": "", "vat": "1", "InvoiceRemark": ""}


@pytest.mark.parametrize("kw, expect", [
    ({"carrier": Carrier("3J0002", "/ABC+123")}, {"Print": "0", "Donation": "0", "CarrierType": "3",
                                                  "CarrierNum": "/ABC+123", "LoveCode": ""}),
    ({"carrier": Carrier("CQ0001", "AB12345678901234")}, {"Print": "0", "CarrierType": "2",
                                                          "CarrierNum": "AB12345678901234"}),
    ({"donation": Donation("168001")}, {"Print": "0", "Donation": "1", "LoveCode": "168001", "CarrierType": ""}),
    ({"ban": "22099131"}, {"Print": "1", "CustomerIdentifier": "22099131", "CustomerName": "22099131"}),
])
def test_buyer_choices(kw, expect):
    data = _issue(invoice(2, AT, **kw))
    assert {k: data[k] for k in expect} == expect


def test_f0501_maps_to_offline_invalid():
    inv = invoice(3, AT)
    msg = messages.f0501(inv, AT + dt.timedelta(days=1, hours=2), "客戶退貨")
    assert f.invalid_data(msg, merchant_id="2000132") == {
        "MerchantID": "2000132", "InvoiceNo": "AB10000003", "InvoiceDate": "2024-09-15", "Reason": "客戶退貨",
        "CancelDate": "2024-09-16 16:03:11"}


def test_item_unit_comes_from_mig_or_the_configured_word():
    msg = messages.f0401(invoice(4, AT), printed=True)
    with_unit = replace(msg, details=(replace(msg.details[0], unit="杯"),) + msg.details[1:])
    data = f.issue_data(with_unit, merchant_id="1", machine_id="M", relate="R1", item_word="件")
    assert [it["ItemWord"] for it in data["Items"]] == ["杯", "件"]


@pytest.mark.parametrize("change, words", [
    (lambda m: replace(m, main=replace(m.main, random_number=None)), "RandomNumber"),
    (lambda m: replace(m, details=m.details * 101), "at most 200 items"),
    (lambda m: replace(m, details=(replace(m.details[0], description="咖" * 101),)), "at most 100 characters"),
    (lambda m: replace(m, amount=replace(m.amount, tax_type="3")), "TaxType 1"),
    (lambda m: replace(m, main=replace(m.main, carrier_type="EJ0113")), "no ECPay CarrierType"),
])
def test_what_ecpay_cannot_take_is_refused_with_the_reason(change, words):
    msg = messages.f0401(invoice(5, AT, carrier=Carrier("3J0002", "/ABC+123")), printed=False)
    with pytest.raises(ValidationError, match=words) as err:
        f.issue_data(change(msg), merchant_id="1", machine_id="M", relate="R1")
    assert err.value.code == "unsupported_by_ecpay"


def test_relate_number_is_the_invoice_and_message_id():
    assert f.relate_number("AB12345678", 7) == "AB123456787"
    assert len(f.relate_number("AB12345678", 10**19)) == 30
    with pytest.raises(ValidationError):
        f.relate_number("AB12345678", 10**20)  # 31 characters
    with pytest.raises(ValidationError):
        f.relate_number("AB-12345678", 1)  # ECPay forbids symbols


def test_period_terms():
    assert f.period_term(Period(2024, 10)) == ("113", 5)
    assert f.period_term(Period(2026, 2)) == ("115", 1)
    assert f.period_term(Period(2026, 12)) == ("115", 6)


def test_track_answer_becomes_a_booklet_range():
    p = Period(2024, 10)
    # the published example pads InvoiceStart with a trailing space
    assert f.track_range({"InvoiceHeader": "AA", "InvoiceStart": "10000000 ", "InvoiceEnd": "10000049"}, p) == \
        NumberRange(p, "AA", 10_000_000, 10_000_049)
    for bad in ({"InvoiceHeader": "AA", "InvoiceStart": "10000001", "InvoiceEnd": "10000049"},  # not a booklet
                {"InvoiceHeader": "aa", "InvoiceStart": "10000000", "InvoiceEnd": "10000049"},
                {"InvoiceHeader": "AA", "InvoiceStart": "1000000", "InvoiceEnd": "10000049"},
                {"InvoiceHeader": "AA", "InvoiceStart": 10000000, "InvoiceEnd": "10000049"},
                {"InvoiceHeader": "AA", "InvoiceStart": "１0000000", "InvoiceEnd": "10000049"}):
        with pytest.raises(ValidationError):
            f.track_range(bad, p)


def test_track_settings_rows():
    rows = f.track_settings({"InvoiceInfo": [
        {"TrackID": "1234567890", "InvoiceYear": "113", "InvoiceTerm": 5, "InvoiceCategory": 4, "InvType": "07",
         "InvoiceHeader": "AQ", "InvoiceStart": "10000000", "InvoiceEnd": "10000999", "InvoiceNo": "10000123",
         "UseStatus": 2, "MachineID": "POS01"},
        {"TrackID": "2", "InvoiceYear": "113", "InvoiceTerm": 6, "InvType": "07", "InvoiceHeader": "AR",
         "InvoiceStart": "20000000", "InvoiceEnd": "20000049", "InvoiceNo": "", "UseStatus": 1, "MachineID": "POS01"}]})
    assert rows[0] == f.TrackSetting("1234567890", Period(2024, 10), "07",
                                     NumberRange(Period(2024, 10), "AQ", 10_000_000, 10_000_999), 10_000_123, 2, "POS01")
    assert rows[1].current is None and rows[1].period == Period(2024, 12)
    with pytest.raises(ValidationError):
        f.track_settings({"InvoiceInfo": [{"InvoiceYear": "113", "InvoiceTerm": 7}]})
    with pytest.raises(ValidationError):
        f.track_settings({"InvoiceInfo": {"TrackID": "1"}})
