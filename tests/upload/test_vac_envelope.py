"""ECPay's AES-JSON envelope against the vectors ECPay and O'Pay publish, and its error paths."""
import json

import pytest

from terminal.core import vac_ecpay_envelope as env
from terminal.core.errors import ConfigError

SANDBOX_KEY, SANDBOX_IV = "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk"  # ECPay's published B2C sandbox values

# (plain JSON text, URL-encoded form, Base64 Data) from ECPay's AES guide test vectors
VECTORS = [
    ('{"MerchantID":"2000132","BarCode":"/1234567"}',
     "%7B%22MerchantID%22%3A%222000132%22%2C%22BarCode%22%3A%22%2F1234567%22%7D",
     "XeEOdHpTRvxKEqs/JD9RSd16s7VtpyWVCN6AV44pKTW3DVa6yI7vKmjBRp2eulDhXoru/qBqFDBH3fEqlkMn3bbJfJBfGAq+v+SvttutYnc="),
    ('{"Name":"test!*\'()~value"}',
     "%7B%22Name%22%3A%22test%21%2A%27%28%29%7Evalue%22%7D",
     "uvI4yrErM37XNQkXGAgRgBuDOiJoVs72Xn/rum9Ejl1DSna4HyLSoY7764PmhTR7JXb9jJWLSjCGcZEDeFiABg=="),
    ('{"N":"1234567890"}', "%7B%22N%22%3A%221234567890%22%7D",  # exactly two blocks: a whole padding block
     "gVwWJnIpl1m3ZDypcRAjiCctilYnQhHn4h8OzJP5IxQPov7HuysXX+jPONvrHS7Z"),
    ('{"MerchantID":"2000132","ItemName":"綠界科技測試商品"}',
     "%7B%22MerchantID%22%3A%222000132%22%2C%22ItemName%22%3A%22%E7%B6%A0%E7%95%8C%E7%A7%91%E6%8A%80%E6%B8%AC"
     "%E8%A9%A6%E5%95%86%E5%93%81%22%7D",
     "XeEOdHpTRvxKEqs/JD9RSd16s7VtpyWVCN6AV44pKTVKsXddZRgV+Cle9oeB2PqsEC2O0oDi4kObiCtdGznG9aAX69Kj0//VjGXhieBYZ3Ru"
     "GW9v20xQyBevaBwtOvg1lYjlDw6jsgfToGMUvlGsIJ2DO6/tbXjNZumnRgj2GCSj7LLDRBU3KlkUWji16nO1"),
]


@pytest.mark.parametrize("plain, encoded, data", VECTORS)
def test_published_vectors_encrypt_and_decrypt(plain, encoded, data):
    obj = json.loads(plain)
    assert env.url_encode(plain) == encoded
    assert env.encrypt(obj, SANDBOX_KEY, SANDBOX_IV) == data
    assert env.decrypt(data, SANDBOX_KEY, SANDBOX_IV) == obj


def test_opay_appendix_vector():
    # O'Pay i301 appendix 3 (same envelope as ECPay): Key A123456789012345, IV B123456789012345
    data = env.encrypt({"Name": "Test", "ID": "A123456789"}, "A123456789012345", "B123456789012345")
    assert data == "7woM9RorZKAtXJRVccAb0qhHYm+5lnlhBzyfh5EZdNck7PacNsRHgv/Jvp//ajJidqcQcs0UmAgPQVjXQHeziw=="


def test_request_envelope_shape():
    body = env.request("2000132", {"MerchantID": "2000132"}, SANDBOX_KEY, SANDBOX_IV, timestamp=1525168923)
    assert body["MerchantID"] == "2000132"
    assert body["RqHeader"] == {"Timestamp": 1525168923, "Revision": "3.0.0"}
    assert env.decrypt(body["Data"], SANDBOX_KEY, SANDBOX_IV) == {"MerchantID": "2000132"}
    assert "Revision" not in env.request("1", {}, SANDBOX_KEY, SANDBOX_IV, timestamp=1, revision=None)["RqHeader"]


def _answer(inner, **outer):
    return {"MerchantID": "2000132", "RpHeader": {"Timestamp": 1}, "TransCode": 1, "TransMsg": "",
            "Data": env.encrypt(inner, SANDBOX_KEY, SANDBOX_IV), **outer}


def test_open_answer_checks_both_layers():
    assert env.open_answer(_answer({"RtnCode": 1, "RtnMsg": "成功"}), merchant_id="2000132", key=SANDBOX_KEY,
                           iv=SANDBOX_IV) == {"RtnCode": 1, "RtnMsg": "成功"}
    # one published example sends RtnCode as "1": normalised to the int
    assert env.open_answer(_answer({"RtnCode": "1"}), merchant_id="2000132", key=SANDBOX_KEY,
                           iv=SANDBOX_IV)["RtnCode"] == 1
    with pytest.raises(env.EnvelopeError) as err:
        env.open_answer(_answer({}, TransCode=10000006, TransMsg="Timestamp 已逾時"), merchant_id="2000132",
                        key=SANDBOX_KEY, iv=SANDBOX_IV)
    assert err.value.trans_code == 10000006 and "Timestamp 已逾時" in err.value.message
    for bad, words in [(_answer({"RtnCode": 1}, MerchantID="9"), "another MerchantID"),
                       (_answer({"RtnMsg": "x"}), "no integer RtnCode"),
                       (_answer({"RtnCode": True}), "no integer RtnCode"),
                       (_answer([1, 2]), "not a JSON object"),
                       ({"TransCode": "1"}, "no integer TransCode"),
                       ({"TransCode": 1, "MerchantID": "2000132"}, "no Data"),
                       ("text", "not a JSON object")]:
        with pytest.raises(env.EnvelopeError, match=words):
            env.open_answer(bad, merchant_id="2000132", key=SANDBOX_KEY, iv=SANDBOX_IV)


def test_decrypt_errors_never_echo_the_plaintext_or_key():
    data = env.encrypt({"secret-ish": "Kq9Zt3LwRvX8pN2m"}, SANDBOX_KEY, SANDBOX_IV)
    for text in ("%%%", "QUJD", data):
        with pytest.raises(env.EnvelopeError) as err:
            env.decrypt(text, "Kq9Zt3LwRvX8pN2m", SANDBOX_IV)  # wrong key for ``data``
        assert "Kq9Zt3LwRvX8pN2m" not in str(err.value) and SANDBOX_IV not in str(err.value)
        # no chained exception may carry the plaintext into a traceback
        assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)


@pytest.mark.parametrize("value", ["short", "x" * 17, "ÄÖÜäöüßÄÖÜäöüßÄÖ", None])
def test_bad_key_is_a_config_error_without_the_value(value):
    with pytest.raises(ConfigError) as err:
        env.encrypt({}, value, SANDBOX_IV)
    assert err.value.field == "hash_key"
    assert value is None or value not in err.value.message
