"""The LAN API end to end on loopback: auth, the sale flow, idempotency, errors that name the field,
503s that issue nothing, printing and 補印, corrections."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from terminal.core.codes import verify_check_code

from .conftest import KEY, SALE, TOKEN


def test_health_needs_no_token_but_everything_else_does(rig):
    assert rig.request("GET", "/v1/health", token=None) == (200, {"ok": True})
    status, body = rig.request("GET", "/v1/status", token=None)
    assert status == 401
    assert body["error"]["code"] == "unauthorized" and body["error"]["field"] is None
    status, body = rig.request("POST", "/v1/sales", SALE, token="wrong-token-0123456789")
    assert status == 401
    assert rig.ledger.get_by_sale_id(SALE["sale_id"]) is None


def test_sale_issues_prints_and_is_idempotent(rig):
    rig.add_range()
    status, body = rig.request("POST", "/v1/sales", SALE)
    assert status == 201, body
    assert body["invoice_number"] == "AB12345600"
    assert body["period"] == "11310"
    assert body["issued_at"] == "2024-09-15T14:30:05+08:00"
    assert (body["total"], body["sales_amount"], body["tax_amount"]) == (175, 167, 8)
    assert body["printed"] is True and body["print_state"] == "printed"
    assert body["carrier"] is None and body["donation_code"] is None and body["buyer_tax_id"] is None
    assert len(body["random_code"]) == 4 and body["random_code"].isdigit()
    png = rig.printer.out_dir / "AB12345600.png"
    assert png.exists() and (rig.printer.out_dir / "AB12345600.bin").exists()
    assert rig.display.screen.kind == "issued"

    again = rig.request("POST", "/v1/sales", SALE)
    assert again == (200, body)
    assert len(rig.printer.printed) == 1  # a retried request does not print again

    changed = dict(SALE, total=176, items=[*SALE["items"], {"name": "糖", "quantity": 1, "unit_price": 1}])
    status, err = rig.request("POST", "/v1/sales", changed)
    assert status == 409 and err["error"]["code"] == "sale_id_conflict"


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools not installed")
def test_printed_proof_decodes_to_the_issued_invoice(rig):
    rig.add_range()
    _, body = rig.request("POST", "/v1/sales", SALE)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(rig.printer.out_dir / "AB12345600.png")],
                         capture_output=True, timeout=60)
    decoded = out.stdout.decode("utf-8").splitlines()
    assert f"11310AB12345600{body['random_code']}" in decoded
    left = next(d for d in decoded if d.startswith("AB12345600"))
    assert left[10:17] == "1130915" and left[17:21] == body["random_code"]
    assert verify_check_code(KEY, left[53:77]) == "AB12345600" + body["random_code"]


@pytest.mark.parametrize("body, status, code, field", [
    ({**SALE, "total": 170}, 422, "total_mismatch", "total"),
    ({**SALE, "items": [{"name": "x", "quantity": -1, "unit_price": 5}], "total": -5}, 422, "invalid_amount",
     "items[0].quantity"),
    ({**SALE, "items": [{"name": "x", "quantity": 1, "unit_price": 10 ** 12}], "total": 10 ** 12}, 422,
     "invalid_amount", "items[0].unit_price"),
    ({**SALE, "carrier": {"type": "3J0002", "id": "/abc+123"}}, 422, "invalid_carrier", "carrier.id"),
    ({**SALE, "buyer_tax_id": "12345678"}, 422, "invalid_tax_id", "buyer_tax_id"),
    ({**SALE, "donation_code": "88888", "buyer_tax_id": "22099131"}, 422, "conflicting_buyer_data", "donation_code"),
    ({**SALE, "coupon": 5}, 400, "unknown_field", "coupon"),
    ([1, 2, 3], 400, "malformed", None),
])
def test_bad_sales_are_refused_with_the_field_named(rig, body, status, code, field):
    rig.add_range()
    got, err = rig.request("POST", "/v1/sales", body)
    assert (got, err["error"]["code"], err["error"]["field"]) == (status, code, field)
    assert rig.ledger.last_invoice() is None


def test_malformed_json_wrong_type_and_huge_bodies(rig):
    rig.add_range()
    status, err = rig.request("POST", "/v1/sales", raw=b'{"sale_id": "x", ')
    assert status == 400 and err["error"]["code"] == "malformed"
    status, err = rig.request("POST", "/v1/sales", raw=b"sale_id=x", content_type="application/x-www-form-urlencoded")
    assert status == 400 and err["error"]["code"] == "malformed"
    # The limit is enforced from Content-Length before any of the body is read: announce 10 MB, send
    # none of it, and the answer is already there (a raw socket, so no client races the upload).
    import socket

    with socket.create_connection(("127.0.0.1", rig.server.server_port), timeout=30) as sock:
        sock.sendall(b"POST /v1/sales HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 10000000\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 413") or head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(payload)["error"]["code"] == "too_large"
    assert rig.ledger.last_invoice() is None


def test_unsynchronised_clock_refuses_with_503_and_issues_nothing(rig):
    rig.add_range()
    rig.clock.synced = False
    status, err = rig.request("POST", "/v1/sales", SALE)
    assert status == 503 and err["error"]["code"] == "clock_not_synchronized"
    assert rig.ledger.last_invoice() is None
    assert rig.display.screen.kind == "error"
    rig.clock.synced = True
    assert rig.request("POST", "/v1/sales", SALE)[0] == 201


def test_empty_pool_refuses_with_503(rig):
    status, err = rig.request("POST", "/v1/sales", SALE)
    assert status == 503 and err["error"]["code"] == "no_numbers"
    assert "未收到發票號碼" in rig.display.screen.text or rig.display.screen.kind == "error"


def test_scanned_carrier_is_used_and_nothing_is_printed(rig):
    rig.add_range()
    assert rig.terminal.handle_scan("/ABC+123\n")["accepted"] is True
    assert rig.display.screen.kind == "pending"
    status, body = rig.request("POST", "/v1/sales", SALE)
    assert status == 201
    assert body["carrier"] == {"type": "3J0002", "id": "/ABC+123"}
    assert body["print_state"] == "not_printed" and body["printed"] is False
    # only the courtesy detail slip came out: no barcode, no QR code on it
    slip = rig.printer.out_dir / "AB12345600.png"
    assert slip.exists()
    if shutil.which("zbarimg"):
        out = subprocess.run(["zbarimg", "--raw", "-q", str(slip)], capture_output=True, timeout=60)
        assert out.stdout == b"" and out.returncode == 4  # zbarimg: 4 = no symbol found
    # the pending carrier was used once: the next sale is a plain printed one
    status, body2 = rig.request("POST", "/v1/sales", dict(SALE, sale_id="S2"))
    assert body2["carrier"] is None and body2["print_state"] == "printed"


def test_pending_scan_expires(rig):
    rig.add_range()
    rig.terminal.handle_scan("88888")
    rig.clock.advance(61)
    _, body = rig.request("POST", "/v1/sales", SALE)
    assert body["donation_code"] is None


def test_bad_scan_is_rejected_and_keeps_the_earlier_choice(rig):
    rig.add_range()
    rig.terminal.handle_scan("22099131")
    r = rig.terminal.handle_scan("\x1b[garbage")
    assert r["accepted"] is False and r["error"]["code"] == "unrecognised_scan"
    assert rig.display.screen.kind == "scan_rejected"
    _, body = rig.request("POST", "/v1/sales", SALE)
    assert body["buyer_tax_id"] == "22099131"


def test_paper_out_queues_the_print_then_prints_the_original(rig):
    rig.add_range()
    rig.printer.simulate("paper_out")
    status, body = rig.request("POST", "/v1/sales", SALE)
    assert status == 201 and body["print_state"] == "queued" and body["printed"] is False
    assert rig.ledger.queued_prints() == ["AB12345600"]
    rig.printer.simulate("ok")
    rig.terminal.tick()
    rec = rig.ledger.get_invoice("AB12345600")
    assert rec.print_state == "printed" and rec.print_count == 1
    # the queued job was the first original, so it carries no 補印
    receipt_bytes = (rig.printer.out_dir / "AB12345600.bin").read_bytes()
    status, body = rig.request("POST", "/v1/invoices/AB12345600/reprint")
    assert status == 200 and body["print_count"] == 2
    assert (rig.printer.out_dir / "AB12345600-2.png").exists()
    assert (rig.printer.out_dir / "AB12345600-2.bin").read_bytes() != receipt_bytes


def test_reprint_of_a_carrier_invoice_is_refused(rig):
    rig.add_range()
    _, body = rig.request("POST", "/v1/sales", {**SALE, "carrier": {"type": "3J0002", "id": "/ABC+123"}})
    status, err = rig.request("POST", f"/v1/invoices/{body['invoice_number']}/reprint")
    assert status == 422 and err["error"]["code"] == "no_printed_proof"


def test_cancel_void_and_allowances(rig):
    rig.add_range()
    _, inv = rig.request("POST", "/v1/sales", SALE)
    number = inv["invoice_number"]
    status, body = rig.request("POST", f"/v1/invoices/{number}/allowances",
                               {"lines": [{"line": 2, "quantity": 1, "amount": 45}]})
    assert status == 201
    allowance = body["allowance_number"]
    assert len(allowance) <= 16
    # an invoice with a live allowance cannot be cancelled
    status, err = rig.request("POST", f"/v1/invoices/{number}/cancel", {"reason": "退貨"})
    assert status == 409, err
    assert rig.request("POST", f"/v1/allowances/{allowance}/cancel", {"reason": "輸入錯誤"})[0] == 200
    status, body = rig.request("POST", f"/v1/invoices/{number}/cancel", {"reason": "退貨"})
    assert status == 200 and body["cancelled_at"] is not None
    status, err = rig.request("POST", f"/v1/invoices/{number}/cancel", {"reason": "退貨"})
    assert status == 409
    types = [m.message_type for m in rig.ledger.outbox.pending(rig.clock.now(), limit=10)]
    assert types == ["F0401", "G0401", "G0501", "F0501"]


def test_void_reissues_the_same_number_with_corrected_carrier(rig):
    rig.add_range()
    _, inv = rig.request("POST", "/v1/sales", SALE)
    number = inv["invoice_number"]
    status, body = rig.request("POST", f"/v1/invoices/{number}/void",
                               {"reason": "載具輸入錯誤", "corrected": {"carrier": {"type": "3J0002", "id": "/ABC+123"}}})
    assert status == 200, body
    assert body["invoice_number"] == number and body["carrier"] == {"type": "3J0002", "id": "/ABC+123"}
    types = [m.message_type for m in rig.ledger.outbox.pending(rig.clock.now(), limit=10)]
    assert types == ["F0401", "F0701", "F0401"]


def test_reason_rules_and_unknown_invoice(rig):
    rig.add_range()
    _, inv = rig.request("POST", "/v1/sales", SALE)
    status, err = rig.request("POST", f"/v1/invoices/{inv['invoice_number']}/cancel", {"reason": "x" * 21})
    assert status == 422 and err["error"]["field"] == "reason"
    assert rig.request("GET", "/v1/invoices/ZZ00000000")[0] == 404
    assert rig.request("GET", "/v1/invoices/not-a-number")[0] == 404
    status, body = rig.request("GET", f"/v1/invoices/{inv['invoice_number'].replace('AB', 'AB-')}")
    assert status == 200 and body["invoice_number"] == inv["invoice_number"]


def test_status_reports_pool_uploads_printer_clock(rig):
    rig.add_range()
    rig.request("POST", "/v1/sales", SALE)
    status, body = rig.request("GET", "/v1/status")
    assert status == 200
    assert body["pool"]["period"] == "11310" and body["pool"]["numbers_left"] == 99
    assert body["uploads"]["pending"] == 1
    assert body["printer"]["state"] == "ok"
    assert body["clock"] == {"synchronized": True, "required": True}


def test_openapi_document_is_served_and_lists_every_route(rig):
    status, doc = rig.request("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/v1/sales", "/v1/invoices/{number}", "/v1/invoices/{number}/cancel",
                                 "/v1/invoices/{number}/void", "/v1/invoices/{number}/allowances",
                                 "/v1/allowances/{number}/cancel", "/v1/invoices/{number}/reprint",
                                 "/v1/status", "/v1/health"}


def test_oled_holds_the_issued_screen_then_returns_to_status(rig):
    rig.add_range()
    rig.request("POST", "/v1/sales", SALE)
    rig.terminal.tick()
    assert rig.display.screen.kind == "issued"
    assert "AB-12345600" in rig.display.screen.text and "請取發票" in rig.display.screen.text
    rig.clock.advance(11)
    rig.terminal.tick()
    assert rig.display.screen.kind == "ready"
    assert "剩餘號碼 99 張" in rig.display.screen.text


def test_status_screen_warns_about_the_next_period_and_queued_prints(rig):
    rig.add_range()
    rig.clock.set(rig.clock.now().replace(month=10, day=29))  # 3 days before the next period, none imported
    rig.printer.simulate("paper_out")
    rig.request("POST", "/v1/sales", SALE)
    rig.clock.advance(30)
    rig.terminal.tick()
    text = rig.display.screen.text
    assert rig.display.screen.kind == "ready"
    # three warnings (next period, paper out, one queued print): the first and a count fit on 128x64
    assert "下期字軌未匯入" in text and "另有 2 項警告" in text
    assert rig.terminal.status_screen() == rig.display.screen


def test_unsynchronised_clock_is_a_standing_error_on_the_oled(rig):
    rig.add_range()
    rig.clock.synced = False
    rig.terminal.tick()
    assert rig.display.screen.kind == "error" and "時間未同步" in rig.display.screen.text
    rig.clock.synced = True
    rig.terminal.tick()
    assert rig.display.screen.kind == "ready"


def test_rejected_scan_stays_on_the_oled_for_its_hold_time(rig):
    rig.add_range()
    rig.terminal.handle_scan("88888")
    rig.terminal.handle_scan("not a code")
    rig.clock.advance(5)
    rig.terminal.tick()
    assert rig.display.screen.kind == "scan_rejected"
    rig.clock.advance(16)
    rig.terminal.tick()
    assert rig.display.screen.kind == "pending"  # the earlier donation code is still waiting


def test_upload_now_hands_issued_invoices_to_turnkey(tmp_path):
    import datetime as dt

    from terminal.core import mig

    from .conftest import TAIPEI, Rig

    root = tmp_path / "turnkey"
    (root / "UpCast").mkdir(parents=True)
    rig = Rig(tmp_path, dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=TAIPEI),
              upload={"backend": "turnkey", "turnkey_root": str(root)})
    try:
        from terminal import bootstrap

        rig.terminal.uploader = bootstrap.open_uploader(rig.cfg, rig.ledger, rig.clock, __import__("random").Random(1))
        rig.add_range()
        _, body = rig.request("POST", "/v1/sales", SALE)
        rig.terminal.upload_now()
        files = list((root / "UpCast" / "B2SSTORAGE" / "F0401" / "SRC").iterdir())
        assert len(files) == 1
        msg = mig.parse(files[0].read_bytes())
        assert msg.main.invoice_number == body["invoice_number"] and msg.main.print_mark == "Y"
        rig.terminal.upload_now()  # handed over once: a second run writes nothing new
        assert len(list((root / "UpCast" / "B2SSTORAGE" / "F0401" / "SRC").iterdir())) == 1
    finally:
        rig.close()


def test_interrupted_print_is_recovered_as_a_reprint(rig):
    from terminal.core.invoice import Seller, parse_sale

    rig.add_range()
    # what a crash between committing the sale and printing leaves behind: print state "pending"
    sale = parse_sale({**SALE, "sale_id": "CRASHED"})
    inv, _ = rig.ledger.issue(sale, now=rig.clock.now(), seller=Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號"),
                              random_code=lambda: 1234, sale_fingerprint="f")
    assert rig.ledger.pending_prints() == [str(inv.number)]
    rig.printer.simulate("paper_out")
    assert rig.terminal.recover_interrupted_prints() == [str(inv.number)]
    assert rig.ledger.pending_prints() == [str(inv.number)] and rig.ledger.queued_prints() == []
    rig.printer.simulate("ok")
    rig.terminal.recover_interrupted_prints()
    rec = rig.ledger.get_invoice(str(inv.number))
    assert rec.print_state == "printed" and rec.print_count == 1
    reprint = rig.printer.encoder.encode(rig.terminal.layout.proof_layout(
        rec.invoice, rec.invoice.qr_codes(KEY), store_name="範例咖啡", reprint=True))
    original = rig.printer.encoder.encode(rig.terminal.layout.proof_layout(
        rec.invoice, rec.invoice.qr_codes(KEY), store_name="範例咖啡", reprint=False))
    printed = (rig.printer.out_dir / f"{inv.number}.bin").read_bytes()
    assert printed == reprint != original


def test_periods_close_only_on_a_trusted_clock(rig):
    import datetime as dt

    rig.add_range()
    rig.clock.synced = False
    rig.clock.set(dt.datetime(2024, 11, 2, 10, 0, tzinfo=rig.clock.now().tzinfo))  # clock jumped a period ahead
    rig.terminal.tick()
    assert not any(r.closed for r in rig.ledger.list_ranges())
    rig.clock.synced = True
    rig.terminal.tick()
    assert all(r.closed for r in rig.ledger.list_ranges())
    types = [m.message_type for m in rig.ledger.outbox.pending(rig.clock.now(), limit=10)]
    assert types == ["E0402"]
