"""TurnkeyClient: atomic, exactly-once hand-over into Turnkey's directories, crash recovery, and the
platform's answers read back into the outbox."""
import datetime as dt
from dataclasses import replace
import os
import random

import pytest

from drivers.vac import TurnkeyClient, Uploader, UploadResult, make_client
from drivers.vac import files as vac_files
from terminal.core import messages, mig
from terminal.core.errors import ConfigError
from terminal.core.numbers import InvoiceNumber
from terminal.core.period import Period
from terminal.core.ports import OutboxMessage
from vac_fake_turnkey import FakeTurnkey, process_result, summary_result
from vac_samples import enqueue_invoices, f0401_xml, invoice, period_range

from conftest import T0


@pytest.fixture
def turnkey(tmp_path):
    return FakeTurnkey(tmp_path / "EINVTurnkey")


@pytest.fixture
def tk(turnkey, clock):
    return TurnkeyClient(root=turnkey.root, clock=clock)


def all_types(at):
    inv = invoice(1, at - dt.timedelta(hours=2))
    allowance = messages.g0401(inv, "AL2026031000001", at, [messages.AllowanceLine(2, 1, 45)])
    used = [InvoiceNumber("AB", 10_000_000 + n) for n in range(3)]
    blank = messages.e0402([period_range(Period.of(at.date()), 100)], used, head_ban="04595257")[0]
    # (type, outbox key, message, reference in the file name)
    return [("F0401", str(inv.number), messages.f0401(inv, printed=True), "AB10000001"),
            ("F0501", str(inv.number), messages.f0501(inv, at, "客戶退貨"), "AB10000001"),
            ("F0701", str(inv.number), messages.f0701(inv, at, "載具錯誤"), "AB10000001"),
            ("G0401", "AL2026031000001", allowance, "AL2026031000001"),
            ("G0501", "AL2026031000001", messages.g0501(allowance, at, "折讓錯誤"), "AL2026031000001"),
            ("E0402", f"E0402:{blank.main.year_month}:AB", blank, f"{blank.main.year_month}-AB")]


def test_each_type_lands_in_its_turnkey_directory_byte_for_byte(tk, turnkey, clock):
    for mid, (kind, key, msg, reference) in enumerate(all_types(clock.now), start=1):
        payload = mig.build(msg)
        ack = tk.send(OutboxMessage(mid, kind, key, payload, clock.now))
        assert (ack.accepted, ack.pending, ack.retryable) == (False, True, True)
        category = "B2PMESSAGE" if kind == "E0402" else "B2SSTORAGE"
        path = turnkey.root / "UpCast" / category / kind / "SRC" / f"{kind}_{reference}_{mid}_0.xml"
        assert ack.center_ref == path.name
        assert path.read_bytes() == payload
        assert mig.parse(path.read_bytes()) == msg
        assert tk.journal.get(mid).state == "handed"
    assert len(turnkey.src_files()) == 6
    assert list((turnkey.root / ".receipt-terminal-staging").iterdir()) == []


def _f0401(mid, n, at, attempts=0):
    inv = invoice(n, at)
    return OutboxMessage(mid, "F0401", str(inv.number), f0401_xml(inv), at, attempts)


def test_a_message_is_handed_over_once(tk, turnkey, clock):
    m = _f0401(1, 1, clock.now)
    tk.send(m)
    again = tk.send(m)
    assert again.pending and "still in SRC: is Turnkey running?" in again.reason
    turnkey.pump(clock.now, results=False)
    third = tk.send(replace(m, attempts=2))
    assert third.pending and "picked up by Turnkey" in third.reason
    assert turnkey.src_files() == [] and len(turnkey.all_files("F0401_AB10000001_1_")) == 1


