"""The outbox as terminal.core.ports.Outbox: due messages oldest first, one subject's messages in
creation order, failures retried later, rejections parked until requeued, acks final."""
import datetime as dt
import zlib

import pytest

from ledger_helpers import at
from storage import outbox
from storage.outbox import SqliteOutbox
from terminal.core.errors import ValidationError
from terminal.core.ports import Backlog, Outbox

T0 = at(2024, 9, 16, 9)


def keys(msgs):
    return [(m.message_type, m.key) for m in msgs]


def test_it_is_the_port(stocked):
    assert isinstance(stocked.outbox, SqliteOutbox)
    for name in ("pending", "mark_acked", "mark_failed", "mark_rejected", "backlog"):
        assert callable(getattr(stocked.outbox, name)) and hasattr(Outbox, name)


def test_pending_oldest_first_with_limit_and_ack_is_final(till, stocked):
    numbers = [str(till.sale()[0].number) for _ in range(3)]
    box = stocked.outbox
    assert keys(box.pending(T0)) == [("F0401", n) for n in numbers]
    first, second = box.pending(T0, limit=2)
    assert (first.attempts, first.last_error) == (0, None) and first.created_at <= second.created_at
    box.mark_acked(first.id, T0, center_ref="VAC-1")
    box.mark_acked(first.id, T0)  # twice is harmless
    box.mark_failed(first.id, T0, "late failure", T0)  # and a late failure changes nothing
    assert keys(box.pending(T0)) == [("F0401", n) for n in numbers[1:]]
    assert box.state(first.id)["center_ref"] == "VAC-1"
    assert box.backlog(T0) == Backlog(pending=2, rejected=0, oldest_pending_at=second.created_at)


def test_a_failed_message_waits_and_holds_back_its_subject(till, stocked):
    a, _ = till.sale()
    b, _ = till.sale()
    stocked.cancel(str(a.number), now=till.now, reason="退貨")
    box = stocked.outbox
    assert keys(box.pending(T0)) == [("F0401", str(a.number)), ("F0401", str(b.number)), ("F0501", str(a.number))]
    f0401_a = box.pending(T0)[0]
    box.mark_failed(f0401_a.id, T0, "timeout", retry_at=T0 + dt.timedelta(minutes=10))
    # a's F0501 may not overtake its F0401; b is unaffected
    assert keys(box.pending(T0 + dt.timedelta(minutes=9))) == [("F0401", str(b.number))]
    due = box.pending(T0 + dt.timedelta(minutes=10))
    assert keys(due) == [("F0401", str(a.number)), ("F0401", str(b.number)), ("F0501", str(a.number))]
    assert (due[0].attempts, due[0].last_error) == (1, "timeout")


def test_a_rejected_message_is_parked_until_requeued(till, stocked):
    a, _ = till.sale()
    stocked.cancel(str(a.number), now=till.now, reason="退貨")
    box = stocked.outbox
    msg = box.pending(T0)[0]
    box.mark_rejected(msg.id, T0, "buyer id invalid")
    assert box.pending(T0 + dt.timedelta(days=30)) == []  # its F0501 waits behind it too
    assert box.backlog(T0) == Backlog(pending=1, rejected=1, oldest_pending_at=till.now)
    assert box.state(msg.id)["reject_reason"] == "buyer id invalid"
    assert stocked.events()[-1]["kind"] == "upload_rejected"
    box.requeue(msg.id, T0 + dt.timedelta(hours=1))
    assert keys(box.pending(T0 + dt.timedelta(hours=1))) == [("F0401", str(a.number)), ("F0501", str(a.number))]


def test_unknown_message_ids(stocked):
    for call in (lambda: stocked.outbox.mark_acked(999, T0), lambda: stocked.outbox.get(999),
                 lambda: stocked.outbox.mark_rejected(999, T0, "x")):
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.code == "unknown_message"


def test_long_errors_are_cut(till, stocked):
    till.sale()
    msg = stocked.outbox.pending(T0)[0]
    stocked.outbox.mark_failed(msg.id, T0, "x" * 5000, T0)
    assert len(stocked.outbox.get(msg.id).last_error) == 500


def test_payloads_are_stored_compressed_and_read_back_exactly(till, stocked):
    # stored payloads need the preset dictionary's exact bytes: it must never change
    assert zlib.adler32(outbox._ZDICT_V1) == 1594771720
    inv, _ = till.sale()
    (blob,) = stocked._s.conn.execute("SELECT payload FROM outbox").fetchone()
    payload = stocked.outbox.pending(T0)[0].payload
    assert payload.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns=')
    assert len(blob) < len(payload) / 4
    assert outbox.decompress(blob) == payload
