"""The uploader over the real ECPay client and the fake server: exactly once through faults, partial
acceptance and a three-day outage (injected clock), with the backoff schedule and run boundaries."""
import datetime as dt
import logging
import random

import pytest

from drivers.vac import EcpayOfflineClient, Uploader, UploadResult, deadline_status
from terminal.core.vac_backoff import retry_delay
from vac_fake_ecpay import Fault
from vac_outbox import MemoryOutbox
from vac_samples import (HASH_IV, HASH_KEY, MACHINE_ID, MERCHANT_ID, START, TRACK, enqueue_invoices, f0401_xml,
                         f0501_xml, invoice)


def _client(ecpay, clock, timeout=0.3):
    return EcpayOfflineClient(base_url=ecpay.base_url, merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV,
                              machine_id=MACHINE_ID, timeout=timeout, clock=clock, allow_insecure_loopback=True)


def _drain(up, ecpay, clock, *, step=dt.timedelta(minutes=5), max_runs=500):
    """The service loop: a run every ``step`` until nothing is pending; returns the number of runs."""
    for n in range(1, max_runs + 1):
        up.upload_once()
        ecpay.release.set()
        if up.outbox.backlog(clock.now).pending == 0:
            return n
        clock.advance(seconds=step.total_seconds())
    raise AssertionError("the outbox never drained")


def test_every_invoice_reaches_the_center_exactly_once_through_every_fault(ecpay, clock, outbox):
    invs = enqueue_invoices(outbox, clock, 60)
    refused = {str(invs[n].number) for n in (4, 17, 40)}
    for number in refused:
        ecpay.refuse[number] = (5070099, "買受人統編不存在")
    voided = invs[20:25]
    for inv in voided:
        outbox.add("F0501", str(inv.number), f0501_xml(inv, clock.now), clock.now)
    clock.advance(minutes=1)
    ecpay.fail_next(Fault("status", status=500), Fault("drop", after=True), Fault("hang", after=True),
                    Fault("garbage"), Fault("status", status=503, after=True), Fault("bad_data"),
                    Fault("drop"), Fault("transcode"), Fault("hang"), Fault("wrong_merchant"),
                    Fault("drop", after=True, action="OfflineInvalid"), Fault("status", status=502, action="OfflineInvalid"))
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(11))
    _drain(up, ecpay, clock)

    issued = {str(i.number) for i in invs}
    assert set(ecpay.stored) == issued - refused
    assert set(ecpay.stored.values()) == {1}  # none twice
    # the fake refuses a void of an invoice it does not have, so this also proves each void came second
    assert ecpay.void_stored == {str(i.number): 1 for i in voided}
    states = outbox.states()
    assert [mid for mid, s in states.items() if s == "rejected"] == [5, 18, 41]
    assert outbox.row(5).reason == "ECPay RtnCode 5070099: 買受人統編不存在"
    assert sum(s == "acked" for s in states.values()) == 57 + 5
    assert outbox.backlog(clock.now).pending == 0 and outbox.backlog(clock.now).rejected == 3


def test_partial_acceptance_within_one_batch(ecpay, clock, outbox):
    enqueue_invoices(outbox, clock, 10)
    ecpay.refuse[f"{TRACK}{START + 2}"] = (5070099, "載具號碼不存在")
    ecpay.refuse[f"{TRACK}{START + 5}"] = (5070098, "捐贈碼不存在")
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(1), batch=10)

    class Nth:  # the 4th and 8th requests fail with HTTP 500 (the 3rd and 6th are refused by the center)
        def __init__(self, inner):
            self.inner, self.n = inner, 0

        def send(self, m):
            self.n += 1
            if self.n in (4, 8):
                ecpay.fail_next(Fault("status", status=500))
            return self.inner.send(m)

    up.client = Nth(up.client)
    assert up.upload_once() == UploadResult(sent=10, acked=6, failed=2, rejected=2)
    assert sorted(ecpay.stored) == [f"{TRACK}{START + n}" for n in (0, 1, 4, 6, 8, 9)]
    clock.advance(minutes=1)  # both retries are due after at most 30 s
    assert up.upload_once() == UploadResult(sent=2, acked=2)
    assert sorted(ecpay.stored) == [f"{TRACK}{START + n}" for n in (0, 1, 3, 4, 6, 7, 8, 9)]
    assert [outbox.row(m).state for m in (3, 6)] == ["rejected", "rejected"]
    assert outbox.backlog(clock.now).pending == 0


