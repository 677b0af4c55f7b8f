"""ECPay's AES-JSON envelope (the B2C and offline-POS e-invoice APIs).

Request: ``{"MerchantID", "RqHeader": {"Timestamp", "Revision"}, "Data"}``; answer: ``{"MerchantID",
"RpHeader", "TransCode", "TransMsg", "Data"}``. ``Data`` is Base64(AES-128-CBC/PKCS7 with HashKey as key
and HashIV as IV, of the URL-encoded compact JSON). URL encoding follows .NET ``HttpUtility.UrlEncode``
as ECPay documents it: space is ``+``, ``-_.`` stay, everything else (``~`` too) is ``%XX`` upper case.

Pure: the timestamp is passed in. Error messages never contain the key, the IV or the plain Data.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping
from urllib.parse import quote_plus, unquote_plus

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import ConfigError, TerminalError

KEY_LEN = 16  # AES-128: HashKey and HashIV are 16 ASCII characters


class EnvelopeError(TerminalError):
    """The center's answer is not a readable envelope, or it refused ours (``TransCode`` ≠ 1)."""

    code = "center_bad_answer"
    message_zh = "加值中心回應錯誤"

    def __init__(self, message: str, *, trans_code: int | None = None) -> None:
        super().__init__(message)
        self.trans_code = trans_code


def check_secret(name: str, value: str) -> bytes:
    """The key or IV as bytes; the error names the option, never the value."""
    if not isinstance(value, str) or len(value) != KEY_LEN or not value.isascii():
        raise ConfigError(f"{name} must be {KEY_LEN} ASCII characters (as issued by ECPay)", field=name)
    return value.encode("ascii")


def url_encode(text: str) -> str:
    # quote_plus never escapes "~" (RFC 3986 unreserved); .NET's encoder, which ECPay follows, does
    return quote_plus(text, safe="").replace("~", "%7E")


def encrypt(data: Mapping[str, Any], key: str, iv: str) -> str:
    """Base64 ciphertext of ``data`` as ECPay expects it in ``Data``."""
    plain = url_encode(json.dumps(data, ensure_ascii=False, separators=(",", ":"))).encode("ascii")
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(check_secret("hash_key", key)), modes.CBC(check_secret("hash_iv", iv))).encryptor()
    return base64.b64encode(enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()).decode("ascii")


def decrypt(text: str, key: str, iv: str) -> Any:
    """The JSON value inside a ``Data`` field.

    :raises EnvelopeError: not Base64, wrong padding (wrong key or damaged), not URL-encoded JSON.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise EnvelopeError("Data is not Base64") from None
    if not raw or len(raw) % 16:
        raise EnvelopeError("Data is not a whole number of AES blocks")
    dec = Cipher(algorithms.AES(check_secret("hash_key", key)), modes.CBC(check_secret("hash_iv", iv))).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(dec.update(raw) + dec.finalize()) + unpadder.finalize()
        return json.loads(unquote_plus(plain.decode("ascii"), errors="strict"))
    except (ValueError, UnicodeDecodeError):
        # ValueError covers bad padding and bad JSON; neither message may echo the plaintext
        raise EnvelopeError("Data does not decrypt to URL-encoded JSON (wrong HashKey/HashIV or damaged)") from None


def request(merchant_id: str, data: Mapping[str, Any], key: str, iv: str, *, timestamp: int,
            revision: str | None = "3.0.0") -> dict:
    """The JSON body of one request."""
    header: dict[str, Any] = {"Timestamp": int(timestamp)}
    if revision:
        header["Revision"] = revision
    return {"MerchantID": merchant_id, "RqHeader": header, "Data": encrypt(data, key, iv)}


def open_answer(answer: Any, *, merchant_id: str, key: str, iv: str) -> dict:
    """The decrypted ``Data`` of an answer, after checking the outer layer.

    :raises EnvelopeError: malformed answer, another merchant's answer, or ``TransCode`` ≠ 1 (the center
        could not read our envelope: keys, timestamp window or format). ``trans_code`` is set for the latter.
    """
    if not isinstance(answer, Mapping):
        raise EnvelopeError("the answer is not a JSON object")
    trans_code = answer.get("TransCode")
    if isinstance(trans_code, bool) or not isinstance(trans_code, int):
        raise EnvelopeError("the answer has no integer TransCode")
    if trans_code != 1:
        msg = answer.get("TransMsg")
        raise EnvelopeError(f"the center refused the request envelope: TransCode {trans_code} "
                            f"({msg if isinstance(msg, str) else 'no message'})", trans_code=trans_code)
    if str(answer.get("MerchantID")) != merchant_id:
        raise EnvelopeError("the answer is for another MerchantID")
    data = answer.get("Data")
    if not isinstance(data, str):
        raise EnvelopeError("the answer has no Data")
    inner = decrypt(data, key, iv)
    if not isinstance(inner, dict):
        raise EnvelopeError("the answer's Data is not a JSON object")
    code = inner.get("RtnCode")
    if isinstance(code, str) and code.isascii() and code.lstrip("-").isdigit():
        code = int(code)  # one published example has "1"; the API says Int
    if isinstance(code, bool) or not isinstance(code, int):
        raise EnvelopeError("the answer's Data has no integer RtnCode")
    inner["RtnCode"] = code
    return inner
