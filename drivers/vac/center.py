"""The one interface between the uploader and a value-added center back-end: what a send returns
(``Ack``), what a run did (``UploadResult``), and the protocols both back-ends implement."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Protocol

from terminal.core.numbers import NumberRange
from terminal.core.period import Period
from terminal.core.ports import OutboxMessage


@dataclass(frozen=True)
class Ack:
    """The outcome of handing one message to the center.

    ``accepted``: the center's answer says it has the message (also when it already had it) — the only
    way a message becomes acknowledged. Otherwise ``retryable`` says whether trying again can help
    (network, center down, our clock or keys) or not (the center refused the content; it stays visible
    with ``reason``). ``pending``: handed over, the answer comes later (Turnkey files). ``outage``: the
    center could not be reached or answered nonsense, so the next message would fail the same way.
    ``retry_after_s``: the center asked us to wait at least this long.
    """

    accepted: bool
    center_ref: str | None = None
    reason: str | None = None
    retryable: bool = False
    pending: bool = False
    outage: bool = False
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.accepted and (self.retryable or self.pending or self.outage):
            raise ValueError("an accepted message is neither retried, pending nor an outage")
        if self.pending and not self.retryable:
            raise ValueError("a pending hand-over is checked again later: it must be retryable")


@dataclass(frozen=True)
class UploadResult:
    """What one run did: ``sent`` messages handed to the center (a request made or a file written), of
    which ``acked`` were acknowledged, ``failed`` will be retried, ``rejected`` were refused. Hand-overs
    still waiting for the center's answer count only in ``sent``; acknowledgements collected from
    earlier hand-overs count in ``acked``/``rejected``."""

    sent: int = 0
    acked: int = 0
    failed: int = 0
    rejected: int = 0

    def __add__(self, other: "UploadResult") -> "UploadResult":
        return UploadResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


class CenterClient(Protocol):
    def send(self, message: OutboxMessage) -> Ack:
        """Hand one message to the center. Never raises for network or center trouble: that is an Ack."""

    def fetch_tracks(self, period: Period) -> list[NumberRange]:
        """Number ranges the center allocated to this terminal for ``period`` (for Ledger.import_ranges).

        :raises NotImplementedError: the back-end does not hand out numbers (Turnkey).
        :raises CenterError: the center could not be asked or refused.
        """


class ResultCollector(Protocol):
    """A back-end whose answers arrive after the hand-over (Turnkey)."""

    def collect_results(self, outbox, now: dt.datetime) -> UploadResult:
        """Mark handed-over messages acknowledged or rejected from the answers that have arrived."""
