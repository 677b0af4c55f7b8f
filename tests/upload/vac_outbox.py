"""A strict in-memory ``terminal.core.ports.Outbox`` for the upload tests: a test double of the port,
holding real state and refusing every call the protocol does not allow (acknowledging a message twice,
touching one that is already settled, rescheduling into the past), so an uploader bug fails loudly."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from terminal.core.ports import MESSAGE_TYPES, Backlog, OutboxMessage

PENDING, ACKED, REJECTED = "pending", "acked", "rejected"


class OutboxProtocolError(AssertionError):
    """The caller broke the Outbox protocol."""


@dataclass
class _Row:
    message: OutboxMessage
    state: str = PENDING
    retry_at: dt.datetime | None = None
    center_ref: str | None = None
    reason: str | None = None
    settled_at: dt.datetime | None = None
    history: list = field(default_factory=list)


def _aware(value: dt.datetime, name: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise OutboxProtocolError(f"{name} must be an aware datetime, got {value!r}")


class MemoryOutbox:
    def __init__(self, *, hold_later_of_a_key: bool = True) -> None:
        """``hold_later_of_a_key``: do not return a message while an earlier one of its key (the F0401 of
        an F0501) is unacknowledged — the strict reading of the port; False for the lenient reading."""
        self._hold = hold_later_of_a_key
        self._rows: dict[int, _Row] = {}
        self._order: list[int] = []  # creation order: (created_at, id) ascending
        self._next_id = 1

    # ---------------------------------------------------------------- what the ledger does
    def add(self, message_type: str, key: str, payload: bytes, created_at: dt.datetime) -> int:
        if message_type not in MESSAGE_TYPES:
            raise ValueError(message_type)
        _aware(created_at, "created_at")
        if self._order and created_at < self._rows[self._order[-1]].message.created_at:
            raise ValueError("messages are enqueued in time order")
        mid = self._next_id
        self._next_id += 1
        self._rows[mid] = _Row(OutboxMessage(mid, message_type, key, payload, created_at), retry_at=created_at)
        self._order.append(mid)
        return mid

    def requeue(self, message_id: int, now: dt.datetime) -> None:
        """A technician sends a rejected message again."""
        row = self._rows[message_id]
        if row.state != REJECTED:
            raise OutboxProtocolError(f"message {message_id} is {row.state}, not rejected")
        row.state, row.retry_at, row.reason = PENDING, now, None

    # ---------------------------------------------------------------- the port
    def pending(self, now: dt.datetime, limit: int = 100) -> list[OutboxMessage]:
        _aware(now, "now")
        if not isinstance(limit, int) or limit < 1:
            raise OutboxProtocolError(f"limit must be a positive int, got {limit!r}")
        out: list[OutboxMessage] = []
        blocked: set[str] = set()  # keys with an earlier message not yet acknowledged
        for mid in self._order:
            row = self._rows[mid]
            if row.state == ACKED:
                continue
            key = row.message.key
            if row.state == PENDING and key not in blocked and row.retry_at <= now:
                out.append(row.message)
                if len(out) == limit:
                    break
            if self._hold:
                blocked.add(key)
        return out

    def _open(self, message_id: int, at: dt.datetime) -> _Row:
        _aware(at, "at")
        row = self._rows.get(message_id)
        if row is None:
            raise OutboxProtocolError(f"no message {message_id}")
        if row.state != PENDING:
            raise OutboxProtocolError(f"message {message_id} is already {row.state}")
        return row

    def mark_acked(self, message_id: int, at: dt.datetime, center_ref: str | None = None) -> None:
        row = self._open(message_id, at)
        row.state, row.center_ref, row.settled_at = ACKED, center_ref, at
        row.history.append(("acked", at, center_ref))

    def mark_failed(self, message_id: int, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        row = self._open(message_id, at)
        _aware(retry_at, "retry_at")
        if not isinstance(error, str) or not error:
            raise OutboxProtocolError("a failure needs its error text")
        if retry_at <= at:
            raise OutboxProtocolError(f"retry_at {retry_at} is not after {at}")
        row.retry_at = retry_at
        row.message = replace(row.message, attempts=row.message.attempts + 1, last_error=error)
        row.history.append(("failed", at, error, retry_at))

    def mark_rejected(self, message_id: int, at: dt.datetime, reason: str) -> None:
        row = self._open(message_id, at)
        if not isinstance(reason, str) or not reason:
            raise OutboxProtocolError("a rejection needs the center's reason")
        row.state, row.reason, row.settled_at = REJECTED, reason, at
        row.message = replace(row.message, last_error=reason)
        row.history.append(("rejected", at, reason))

    def backlog(self, now: dt.datetime) -> Backlog:
        _aware(now, "now")
        pending = [r for r in self._rows.values() if r.state == PENDING]
        return Backlog(pending=len(pending), rejected=sum(r.state == REJECTED for r in self._rows.values()),
                       oldest_pending_at=min((r.message.created_at for r in pending), default=None))

    # ---------------------------------------------------------------- inspection for tests
    def row(self, message_id: int) -> _Row:
        return self._rows[message_id]

    def states(self) -> dict[int, str]:
        return {mid: row.state for mid, row in self._rows.items()}

    def __len__(self) -> int:
        return len(self._rows)
