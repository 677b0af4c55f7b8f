"""EcpayOfflineClient against the strict fake ECPay server on loopback: the protocol, every fault, TLS,
and that HashKey/HashIV never leak."""
import datetime as dt
import ipaddress
import logging
import ssl

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.vac import CenterError, EcpayOfflineClient
from terminal.core.errors import ConfigError
from terminal.core.invoice import Sale, build_invoice
from terminal.core.numbers import InvoiceNumber, NumberRange
from terminal.core.period import Period
from terminal.core.ports import OutboxMessage
from vac_fake_ecpay import DUPLICATE, FakeEcpay, Fault, Track
from vac_samples import (HASH_IV, HASH_KEY, MACHINE_ID, MERCHANT_ID, SELLER, START, TRACK, f0401_xml, f0501_xml,
                         invoice)

from conftest import T0


def _message(mid, inv, kind="F0401", payload=None, attempts=0):
    return OutboxMessage(mid, kind, str(inv.number), payload or f0401_xml(inv), inv.issued_at, attempts)


def _client(base_url, clock, **kw):
    args = dict(base_url=base_url, merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV,
                machine_id=MACHINE_ID, timeout=2, clock=clock, allow_insecure_loopback=True)
    return EcpayOfflineClient(**{**args, **kw})


def test_issue_is_stored_with_the_mapped_fields(client, ecpay, clock):
    inv = invoice(0, clock.now - dt.timedelta(minutes=5))
    ack = client.send(_message(11, inv))
    assert ack.accepted and ack.center_ref == f"{inv.number}11" and ack.reason is None
    stored = ecpay.issued[str(inv.number)]
    assert stored["RelateNumber"] == f"{inv.number}11"
    assert stored["InvoiceDate"] == (clock.now - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    assert stored["RandomNumber"] == inv.random_code and stored["SalesAmount"] == 175
    assert [i["ItemName"] for i in stored["Items"]] == ["拿鐵咖啡", "可頌"]
    assert ecpay.stored == {str(inv.number): 1}


def test_one_kept_alive_connection_for_many_requests(client, ecpay, clock):
    for n in range(5):
        assert client.send(_message(n + 1, invoice(n, clock.now))).accepted
    assert (ecpay.requests, ecpay.connections) == (5, 1)


def test_a_lost_answer_is_resolved_by_the_duplicate_answer(client, ecpay, clock):
    inv = invoice(1, clock.now)
    ecpay.fail_next(Fault("drop", after=True))
    first = client.send(_message(5, inv))
    assert not first.accepted and first.retryable and first.outage
    assert ecpay.stored[str(inv.number)] == 1  # the center has it, the terminal does not know
    again = client.send(_message(5, inv, attempts=1))
    assert again.accepted and again.center_ref == f"{inv.number}5" and "already at the center" in again.reason
    assert ecpay.log[-1] == ("OfflineIssue", f"RtnCode {DUPLICATE}")
    assert ecpay.stored[str(inv.number)] == 1


@pytest.mark.parametrize("fault, words", [
    (Fault("status", status=500), "HTTP 500"),
    (Fault("status", status=502, after=True), "HTTP 502"),
    (Fault("drop"), "connection to 127.0.0.1 failed"),
    (Fault("garbage"), "not JSON"),
    (Fault("huge"), "exceeds 1048576 bytes"),
    (Fault("bad_data"), "Data is not a whole number of AES blocks"),
    (Fault("wrong_merchant"), "another MerchantID"),
    (Fault("transcode"), "TransCode 10000006"),
])
def test_every_fault_is_a_retryable_outage(client, ecpay, clock, fault, words):
    inv = invoice(2, clock.now)
    ecpay.fail_next(fault)
    ack = client.send(_message(1, inv))
    assert (ack.accepted, ack.retryable, ack.outage) == (False, True, True)
    assert words in ack.reason
    assert ecpay.stored[str(inv.number)] == (1 if fault.after else 0)
    assert client.send(_message(1, inv, attempts=1)).accepted
    assert ecpay.stored[str(inv.number)] == 1


@pytest.mark.parametrize("after", [False, True])
def test_a_hanging_center_times_out(ecpay, clock, after):
    c = _client(ecpay.base_url, clock, timeout=0.3)
    inv = invoice(3, clock.now)
    ecpay.fail_next(Fault("hang", after=after))
    ack = c.send(_message(1, inv))
    ecpay.release.set()
    assert (ack.accepted, ack.retryable, ack.outage) == (False, True, True)
    assert "no answer from 127.0.0.1 within 0.3 s" in ack.reason
    assert c.send(_message(1, inv, attempts=1)).accepted
    assert ecpay.stored[str(inv.number)] == 1


def test_rate_limit_asks_for_thirty_minutes(client, ecpay, clock):
    ecpay.fail_next(Fault("status", status=403))
    ack = client.send(_message(1, invoice(4, clock.now)))
    assert ack.retryable and ack.retry_after_s == 1800 and "rate limit" in ack.reason


def test_a_clock_outside_the_ten_minute_window_is_refused_by_the_envelope(ecpay, clock):
    skewed = _client(ecpay.base_url, lambda: clock.now + dt.timedelta(minutes=11))
    ack = skewed.send(_message(1, invoice(5, clock.now)))
    assert ack.retryable and "TransCode 9999" in ack.reason and "Timestamp" in ack.reason
    assert ecpay.stored == {}
    nine = _client(ecpay.base_url, lambda: clock.now - dt.timedelta(minutes=9))
    assert nine.send(_message(1, invoice(5, clock.now - dt.timedelta(minutes=10)))).accepted


def test_the_centers_refusal_is_final_with_its_reason(client, ecpay, clock):
    inv = invoice(6, clock.now)
    ecpay.refuse[str(inv.number)] = (5070099, "載具號碼不存在")
    ack = client.send(_message(1, inv))
    assert (ack.accepted, ack.retryable, ack.outage) == (False, False, False)
    assert ack.reason == "ECPay RtnCode 5070099: 載具號碼不存在"


def test_a_temporary_refusal_is_retried(client, ecpay, clock):
    inv = invoice(7, clock.now)
    ecpay.refuse[str(inv.number)] = (9000001, "呼叫財政部API失敗，請稍後再試")
    ack = client.send(_message(1, inv))
    assert ack.retryable and not ack.outage and "(temporary)" in ack.reason


def test_an_invoice_outside_the_machines_tracks_is_refused(client, ecpay, clock):
    inv = invoice(8, clock.now)
    other = build_invoice(Sale("X", inv.items, inv.total), InvoiceNumber("ZZ", 10_000_000), clock.now, "1234", SELLER)
    ack = client.send(_message(1, other))
    assert not ack.retryable and ack.reason == "ECPay RtnCode 5070006: 發票號碼不在機台字軌區間"


def test_void_after_issue_and_a_repeated_void(client, ecpay, clock):
    inv = invoice(9, clock.now - dt.timedelta(hours=1))
    assert client.send(_message(1, inv)).accepted
    void = _message(2, inv, "F0501", f0501_xml(inv, clock.now - dt.timedelta(minutes=1)))
    ecpay.fail_next(Fault("drop", after=True))
    assert client.send(void).retryable
    again = client.send(void)
    assert again.accepted and again.reason == "already voided at the center"
    assert ecpay.void_stored == {str(inv.number): 1}
    assert ecpay.voided[str(inv.number)]["Reason"] == "客戶退貨"


def test_a_void_before_its_invoice_is_refused(client, ecpay, clock):
    inv = invoice(10, clock.now - dt.timedelta(hours=1))
    ack = client.send(_message(2, inv, "F0501", f0501_xml(inv, clock.now)))
    assert not ack.retryable and "查無此發票" in ack.reason


@pytest.mark.parametrize("kind", ["F0701", "G0401", "G0501", "E0402"])
def test_types_without_an_offline_endpoint_are_refused_without_a_request(client, ecpay, clock, kind):
    ack = client.send(OutboxMessage(1, kind, "K", b"<x/>", clock.now))
    assert not ack.accepted and not ack.retryable and "ECPay's offline API has no" in ack.reason
    assert ecpay.requests == 0


def test_a_broken_payload_is_not_sent(client, ecpay, clock):
    inv = invoice(11, clock.now)
    bad = f0401_xml(inv).replace(b"<InvoiceType>07</InvoiceType>", b"<InvoiceType>99</InvoiceType>")
    ack = client.send(_message(1, inv, payload=bad))
    assert not ack.retryable and ack.reason.startswith("not sent: Invoice/Main/InvoiceType")
    mismatch = client.send(_message(1, inv, "F0501"))
    assert not mismatch.retryable and "the payload is F0401, the message says F0501" in mismatch.reason
    assert ecpay.requests == 0


def test_tracks_machines_and_word_settings(client, ecpay, clock):
    period = Period.of(T0.date())
    assert client.fetch_tracks(period) == [NumberRange(period, TRACK, START, START + 49_999)]
    assert client.fetch_tracks(period, spare=True) == [NumberRange(period, "CD", 20_000_000, 20_000_049)]
    with pytest.raises(CenterError, match="RtnCode 1300002: 查無字軌資料"):
        client.fetch_tracks(Period(2027, 2))
    assert client.machines() == [MACHINE_ID]
    c2 = _client(ecpay.base_url, clock, machine_id="POS02")
    c2.register_machine(remark="櫃台二")
    assert client.machines() == [MACHINE_ID, "POS02"]
    with pytest.raises(CenterError, match="機台已存在"):
        c2.register_machine()
    assert client.send(_message(1, invoice(12, clock.now))).accepted
    rows = client.word_settings(period)
    assert [(r.range.track, r.current, r.use_status) for r in rows] == [(TRACK, START + 12, 2), ("CD", None, 1)]
    assert len(client.word_settings(period, all_terms=True)) == 3
    assert client.merchant_info() == ("示範咖啡股份有限公司", "04595257")


def test_tracks_when_the_center_is_down(client, ecpay):
    ecpay.down = True
    with pytest.raises(CenterError) as err:
        client.fetch_tracks(Period.of(T0.date()))
    assert err.value.code == "center_unreachable" and err.value.retryable and "HTTP 503" in err.value.message


# ---------------------------------------------------------------- URL policy and TLS
@pytest.mark.parametrize("url, insecure, words", [
    ("http://127.0.0.1:1", False, "must start with https://"),
    ("http://10.0.0.5", True, "only to a loopback host"),
    ("http://einvoice.ecpay.com.tw", True, "only to a loopback host"),
    ("ftp://127.0.0.1", True, "must start with https://"),
    ("https://user:pw@einvoice.ecpay.com.tw", False, "credentials"),
    ("https://einvoice.ecpay.com.tw/?a=1", False, "query"),
    ("https://", False, "no host"),
    ("", False, "empty"),
])
def test_url_policy(clock, url, insecure, words):
    with pytest.raises(ConfigError, match=words) as err:
        _client(url, clock, allow_insecure_loopback=insecure)
    assert err.value.field == "upload.base_url"


@pytest.mark.parametrize("url", ["http://localhost:8", "http://[::1]:8", "http://127.8.9.10"])
def test_loopback_http_with_the_flag(clock, url):
    assert repr(_client(url, clock)).startswith(f"EcpayOfflineClient(base_url='{url}'")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-ecpay")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def https_ecpay(clock, tls_files):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*tls_files)
    fake = FakeEcpay(merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV, clock=clock,
                     tracks=[Track(MACHINE_ID, Period.of(T0.date()), TRACK, START, START + 49_999)])
    fake.base_url = fake.start(tls=ctx)
    yield fake
    fake.stop()


def test_tls_is_verified_even_with_a_session_that_says_not_to(https_ecpay, clock):
    session = requests.Session()
    session.verify = False
    c = _client(https_ecpay.base_url, clock, session=session, allow_insecure_loopback=False)
    ack = c.send(_message(1, invoice(13, clock.now)))
    assert ack.outage and ack.reason == "OfflineIssue: TLS verification of 127.0.0.1 failed"
    assert https_ecpay.stored == {}


def test_tls_with_the_configured_ca_bundle(https_ecpay, clock, tls_files):
    c = _client(https_ecpay.base_url, clock, ca_bundle=str(tls_files[0]), allow_insecure_loopback=False)
    assert c.send(_message(1, invoice(14, clock.now))).accepted
    with pytest.raises(ConfigError, match="no such file"):
        _client(https_ecpay.base_url, clock, ca_bundle="/nonexistent/ca.pem")


# ---------------------------------------------------------------- secrets
def test_hash_key_and_iv_never_leak(ecpay, clock, caplog, outbox):
    import random

    from drivers.vac import Uploader
    from vac_samples import enqueue_invoices

    caplog.set_level(logging.DEBUG)  # urllib3 and requests log at DEBUG too
    c = _client(ecpay.base_url, clock, timeout=0.3)
    enqueue_invoices(outbox, clock, 12)
    ecpay.refuse[f"{TRACK}{START + 3}"] = (5070099, f"echoed {HASH_KEY} and {HASH_IV}")  # a center echoing them
    ecpay.fail_next(Fault("status", status=500), Fault("drop", after=True), Fault("garbage"), Fault("bad_data"),
                    Fault("transcode"), Fault("hang"), Fault("wrong_merchant"))
    up = Uploader(outbox, c, clock=clock, rng=random.Random(1), stop_after_outages=99)
    for _ in range(4):
        up.upload_once()
        ecpay.release.set()
        clock.advance(hours=2)
    texts = [caplog.text, repr(c), repr(vars(c))]
    texts += [str(r.history) for r in (outbox.row(i) for i in range(1, 13))]
    errors = []
    for bad in [dict(hash_key="short"), dict(hash_iv=HASH_IV + "x"), dict(merchant_id="x" + MERCHANT_ID)]:
        with pytest.raises(ConfigError) as err:
            _client(ecpay.base_url, clock, **bad)
        errors.append(f"{err.value!s} {err.value!r} {err.value.as_dict()}")
    texts += errors
    bodies = b"".join(ecpay.bodies)
    assert outbox.row(4).reason == "ECPay RtnCode 5070099: echoed *** and ***"
    for secret in (HASH_KEY, HASH_IV):
        assert all(secret not in t for t in texts)
        assert secret.encode() not in bodies
    assert sum(ecpay.stored.values()) == 11  # and the run did upload everything else
