"""A fake ECPay offline-POS e-invoice API on loopback (``http.server.ThreadingHTTPServer``), strict
enough that a client which gets the protocol wrong fails: it checks the outer envelope and MerchantID,
decrypts Data with its own AES code (not the client's), enforces the 10-minute Timestamp window
against its own injected clock, validates required fields and ECPay's cross-field rules, refuses a
RelateNumber it has seen (RtnCode 5070357, 自訂編號重複) and counts what it stored.

Faults are queued with ``fail_next(Fault(...))`` and hit the next matching requests: an HTTP status, a
dropped connection, a hang (the client must time out), garbage, a broken envelope — each either
before processing (nothing stored) or after it (stored, but the answer is lost: the ambiguous case).
``down`` answers 503 to everything. Codes other than 5070357 are made up for the fake.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote_plus, unquote_plus

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from terminal.core.period import Period

TAIPEI = dt.timezone(dt.timedelta(hours=8))
DUPLICATE = 5070357
WINDOW_S = 600


@dataclass
class Fault:
    kind: str  # status | drop | hang | garbage | huge | bad_data | wrong_merchant | transcode
    after: bool = False  # apply after the request was processed (its answer is lost)
    status: int = 500
    action: str | None = None  # only requests to this endpoint


@dataclass
class Track:
    machine_id: str
    period: Period
    header: str
    start: int
    end: int
    status: int = 1  # 1 enabled, 2 spare
    times: int = 0


class _Refused(Exception):
    def __init__(self, code: int, msg: str) -> None:
        self.code, self.msg = code, msg


class _EnvelopeRefused(Exception):
    def __init__(self, msg: str) -> None:
        self.msg = msg


_NUMBER = re.compile(r"[A-Z]{2}[0-9]{8}", re.ASCII)
_ALNUM = re.compile(r"[0-9A-Za-z]+", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_MOBILE = re.compile(r"/[0-9A-Z.+\-]{7}", re.ASCII)
_CITIZEN = re.compile(r"[A-Z]{2}[0-9]{14}", re.ASCII)


class FakeEcpay:
    def __init__(self, *, merchant_id: str, hash_key: str, hash_iv: str, clock, machines=("POS01",),
                 tracks: list[Track] = (), revision: str | None = "3.0.0", record_requests: bool = True) -> None:
        self.merchant_id, self._key, self._iv = merchant_id, hash_key.encode(), hash_iv.encode()
        self.clock = clock
        self.revision = revision
        self.machines = {m: "2026/01/01 09:00" for m in machines}
        self.tracks = list(tracks)
        self.lock = threading.Lock()
        self.issued: dict[str, dict] = {}
        self.stored = Counter()  # InvoiceNo -> times an OfflineIssue was stored (must stay <= 1)
        self.voided: dict[str, dict] = {}
        self.void_stored = Counter()
        self.relate: dict[str, str] = {}
        self.refuse: dict[str, tuple[int, str]] = {}  # InvoiceNo -> business refusal
        self.faults: deque[Fault] = deque()
        self.down = False
        self.release = threading.Event()  # ends every hang
        self.record_requests = record_requests
        self.log: list[tuple[str, str]] = []  # (action, outcome)
        self.requests = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuses one)
        self.bodies: list[bytes] = []  # raw request bodies, for the secrets test
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, tls=None, port: int = 0) -> str:
        """Serve on 127.0.0.1 (``tls``: an ``ssl.SSLContext`` for https); returns the base URL."""
        fake = self
        self._tls = tls

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections += 1

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._reply(self, 405, b"", "text/plain")

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        scheme = "https" if tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def pause(self) -> None:
        """Close the listening socket: clients get "connection refused" (the state is kept)."""
        self._port = self._server.server_address[1]
        self.stop()
        self.release.clear()

    def resume(self) -> None:
        self.start(tls=self._tls, port=self._port)

    def fail_next(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    # ------------------------------------------------------------------ crypto (independent of the client)
    def _encrypt(self, obj) -> str:
        plain = quote_plus(json.dumps(obj, ensure_ascii=False, separators=(",", ":"))).encode()
        p = padding.PKCS7(128).padder()
        e = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(e.update(p.update(plain) + p.finalize()) + e.finalize()).decode()

    def _decrypt(self, text: str):
        raw = base64.b64decode(text, validate=True)
        d = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        u = padding.PKCS7(128).unpadder()
        plain = u.update(d.update(raw) + d.finalize()) + u.finalize()
        return json.loads(unquote_plus(plain.decode("ascii")))

    # ------------------------------------------------------------------ HTTP
    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _envelope(self, inner: dict | None, *, trans_code: int = 1, msg: str = "") -> bytes:
        out = {"MerchantID": self.merchant_id, "RpHeader": {"Timestamp": int(self.clock().timestamp())},
               "TransCode": trans_code, "TransMsg": msg, "Data": self._encrypt(inner) if inner is not None else ""}
        return json.dumps(out, ensure_ascii=False).encode()

    def _take_fault(self, action: str) -> Fault | None:
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.action in (None, action):
                    del self.faults[i]
                    return f
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(min(length, 1 << 20))
        with self.lock:
            self.requests += 1
            if self.record_requests:
                self.bodies.append(body)
        m = re.fullmatch(r"/B2CInvoice/([A-Za-z]+)", h.path)
        if not m or m.group(1) not in self.ACTIONS:
            return self._reply(h, 404, b'{"error":"no such endpoint"}')
        action = m.group(1)
        if self.down:
            return self._reply(h, 503, b"Service Unavailable", "text/plain")
        fault = self._take_fault(action)
        if fault is not None and not fault.after and self._apply(h, fault):
            return
        if h.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._reply(h, 415, b"")
        try:
            inner = self._process(action, body)
            answer = self._envelope(inner)
            outcome = f"RtnCode {inner['RtnCode']}"
        except _EnvelopeRefused as exc:
            answer, outcome = self._envelope(None, trans_code=9999, msg=exc.msg), f"TransCode 9999 {exc.msg}"
        if self.record_requests:
            with self.lock:
                self.log.append((action, outcome))
        if fault is not None and fault.after and self._apply(h, fault):
            return
        self._reply(h, 200, answer)

    def _apply(self, h: BaseHTTPRequestHandler, f: Fault) -> bool:
        """Answer with the fault; True when nothing more may be written."""
        if f.kind == "status":
            self._reply(h, f.status, b"<html>error</html>", "text/html")
        elif f.kind == "drop":
            h.close_connection = True
            h.connection.close()
        elif f.kind == "hang":
            self.release.wait(10)
            h.close_connection = True
            h.connection.close()
        elif f.kind == "huge":
            self._reply(h, 200, b"{" + b" " * (1 << 20) + b"}")
        elif f.kind == "garbage":
            self._reply(h, 200, b"<html>ECPay maintenance</html>", "text/html")
        elif f.kind == "bad_data":
            self._reply(h, 200, json.dumps({"MerchantID": self.merchant_id, "RpHeader": {"Timestamp": 0},
                                            "TransCode": 1, "TransMsg": "", "Data": "bm90IGFlcw=="}).encode())
        elif f.kind == "wrong_merchant":
            self._reply(h, 200, json.dumps({"MerchantID": "9999999", "RpHeader": {"Timestamp": 0}, "TransCode": 1,
                                            "TransMsg": "", "Data": self._encrypt({"RtnCode": 1})}).encode())
        elif f.kind == "transcode":
            self._reply(h, 200, self._envelope(None, trans_code=10000006, msg="系統錯誤"))
        else:
            raise ValueError(f.kind)
        return True

    # ------------------------------------------------------------------ the protocol
    ACTIONS = ("GetOfflineMerchantInfo", "OfflineMerchantPosSetting", "QueryOfflineMerchantPosSetting",
               "GetOfflineInvoiceWordSetting", "GetInvoiceWordSetting", "OfflineIssue", "OfflineInvalid")

    def _now_local(self) -> dt.datetime:
        return self.clock().astimezone(TAIPEI).replace(tzinfo=None)

    def _process(self, action: str, body: bytes) -> dict:
        try:
            outer = json.loads(body)
        except ValueError:
            raise _EnvelopeRefused("JSON 格式錯誤") from None
        if not isinstance(outer, dict) or set(outer) != {"MerchantID", "RqHeader", "Data"}:
            raise _EnvelopeRefused("參數錯誤")
        if outer["MerchantID"] != self.merchant_id:
            raise _EnvelopeRefused("MerchantID 錯誤")
        header = outer["RqHeader"]
        if not isinstance(header, dict) or not isinstance(header.get("Timestamp"), int) \
                or isinstance(header.get("Timestamp"), bool) or set(header) - {"Timestamp", "Revision"}:
            raise _EnvelopeRefused("RqHeader 錯誤")
        if self.revision is not None and header.get("Revision") != self.revision:
            raise _EnvelopeRefused("Revision 錯誤")
        if abs(header["Timestamp"] - self.clock().timestamp()) > WINDOW_S:
            raise _EnvelopeRefused("Timestamp 已逾時")
        if not isinstance(outer["Data"], str):
            raise _EnvelopeRefused("Data 錯誤")
        try:
            data = self._decrypt(outer["Data"])
        except Exception:
            raise _EnvelopeRefused("Data 解密失敗") from None
        if not isinstance(data, dict):
            raise _EnvelopeRefused("Data 錯誤")
        try:
            if data.get("MerchantID") != self.merchant_id and not (
                    action == "OfflineMerchantPosSetting" and "MerchantID" not in data):
                raise _Refused(1000002, "MerchantID 不一致")
            with self.lock:
                return {"RtnCode": 1, "RtnMsg": "成功", **getattr(self, f"_{action}")(data)}
        except _Refused as exc:
            return {"RtnCode": exc.code, "RtnMsg": exc.msg}

    @staticmethod
    def _fields(data: dict, required: dict, optional: dict = {}) -> None:
        for key, kind in required.items():
            if key not in data:
                raise _Refused(1000003, f"{key} 為必填")
        for key, value in data.items():
            kind = required.get(key) or optional.get(key)
            if kind is None:
                raise _Refused(1000004, f"{key} 不是可用參數")
            if isinstance(value, bool) or not isinstance(value, kind):
                raise _Refused(1000005, f"{key} 型態錯誤")

    def _track_for(self, machine: str, number: str, period: Period) -> Track | None:
        serial = int(number[2:])
        return next((t for t in self.tracks if t.machine_id == machine and t.period == period
                     and t.header == number[:2] and t.start <= serial <= t.end), None)

    def _GetOfflineMerchantInfo(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str})
        return {"MerchantName": "示範咖啡股份有限公司", "MerchantIdentifier": "04595257"}

    def _OfflineMerchantPosSetting(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"ActionType": int, "MachineID": str}, {"MerchantID": str, "Remark": str})
        machine = data["MachineID"]
        if not _ALNUM.fullmatch(machine) or len(machine) > 10:
            raise _Refused(1200001, "MachineID 格式錯誤")
        if data["ActionType"] != 1:
            raise _Refused(1200002, "本測試僅支援新增")
        if machine in self.machines:
            raise _Refused(1200003, "機台已存在")
        self.machines[machine] = self._now_local().strftime("%Y/%m/%d %H:%M")
        return {}

    def _QueryOfflineMerchantPosSetting(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str})
        return {"MachineIDList": [{"MachineID": m, "CreateTime": t, "Remark": ""} for m, t in self.machines.items()]}

    def _period(self, data: dict) -> Period:
        year, term = data["InvoiceYear"], data["InvoiceTerm"]
        if not (_DIGITS.fullmatch(year) and len(year) == 3) or not 1 <= term <= 6:
            raise _Refused(1300001, "InvoiceYear/InvoiceTerm 錯誤")
        return Period(int(year) + 1911, term * 2)

    def _GetOfflineInvoiceWordSetting(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str, "InvoiceYear": str, "InvoiceTerm": int, "InvoiceStatus": int,
                            "MachineID": str})
        period = self._period(data)
        track = next((t for t in self.tracks if t.machine_id == data["MachineID"] and t.period == period
                      and t.status == data["InvoiceStatus"]), None)
        if track is None:
            raise _Refused(1300002, "查無字軌資料")
        track.times += 1
        # the published example pads InvoiceStart with a space; so does the fake
        return {"InvoiceHeader": track.header, "InvoiceStart": f"{track.start:08d} ", "InvoiceEnd": f"{track.end:08d}",
                "InvoiceStatus": track.status, "Times": track.times}

    def _GetInvoiceWordSetting(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str, "InvoiceYear": str, "InvoiceTerm": int, "UseStatus": int,
                            "InvoiceCategory": int}, {"InvType": str, "InvoiceHeader": str})
        if data["InvoiceCategory"] != 4:
            raise _Refused(1300003, "InvoiceCategory 須為 4")
        rows = []
        for n, t in enumerate(self.tracks):
            if t.period.code[:3] != data["InvoiceYear"] or data["InvoiceTerm"] not in (0, t.period.end_month // 2):
                continue
            used = [int(k[2:]) for k in self.issued if k[:2] == t.header and t.start <= int(k[2:]) <= t.end]
            rows.append({"TrackID": f"{1000000000 + n}", "InvoiceYear": data["InvoiceYear"],
                         "InvoiceTerm": t.period.end_month // 2, "InvoiceCategory": 4, "InvType": "07",
                         "InvoiceHeader": t.header, "InvoiceStart": f"{t.start:08d}", "InvoiceEnd": f"{t.end:08d}",
                         "InvoiceNo": f"{max(used):08d}" if used else "", "UseStatus": 2 if used else 1,
                         "MachineID": t.machine_id})
        return {"InvoiceInfo": rows}

    def _OfflineIssue(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str, "MachineID": str, "InvoiceNo": str, "InvoiceDate": str,
                            "RelateNumber": str, "TaxType": str, "SalesAmount": int, "InvType": str,
                            "RandomNumber": str, "Items": list, "Print": str, "Donation": str},
                     {"TaxAmount": int, "CustomerIdentifier": str, "CustomerName": str, "CustomerID": str,
                      "CustomerAddr": str, "CustomerPhone": str, "CustomerEmail": str, "ClearanceMark": str,
                      "SpecialTaxType": str, "vat": str, "InvoiceRemark": str, "LoveCode": str, "CarrierType": str,
                      "CarrierNum": str, "CarrierNum2": str, "ZeroTaxRateReason": str})
        relate = data["RelateNumber"]
        if not _ALNUM.fullmatch(relate) or len(relate) > 30:
            raise _Refused(5070356, "RelateNumber 格式錯誤")
        if relate.upper() in self.relate:
            raise _Refused(DUPLICATE, "自訂編號重複")
        if data["MachineID"] not in self.machines:
            raise _Refused(5070001, "MachineID 未設定")
        number = data["InvoiceNo"]
        if not _NUMBER.fullmatch(number):
            raise _Refused(5070002, "InvoiceNo 格式錯誤")
        try:
            issued = dt.datetime.strptime(data["InvoiceDate"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise _Refused(5070003, "InvoiceDate 格式錯誤") from None
        now = self._now_local()
        if issued > now:
            raise _Refused(5070004, "發票開立時間不可大於上傳時間")
        period = Period.of(issued.date())
        if now.date() > period.cancel_deadline():
            raise _Refused(5070005, "已超過上傳期限")
        if self._track_for(data["MachineID"], number, period) is None:
            raise _Refused(5070006, "發票號碼不在機台字軌區間")
        if number in self.issued:
            raise _Refused(5070007, "發票號碼已存在")
        if number in self.refuse:
            raise _Refused(*self.refuse[number])
        if data["TaxType"] != "1" or data["InvType"] not in ("07", "08") or data.get("vat", "1") != "1":
            raise _Refused(5070008, "TaxType/InvType/vat 錯誤")
        if not (_DIGITS.fullmatch(data["RandomNumber"]) and len(data["RandomNumber"]) == 4):
            raise _Refused(5070009, "RandomNumber 格式錯誤")
        items = data["Items"]
        if not 1 <= len(items) <= 200:
            raise _Refused(5070010, "Items 數量錯誤")
        total, seqs = 0.0, set()
        for it in items:
            if not isinstance(it, dict):
                raise _Refused(5070011, "Items 格式錯誤")
            self._fields(it, {"ItemName": str, "ItemCount": (int, float), "ItemWord": str, "ItemPrice": (int, float),
                              "ItemAmount": (int, float)}, {"ItemSeq": int, "ItemTaxType": str, "ItemRemark": str})
            if not 1 <= len(it["ItemName"]) <= 100 or not 1 <= len(it["ItemWord"]) <= 6 \
                    or len(it.get("ItemRemark", "")) > 40:
                raise _Refused(5070012, "商品欄位長度錯誤")
            if it.get("ItemSeq") in seqs:
                raise _Refused(5070013, "商品排序不可重複")
            seqs.add(it.get("ItemSeq"))
            if abs(it["ItemCount"] * it["ItemPrice"] - it["ItemAmount"]) > 0.5:
                raise _Refused(5070014, "商品合計錯誤")
            total += it["ItemAmount"]
        if round(total) != data["SalesAmount"]:
            raise _Refused(5070015, "發票金額與商品合計不符")
        if not 0 <= data.get("TaxAmount", 0) <= data["SalesAmount"]:
            raise _Refused(5070016, "TaxAmount 錯誤")
        printed, donated, carrier = data["Print"] == "1", data["Donation"] == "1", data.get("CarrierType", "")
        if data["Print"] not in ("0", "1") or data["Donation"] not in ("0", "1") or printed + donated + bool(carrier) != 1:
            raise _Refused(5070017, "列印、捐贈、載具須擇一")
        if donated and not (_DIGITS.fullmatch(data.get("LoveCode", "")) and 3 <= len(data["LoveCode"]) <= 7):
            raise _Refused(5070018, "LoveCode 格式錯誤")
        if carrier == "3" and not _MOBILE.fullmatch(data.get("CarrierNum", "")) or \
                carrier == "2" and not _CITIZEN.fullmatch(data.get("CarrierNum", "")) or carrier not in ("", "2", "3"):
            raise _Refused(5070019, "載具格式錯誤")
        ban = data.get("CustomerIdentifier", "")
        if ban and not (_DIGITS.fullmatch(ban) and len(ban) == 8 and printed):
            raise _Refused(5070020, "統一編號須為 8 碼數字且須列印")
        self.issued[number] = data
        self.relate[relate.upper()] = number
        self.stored[number] += 1
        return {"InvoiceNo": number, "RelateNumber": relate}

    def _OfflineInvalid(self, data: dict) -> dict:  # noqa: N802
        self._fields(data, {"MerchantID": str, "InvoiceNo": str, "InvoiceDate": str, "Reason": str,
                            "CancelDate": str})
        number = data["InvoiceNo"]
        original = self.issued.get(number)
        if original is None:
            raise _Refused(5080001, "查無此發票")
        if data["InvoiceDate"] != original["InvoiceDate"][:10]:
            raise _Refused(5080002, "InvoiceDate 與開立日期不符")
        if not 1 <= len(data["Reason"]) <= 20:
            raise _Refused(5080003, "Reason 長度錯誤")
        try:
            cancelled = dt.datetime.strptime(data["CancelDate"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise _Refused(5080004, "CancelDate 格式錯誤") from None
        if not dt.datetime.strptime(original["InvoiceDate"], "%Y-%m-%d %H:%M:%S") <= cancelled <= self._now_local():
            raise _Refused(5080005, "作廢時間錯誤")
        if number in self.voided:
            raise _Refused(5080006, "發票已作廢")
        self.voided[number] = data
        self.void_stored[number] += 1
        return {"InvoiceNo": number}