def test_a_three_day_outage(ecpay, clock, outbox):
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(5))
    invs = enqueue_invoices(outbox, clock, 20, every=dt.timedelta(minutes=1))
    start = clock.now
    ecpay.pause()  # connection refused from now on
    statuses, runs, requests_before = {}, 0, ecpay.requests
    issued_during = []
    while clock.now < start + dt.timedelta(days=3):
        clock.advance(minutes=5)
        if clock.now.hour == 12 and clock.now.minute < 5:  # the shop keeps selling
            issued_during += enqueue_invoices(outbox, clock, 3, first=100 + len(issued_during),
                                              every=dt.timedelta(0))
        result = up.upload_once()
        assert result.acked == 0 and result.sent <= 3  # a run gives up after 3 refused connections
        runs += 1
        statuses.setdefault(deadline_status(outbox.backlog(clock.now), clock.now)[0], clock.now)
    assert ecpay.requests == requests_before
    assert runs == 864
    # the oldest invoice was issued 2026-03-10 10:00: warned a day later, overdue from 03-13 00:00
    assert statuses["warn"] == dt.datetime(2026, 3, 11, 10, 0, tzinfo=start.tzinfo)
    assert statuses["overdue"] == dt.datetime(2026, 3, 13, 0, 0, tzinfo=start.tzinfo)
    for row in (outbox.row(mid) for mid in range(1, 21)):
        assert row.state == "pending" and "connection to 127.0.0.1 failed" in row.message.last_error
        # backoff ceiling one hour, jitter in its upper half: at most two attempts an hour once warmed up
        assert row.message.attempts <= 2 * 72 + 8
    assert outbox.row(1).message.attempts >= 66  # ...and the oldest was tried at least hourly
    ecpay.resume()
    recovered = clock.now
    _drain(up, ecpay, clock)
    assert clock.now - recovered <= dt.timedelta(hours=1, minutes=5)
    assert ecpay.stored == {str(i.number): 1 for i in invs + issued_during}
    assert deadline_status(outbox.backlog(clock.now), clock.now) == ("ok", None)


def test_a_run_stops_after_three_outages_and_leaves_the_rest_due(ecpay, clock, outbox):
    enqueue_invoices(outbox, clock, 30)
    ecpay.down = True
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(2))
    assert up.upload_once() == UploadResult(sent=3, failed=3)
    assert ecpay.requests == 3
    assert [outbox.row(m).message.attempts for m in range(1, 6)] == [1, 1, 1, 0, 0]
    assert len(outbox.pending(clock.now, limit=100)) == 27


def test_the_retry_schedule_uses_the_injected_random_source(ecpay, clock, outbox):
    enqueue_invoices(outbox, clock, 1)
    ecpay.down = True
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(99), base_delay_s=30,
                  max_delay_s=600)
    replay = random.Random(99)
    for attempt in range(1, 8):
        up.upload_once()
        row = outbox.row(1)
        assert (row.retry_at - clock.now).total_seconds() == pytest.approx(retry_delay(attempt, replay, max_s=600))
        clock.now = row.retry_at  # exactly when it is due again
    assert outbox.row(1).message.attempts == 7


def test_rate_limiting_waits_thirty_minutes(ecpay, clock, outbox):
    enqueue_invoices(outbox, clock, 1)
    ecpay.fail_next(Fault("status", status=403))
    Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(1)).upload_once()
    assert outbox.row(1).retry_at - clock.now == dt.timedelta(minutes=30)