@pytest.mark.parametrize("turnkey_took_it", [False, True])
def test_a_crash_between_rename_and_journal_does_not_hand_over_twice(tk, turnkey, clock, monkeypatch, turnkey_took_it):
    m = _f0401(1, 1, clock.now)
    real_put = tk.journal.put

    class PowerCut(BaseException):
        pass

    def crash_on_handed(entry):
        if entry.state == "handed":
            raise PowerCut  # the process dies right after the rename
        real_put(entry)

    monkeypatch.setattr(tk.journal, "put", crash_on_handed)
    with pytest.raises(PowerCut):
        tk.send(m)
    monkeypatch.setattr(tk.journal, "put", real_put)
    assert tk.journal.get(1).state == "writing"
    if turnkey_took_it:
        turnkey.pump(clock.now, results=False)
    ack = tk.send(m)
    assert ack.pending and tk.journal.get(1).state == "handed"
    assert len(turnkey.all_files("F0401_AB10000001")) == 1


def test_a_crash_during_the_write_leaves_no_partial_file(tk, turnkey, clock, monkeypatch):
    m = _f0401(1, 1, clock.now)
    real_replace = os.replace

    def fail(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vac_files.os, "replace", fail)
    ack = tk.send(m)
    assert ack.retryable and ack.outage and "No space left on device" in ack.reason
    assert turnkey.src_files() == [] and tk.journal.get(1) is None  # the journal write failed first
    assert list(turnkey.root.rglob(".part-*")) == []
    monkeypatch.setattr(vac_files.os, "replace", real_replace)
    assert tk.send(m).pending
    assert [p.read_bytes() for p in turnkey.src_files()] == [m.payload]


def test_a_payload_that_breaks_a_mig_rule_is_not_handed_over(tk, turnkey, clock):
    m = _f0401(1, 1, clock.now)
    bad = m.payload.replace(b"<PrintMark>Y</PrintMark>", b"<PrintMark>N</PrintMark>")
    ack = tk.send(OutboxMessage(1, "F0401", m.key, bad, clock.now))
    assert not ack.retryable and "exactly one of: printed proof" in ack.reason
    assert not tk.send(OutboxMessage(2, "F0501", m.key, m.payload, clock.now)).retryable
    assert not tk.send(OutboxMessage(3, "X0401", m.key, m.payload, clock.now)).retryable
    assert turnkey.src_files() == [] and tk.journal.waiting() == []


def test_the_platforms_answers_settle_the_outbox(tk, turnkey, clock, outbox):
    invs = enqueue_invoices(outbox, clock, 10)
    blank = messages.e0402([period_range(Period.of(T0.date()), 100)], [i.number for i in invs],
                           head_ban="04595257")[0]
    outbox.add("E0402", f"E0402:{blank.main.year_month}:AB", mig.build(blank), clock.now)
    up = Uploader(outbox, tk, clock=clock, rng=random.Random(1))
    assert up.upload_once() == UploadResult(sent=11)
    assert outbox.backlog(clock.now).pending == 11
    assert up.upload_once() == UploadResult()  # nothing answered yet, nothing due

    clock.advance(minutes=20)
    locally_refused = "F0401_AB10000003_4_0.xml"
    turnkey.pump(clock.now, refuse_locally={locally_refused},
                 refuse={"AB10000006": ("5002", "金額不符（明細加總不等於總額）")})
    assert up.upload_once() == UploadResult(acked=9, rejected=2)
    assert outbox.row(4).reason.startswith("Turnkey's local check refused the file (UpCast/B2SSTORAGE/F0401/ERR/")
    assert outbox.row(7).reason.startswith("the platform refused it (5002): 金額不符（明細加總不等於總額） [Unpack/")
    assert outbox.row(11).state == "acked" and outbox.row(11).center_ref.startswith("turnkey:Unpack/B2PMESSAGE/E0402/")
    assert tk.journal.waiting() == []
    clock.advance(hours=1)
    assert up.upload_once() == UploadResult()  # answers are read once
    assert sum(1 for r in map(outbox.row, range(1, 12)) for h in r.history if h[0] == "acked") == 9


