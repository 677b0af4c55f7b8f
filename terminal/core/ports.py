"""Interfaces (ports) between the application and its adapters, so each side can be built and tested
alone. Adapters implement these structurally (typing.Protocol); nothing here does I/O."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, Sequence

# Outbox message types: the MIG message code of the payload.
MESSAGE_TYPES = ("F0401", "F0501", "F0701", "G0401", "G0501", "E0402")


@dataclass(frozen=True)
class OutboxMessage:
    """One message waiting for the value-added center.

    ``payload`` is the MIG 4.1 XML (bytes, from ``terminal.core.mig.build``): the one canonical form,
    which a JSON back-end such as ECPay's re-reads with ``mig.parse``. ``key`` is the business key the
    center deduplicates on (invoice number, allowance number, or ``E0402:<period>:<track>``).
    """

    id: int
    message_type: str
    key: str
    payload: bytes
    created_at: dt.datetime
    attempts: int = 0
    last_error: str | None = None


class Outbox(Protocol):
    def pending(self, now: dt.datetime, limit: int = 100) -> Sequence[OutboxMessage]:
        """Messages not yet acknowledged nor rejected whose retry time has come, oldest first.
        Messages of one invoice come in the order they were created (F0401 before its F0501)."""

    def mark_acked(self, message_id: int, at: dt.datetime, center_ref: str | None = None) -> None:
        """The center acknowledged the message: it is never sent again."""

    def mark_failed(self, message_id: int, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        """A transient failure: count the attempt, keep the error, retry at ``retry_at``."""

    def mark_rejected(self, message_id: int, at: dt.datetime, reason: str) -> None:
        """The center refused the message: it stays visible with the reason and is not retried
        until a technician requeues it."""

    def backlog(self, now: dt.datetime) -> "Backlog":
        """Counts for the OLED and /v1/status."""


@dataclass(frozen=True)
class Backlog:
    pending: int
    rejected: int
    oldest_pending_at: dt.datetime | None