def test_a_void_is_held_back_while_its_invoice_is_not_acknowledged(ecpay, clock):
    lenient = MemoryOutbox(hold_later_of_a_key=False)  # an outbox that would hand both out together
    inv = invoice(1, clock.now)
    lenient.add("F0401", str(inv.number), f0401_xml(inv), clock.now)
    lenient.add("F0501", str(inv.number), f0501_xml(inv, clock.now), clock.now)
    ecpay.fail_next(Fault("status", status=500))
    up = Uploader(lenient, _client(ecpay, clock), clock=clock, rng=random.Random(1))
    assert up.upload_once() == UploadResult(sent=1, failed=2)
    assert [a for a, _ in ecpay.log] == []  # the 500 came before processing; the void was not sent
    assert lenient.row(2).message.last_error.startswith("held back")
    assert lenient.row(2).retry_at > lenient.row(1).retry_at
    clock.advance(minutes=2)
    assert up.upload_once() == UploadResult(sent=2, acked=2)
    assert [a for a, _ in ecpay.log] == ["OfflineIssue", "OfflineInvalid"]


def test_limit_and_batch_bound_each_run(ecpay, clock):
    class Spy(MemoryOutbox):
        limits = []

        def pending(self, now, limit=100):
            self.limits.append(limit)
            return super().pending(now, limit)

    spy = Spy()
    enqueue_invoices(spy, clock, 23)
    up = Uploader(spy, _client(ecpay, clock), clock=clock, rng=random.Random(1), batch=5)
    assert up.upload_once(limit=7) == UploadResult(sent=7, acked=7)
    assert spy.limits == [5, 2]
    assert up.upload_once() == UploadResult(sent=16, acked=16)
    assert spy.limits[2:] == [5, 5, 5, 5, 5]  # the last call finds nothing


def test_a_message_that_crashes_the_client_does_not_stop_the_others(ecpay, clock, outbox, caplog):
    enqueue_invoices(outbox, clock, 4)
    real = _client(ecpay, clock)

    class Buggy:
        def send(self, m):
            if m.id == 2:
                raise RuntimeError("bug")
            return real.send(m)

    up = Uploader(outbox, Buggy(), clock=clock, rng=random.Random(1))
    assert up.upload_once() == UploadResult(sent=4, acked=3, failed=1)
    assert outbox.row(2).message.last_error == "internal error: RuntimeError"
    assert "sending message 2 (F0401 AB10000001) failed" in caplog.text and "RuntimeError: bug" in caplog.text


def test_an_outbox_that_keeps_returning_the_same_messages_cannot_loop_forever(ecpay, clock, caplog):
    class Stuck(MemoryOutbox):
        def mark_failed(self, message_id, at, error, retry_at):
            pass  # forgets to reschedule

    stuck = Stuck()
    enqueue_invoices(stuck, clock, 3)
    ecpay.refuse.update({f"{TRACK}{START + n}": (5070099, "temporary? no: 稍後再試") for n in range(3)})
    up = Uploader(stuck, _client(ecpay, clock), clock=clock, rng=random.Random(1))
    assert up.upload_once() == UploadResult(sent=3, failed=3)
    assert "the outbox returned messages it was just told about" in caplog.text


def test_a_rejected_message_stays_visible_until_requeued(ecpay, clock, outbox):
    enqueue_invoices(outbox, clock, 2)
    ecpay.refuse[f"{TRACK}{START + 1}"] = (5070099, "載具號碼不存在")
    up = Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(1))
    assert up.upload_once() == UploadResult(sent=2, acked=1, rejected=1)
    clock.advance(days=1)
    assert up.upload_once() == UploadResult()  # not retried on its own
    b = outbox.backlog(clock.now)
    assert (b.pending, b.rejected) == (0, 1)
    del ecpay.refuse[f"{TRACK}{START + 1}"]  # fixed at the center by a technician
    outbox.requeue(2, clock.now)
    assert up.upload_once() == UploadResult(sent=1, acked=1)
    assert ecpay.stored == {f"{TRACK}{START}": 1, f"{TRACK}{START + 1}": 1}


def test_a_log_line_per_run(ecpay, clock, outbox, caplog):
    caplog.set_level(logging.INFO, logger="drivers.vac")
    enqueue_invoices(outbox, clock, 2)
    Uploader(outbox, _client(ecpay, clock), clock=clock, rng=random.Random(1)).upload_once()
    assert "upload run: sent 2, acknowledged 2, failed 0, rejected 0" in caplog.text