def test_a_requeued_rejection_gets_a_fresh_file(tk, turnkey, clock, outbox):
    enqueue_invoices(outbox, clock, 1)
    up = Uploader(outbox, tk, clock=clock, rng=random.Random(1))
    up.upload_once()
    turnkey.pump(clock.now, refuse_locally={"F0401_AB10000000_1_0.xml"})
    assert up.upload_once() == UploadResult(rejected=1)
    outbox.requeue(1, clock.now)
    assert up.upload_once() == UploadResult(sent=1)
    assert [p.name for p in turnkey.src_files()] == ["F0401_AB10000000_1_1.xml"]  # not the name still in ERR
    turnkey.pump(clock.now)
    assert up.upload_once() == UploadResult(acked=1)
    assert outbox.row(1).state == "acked"


def test_summary_results(tk, turnkey, clock, outbox):
    enqueue_invoices(outbox, clock, 3)
    up = Uploader(outbox, tk, clock=clock, rng=random.Random(1))
    up.upload_once()
    turnkey.pump(clock.now, results=False)
    turnkey.write_result("BAK/SummaryResult/20260311/summary.xml",
                         summary_result("F0401", ["AB10000000", "AB10000002"], ["AB10000001"]))
    assert up.upload_once() == UploadResult(acked=2, rejected=1)
    assert outbox.row(2).reason.startswith("the platform refused it (Failed): listed as failed in the SummaryResult")


def test_unreadable_and_hostile_result_files_acknowledge_nothing(tk, turnkey, clock, outbox, caplog):
    enqueue_invoices(outbox, clock, 1)
    up = Uploader(outbox, tk, clock=clock, rng=random.Random(1))
    up.upload_once()
    turnkey.pump(clock.now, results=False)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<ProcessResult><MessageType>F0401</MessageType><InvoiceNumber>AB10000000</InvoiceNumber>"
            b"<ResultCode>0</ResultCode><ResultMessage>&b;</ResultMessage></ProcessResult>")
    turnkey.write_result("B2SSTORAGE/F0401/ProcessResult/a.xml", bomb)
    turnkey.write_result("B2SSTORAGE/F0401/ProcessResult/b.xml", b"<ProcessResult><ResultCode>0")
    turnkey.write_result("B2SSTORAGE/F0401/ProcessResult/c.xml", process_result("F0401", "AB10000000").replace(
        b"<MessageType>F0401</MessageType>", b"<MessageType>Z9999</MessageType>"))
    turnkey.write_result("E0501/x.xml", b"<InvoiceAssignNo><Ban>04595257</Ban></InvoiceAssignNo>")
    turnkey.write_result("B2SSTORAGE/F0401/ProcessResult/d.xml", process_result("F0401", "AB19999999"))
    assert up.upload_once() == UploadResult()
    assert outbox.row(1).state == "pending"
    for name, words in [("a.xml", "DTDForbidden"), ("b.xml", "unreadable XML"), ("c.xml", "no known MessageType")]:
        assert any(name in r.message and words in r.message for r in caplog.records), name
    seen = tk.journal.seen_results()
    assert seen == {"Unpack/E0501/x.xml", "Unpack/B2SSTORAGE/F0401/ProcessResult/d.xml"}
    turnkey.write_result("B2SSTORAGE/F0401/ProcessResult/e.xml", process_result("F0401", "AB10000000"))
    assert up.upload_once() == UploadResult(acked=1)


def test_a_vanished_turnkey_directory_is_an_outage_not_a_new_tree(tk, turnkey, clock):
    import shutil

    shutil.rmtree(turnkey.root / "UpCast")
    ack = tk.send(_f0401(1, 1, clock.now))
    assert ack.outage and ack.retryable and "UpCast is missing" in ack.reason
    assert not (turnkey.root / "UpCast").exists()


def test_turnkey_hands_out_no_numbers_and_needs_its_directory(tk, tmp_path, clock):
    with pytest.raises(NotImplementedError, match="配號"):
        tk.fetch_tracks(Period.of(T0.date()))
    with pytest.raises(ConfigError, match="no UpCast directory") as err:
        TurnkeyClient(root=tmp_path / "nowhere", clock=clock)
    assert err.value.field == "upload.turnkey_root"
    assert isinstance(make_client({"backend": "turnkey", "turnkey_root": str(tk.root)}, clock=clock), TurnkeyClient)
