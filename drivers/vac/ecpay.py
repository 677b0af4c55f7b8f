"""ECPay's offline-POS e-invoice API (離線電子發票 API) over HTTPS, as a ``CenterClient``.

Endpoints used (POST ``<base>/B2CInvoice/<name>``): ``OfflineIssue`` (F0401), ``OfflineInvalid`` (F0501),
``GetOfflineInvoiceWordSetting`` (the machine's track range), ``GetInvoiceWordSetting`` (track status),
``OfflineMerchantPosSetting`` / ``QueryOfflineMerchantPosSetting`` (machines), ``GetOfflineMerchantInfo``.
Every request is the AES-JSON envelope of ``terminal.core.vac_ecpay_envelope``; every answer is checked
twice (``TransCode`` of the envelope, ``RtnCode`` inside). Idempotency: an invoice's ``RelateNumber`` is
derived from its number and outbox message id, so a retry after a lost answer gets ECPay's "duplicate"
answer, which means the center has it.

HashKey and HashIV never reach a log line, an Ack reason, an exception or ``repr``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Callable
from urllib.parse import urlsplit

from terminal.core import mig
from terminal.core import vac_ecpay_envelope as envelope
from terminal.core import vac_ecpay_fields as fields
from terminal.core.errors import ConfigError, ValidationError
from terminal.core.numbers import NumberRange
from terminal.core.period import Period
from terminal.core.ports import OutboxMessage

from . import transport
from .center import Ack
from .errors import CenterError, CenterUnreachable

log = logging.getLogger(__name__)

# RtnCode for a RelateNumber the center has already stored (自訂編號重複): seen from ECPay's B2C Issue in a
# public integration; assumed identical for OfflineIssue (ECPay's code table is behind its vendor portal).
DUPLICATE_RELATE_NUMBER = 5070357
RATE_LIMIT_WAIT_S = 1800.0  # ECPay answers HTTP 403 to callers that are too fast: wait 30 minutes
MAX_ANSWER_BYTES = 1 << 20
# RtnMsg fragments of temporary trouble (MOF platform down, maintenance): retry instead of reject
TRANSIENT_MESSAGES = ("稍後再試", "系統維護", "系統忙碌", "逾時")
# ECPay documents no code for voiding an invoice twice; its message says 已作廢 ("already voided")
ALREADY_VOIDED_MESSAGE = "已作廢"
_MERCHANT_RE = re.compile(r"[0-9]{1,10}", re.ASCII)
_MACHINE_RE = re.compile(r"[0-9A-Za-z]{1,10}", re.ASCII)


class _Secret:
    """A credential whose repr is never its value (so locals dumps and debuggers do not leak it)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


class EcpayOfflineClient:
    """One terminal (``machine_id``) at one ECPay merchant.

    :param base_url: ``https://einvoice.ecpay.com.tw`` (production) or ``https://einvoice-stage.ecpay.com.tw``.
    :param session: a ``requests.Session`` (default: a new one that ignores environment proxies).
    :param timeout: seconds for connect and for each read.
    :param clock: aware ``datetime`` now; the envelope's Timestamp must be within 10 minutes of ECPay's.
    :param allow_insecure_loopback: accept ``http://`` to 127.0.0.1/::1/localhost (tests only).
    :param ca_bundle: PEM file of trusted CAs instead of the default store.
    :param revision: ``RqHeader.Revision`` (ECPay's guide: "3.0.0"; None leaves it out).
    :param item_word: ECPay's mandatory unit (ItemWord) for items without a MIG Unit.
    :raises ConfigError: a bad URL, credential or option (the message never contains a credential).
    """

    def __init__(self, *, base_url: str, merchant_id: str, hash_key: str, hash_iv: str, machine_id: str,
                 session=None, timeout: float = 10, clock: Callable[[], dt.datetime],
                 allow_insecure_loopback: bool = False, ca_bundle: str | None = None,
                 revision: str | None = "3.0.0", item_word: str = "個") -> None:
        self._base = transport.check_base_url(base_url, allow_insecure_loopback=allow_insecure_loopback)
        if not isinstance(merchant_id, str) or not _MERCHANT_RE.fullmatch(merchant_id):
            raise ConfigError("secrets.ecpay_merchant_id must be ECPay's MerchantID (1 to 10 digits)",
                              field="secrets.ecpay_merchant_id")
        envelope.check_secret("secrets.ecpay_hash_key", hash_key)
        envelope.check_secret("secrets.ecpay_hash_iv", hash_iv)
        if not isinstance(machine_id, str) or not _MACHINE_RE.fullmatch(machine_id):
            raise ConfigError("upload.machine_id must be 1 to 10 letters or digits (ECPay forbids symbols)",
                              field="upload.machine_id")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 300:
            raise ConfigError("upload.timeout_seconds must be a number of seconds in (0, 300]",
                              field="upload.timeout_seconds")
        if not callable(clock):
            raise TypeError("clock must be a callable returning an aware datetime")
        self._merchant = _Secret(merchant_id)
        self._key = _Secret(hash_key)
        self._iv = _Secret(hash_iv)
        self.machine_id = machine_id
        self._timeout = float(timeout)
        self._clock = clock
        self._verify = transport.verify_setting(ca_bundle)
        self._revision = revision
        self._item_word = item_word
        self._session = session if session is not None else transport.new_session()
        self._host = urlsplit(self._base).hostname

    def __repr__(self) -> str:
        return f"EcpayOfflineClient(base_url={self._base!r}, machine_id={self.machine_id!r})"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ sending outbox messages
    def send(self, message: OutboxMessage) -> Ack:
        """OfflineIssue for F0401, OfflineInvalid for F0501; other types are refused with what to do."""
        kind = message.message_type
        if kind in fields.UNSUPPORTED:
            return Ack(False, reason=fields.UNSUPPORTED[kind])
        if kind not in fields.ACTION_OF:
            return Ack(False, reason=f"not sent: unknown message type {kind!r}")
        try:
            msg = mig.parse(message.payload)
            if mig.message_code(msg) != kind:
                return Ack(False, reason=f"not sent: the payload is {mig.message_code(msg)}, the message says {kind}")
            if kind == "F0401":
                data = fields.issue_data(msg, merchant_id=self._merchant.value, machine_id=self.machine_id,
                                         relate=fields.relate_number(msg.main.invoice_number, message.id),
                                         item_word=self._item_word)
            else:
                data = fields.invalid_data(msg, merchant_id=self._merchant.value)
        except ValidationError as exc:
            return Ack(False, reason=self._scrub(f"not sent: {exc.message}"))
        action = fields.ACTION_OF[kind]
        try:
            answer = self._call(action, data)
        except CenterError as exc:
            log.warning("%s %s (message %d) not delivered: %s", action, data["InvoiceNo"], message.id, exc.message)
            return Ack(False, reason=exc.message, retryable=True, outage=exc.outage, retry_after_s=exc.retry_after_s)
        ack = self._judge(action, data, answer)
        log.info("%s %s (message %d): %s", action, data["InvoiceNo"], message.id,
                 "accepted" if ack.accepted else ack.reason)
        return ack

    def _judge(self, action: str, data: dict, answer: dict) -> Ack:
        code = answer["RtnCode"]
        text = answer.get("RtnMsg")
        text = self._scrub(text) if isinstance(text, str) else ""
        number = data["InvoiceNo"]
        relate = data.get("RelateNumber")
        if code == 1:
            if answer.get("InvoiceNo") not in (None, "", number) or \
                    (relate and answer.get("RelateNumber") not in (None, "", relate)):
                return Ack(False, reason=f"{action}: the answer names another invoice", retryable=True, outage=True)
            return Ack(True, center_ref=relate or number)
        if action == fields.ISSUE and code == DUPLICATE_RELATE_NUMBER:
            return Ack(True, center_ref=relate, reason="already at the center (RelateNumber seen before)")
        if action == fields.INVALID and ALREADY_VOIDED_MESSAGE in text:
            return Ack(True, center_ref=number, reason="already voided at the center")
        if any(fragment in text for fragment in TRANSIENT_MESSAGES):
            return Ack(False, reason=f"ECPay RtnCode {code}: {text} (temporary)", retryable=True)
        return Ack(False, reason=f"ECPay RtnCode {code}: {text or 'no message'}")

    # ------------------------------------------------------------------ numbers and setup
    def fetch_tracks(self, period: Period, *, spare: bool = False) -> list[NumberRange]:
        """The enabled (or, with ``spare``, the spare 備用) range bound to this machine for ``period``.

        Taking numbers makes this terminal responsible for them (取號後就要負責): every one must later be
        issued or reported blank. Pass the result to ``Ledger.import_ranges``.
        """
        year, term = fields.period_term(period)
        answer = self._checked("GetOfflineInvoiceWordSetting", {
            "MerchantID": self._merchant.value, "InvoiceYear": year, "InvoiceTerm": term,
            "InvoiceStatus": 2 if spare else 1, "MachineID": self.machine_id})
        try:
            return [fields.track_range(answer, period)]
        except ValidationError as exc:
            raise CenterError(f"GetOfflineInvoiceWordSetting: unusable range: {exc.message}",
                              code="center_bad_answer") from None

    def word_settings(self, period: Period, *, all_terms: bool = False, use_status: int = 0) -> list[fields.TrackSetting]:
        """查詢字軌: the offline tracks of ``period`` (or its whole year) and how far ECPay saw them used."""
        year, term = fields.period_term(period)
        answer = self._checked("GetInvoiceWordSetting", {
            "MerchantID": self._merchant.value, "InvoiceYear": year, "InvoiceTerm": 0 if all_terms else term,
            "UseStatus": use_status, "InvoiceCategory": 4})
        try:
            return fields.track_settings(answer)
        except ValidationError as exc:
            raise CenterError(f"GetInvoiceWordSetting: unreadable answer: {exc.message}",
                              code="center_bad_answer") from None

    def register_machine(self, *, remark: str = "") -> None:
        """Add this ``machine_id`` at ECPay (before tracks can be bound to it)."""
        self._checked("OfflineMerchantPosSetting", {"MerchantID": self._merchant.value, "ActionType": 1,
                                                    "MachineID": self.machine_id, "Remark": remark})

    def machines(self) -> list[str]:
        answer = self._checked("QueryOfflineMerchantPosSetting", {"MerchantID": self._merchant.value})
        rows = answer.get("MachineIDList") or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CenterError("QueryOfflineMerchantPosSetting: MachineIDList is not a list", code="center_bad_answer")
        return [str(r.get("MachineID", "")) for r in rows]

    def merchant_info(self) -> tuple[str, str]:
        """(MerchantName, MerchantIdentifier BAN): a check that the credentials and URL are right."""
        answer = self._checked("GetOfflineMerchantInfo", {"MerchantID": self._merchant.value})
        return str(answer.get("MerchantName", "")), str(answer.get("MerchantIdentifier", ""))

    # ------------------------------------------------------------------ the wire
    def _checked(self, action: str, data: dict) -> dict:
        answer = self._call(action, data)
        if answer["RtnCode"] != 1:
            text = answer.get("RtnMsg")
            text = self._scrub(text) if isinstance(text, str) else "no message"
            raise CenterError(f"{action}: ECPay RtnCode {answer['RtnCode']}: {text}",
                              retryable=any(f in text for f in TRANSIENT_MESSAGES))
        return answer

    def _call(self, action: str, data: dict) -> dict:
        import requests

        body = envelope.request(self._merchant.value, data, self._key.value, self._iv.value,
                                timestamp=int(self._clock().timestamp()), revision=self._revision)
        url = f"{self._base}/B2CInvoice/{action}"
        try:
            with self._session.post(url, json=body, timeout=self._timeout, verify=self._verify,
                                    allow_redirects=False, stream=True) as resp:
                status = resp.status_code
                chunks, size = [], 0
                # read to the end (so the connection goes back to the pool) but never more than the cap
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        break
                    chunks.append(chunk)
                raw = b"".join(chunks)
        except requests.exceptions.SSLError:
            raise CenterUnreachable(f"{action}: TLS verification of {self._host} failed") from None
        except requests.exceptions.Timeout:
            raise CenterUnreachable(f"{action}: no answer from {self._host} within {self._timeout:g} s") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            # urllib3 errors raised while reading the streamed body are not all RequestExceptions
            raise CenterUnreachable(f"{action}: connection to {self._host} failed ({type(exc).__name__})") from None
        if status == 403:
            raise CenterUnreachable(f"{action}: HTTP 403 (ECPay's rate limit): waiting 30 minutes",
                                    retry_after_s=RATE_LIMIT_WAIT_S)
        if status != 200:
            raise CenterUnreachable(f"{action}: HTTP {status} from {self._host}")
        if size > MAX_ANSWER_BYTES:
            raise CenterError(f"{action}: the answer exceeds {MAX_ANSWER_BYTES} bytes", code="center_bad_answer",
                              outage=True)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise CenterError(f"{action}: the answer is not JSON", code="center_bad_answer", outage=True) from None
        try:
            return envelope.open_answer(answer, merchant_id=self._merchant.value, key=self._key.value,
                                        iv=self._iv.value)
        except envelope.EnvelopeError as exc:
            raise CenterError(f"{action}: {self._scrub(exc.message)}", code="center_bad_answer", outage=True) from None

    def _scrub(self, text: str) -> str:
        for secret in (self._key.value, self._iv.value):
            text = text.replace(secret, "***")
        return text
