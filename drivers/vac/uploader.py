"""Drain the outbox to the value-added center once: the step the service runs every few minutes and
the 09:00 systemd timer runs as a backstop.

Invariants:
- A message is acknowledged only when the client's Ack says the center has it; a refused message is
  marked rejected with the center's reason; everything else is retried with backoff and jitter.
- Memory stays bounded by ``batch``: messages are fetched ``batch`` at a time and not kept.
- A run ends: ``pending`` is asked with the run's start time and every failure is rescheduled into the
  future, so no message comes back within the run.
- When the center is unreachable the run stops after ``stop_after_outages`` consecutive outages instead
  of timing out on every queued message; the rest stay due for the next run.
- A later message of the same key (the F0501 of an F0401) is held back when the earlier one was not
  acknowledged in this run, so the center never sees a void before its invoice.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Callable

from terminal.core.ports import Outbox, OutboxMessage
from terminal.core.vac_backoff import check_schedule, retry_delay

from .center import Ack, CenterClient, UploadResult

log = logging.getLogger(__name__)


class Uploader:
    """:param outbox: the ledger's outbox (``terminal.core.ports.Outbox``).
    :param client: an ``EcpayOfflineClient``, ``TurnkeyClient`` or any ``CenterClient``.
    :param clock: aware ``datetime`` now.
    :param rng: random source for the jitter.
    :param base_delay_s: first retry delay ceiling; doubles per attempt up to ``max_delay_s``.
    :param batch: messages fetched from the outbox at a time.
    :param pending_recheck_s: when to look again at a message handed over without an answer yet.
    :param stop_after_outages: consecutive unreachable-center answers that end the run.
    """

    def __init__(self, outbox: Outbox, client: CenterClient, *, clock: Callable[[], dt.datetime],
                 rng: random.Random, base_delay_s: float = 30, max_delay_s: float = 3600, batch: int = 50,
                 pending_recheck_s: float = 900, stop_after_outages: int = 3) -> None:
        if batch < 1 or stop_after_outages < 1 or pending_recheck_s <= 0:
            raise ValueError("batch and stop_after_outages must be >= 1, pending_recheck_s > 0")
        check_schedule(base_delay_s, max_delay_s)
        self.outbox = outbox
        self.client = client
        self._clock = clock
        self._rng = rng
        self._base = base_delay_s
        self._max = max_delay_s
        self._batch = batch
        self._recheck = pending_recheck_s
        self._stop_after = stop_after_outages

    def upload_once(self, *, limit: int | None = None) -> UploadResult:
        """Collect answers that arrived (Turnkey), then send every due message once (at most ``limit``)."""
        started = self._clock()
        result = UploadResult()
        collect = getattr(self.client, "collect_results", None)  # a ResultCollector (Turnkey)
        if collect is not None:
            result += collect(self.outbox, started)
        held: dict[str, dt.datetime] = {}  # key -> retry time of its unacknowledged earlier message
        outages = 0
        handled = 0
        previous: set[int] = set()
        while limit is None or handled < limit:
            want = self._batch if limit is None else min(self._batch, limit - handled)
            messages = self.outbox.pending(started, limit=want)
            if not messages:
                break
            ids = {m.id for m in messages}
            if ids & previous:
                log.error("the outbox returned messages it was just told about (%s); stopping this run",
                          sorted(ids & previous)[:5])
                break
            previous = ids
            for message in messages:
                if message.key in held:
                    self._hold(message, held[message.key])
                    result += UploadResult(failed=1)
                else:
                    ack = self._send(message)
                    result += self._record(message, ack, held)
                    outages = outages + 1 if ack.outage else 0
                handled += 1
                if outages >= self._stop_after:
                    log.warning("the center is unreachable (%d failures in a row): stopping this run", outages)
                    return self._done(result)
                if limit is not None and handled >= limit:
                    break
        return self._done(result)

    def _send(self, message: OutboxMessage) -> Ack:
        try:
            return self.client.send(message)
        except Exception as exc:  # a bug for one message must not stop the others; it is retried
            log.exception("sending message %d (%s %s) failed", message.id, message.message_type, message.key)
            return Ack(False, reason=f"internal error: {type(exc).__name__}", retryable=True)

    def _record(self, message: OutboxMessage, ack: Ack, held: dict[str, dt.datetime]) -> UploadResult:
        now = self._clock()
        if ack.accepted:
            self.outbox.mark_acked(message.id, now, ack.center_ref)
            return UploadResult(sent=1, acked=1)
        if ack.pending:
            retry_at = now + dt.timedelta(seconds=self._recheck)
            self.outbox.mark_failed(message.id, now, ack.reason or "waiting for the center's answer", retry_at)
            held[message.key] = retry_at
            return UploadResult(sent=1)
        if ack.retryable:
            delay = retry_delay(message.attempts + 1, self._rng, base_s=self._base, max_s=self._max)
            retry_at = now + dt.timedelta(seconds=max(delay, ack.retry_after_s or 0))
            self.outbox.mark_failed(message.id, now, ack.reason or "failed", retry_at)
            held[message.key] = retry_at
            return UploadResult(sent=1, failed=1)
        self.outbox.mark_rejected(message.id, now, ack.reason or "refused by the center")
        log.warning("message %d (%s %s) rejected: %s", message.id, message.message_type, message.key, ack.reason)
        # a later message of a refused one (its void) would be refused too until someone looks at it
        held[message.key] = now + dt.timedelta(seconds=self._max)
        return UploadResult(sent=1, rejected=1)

    def _hold(self, message: OutboxMessage, until: dt.datetime) -> None:
        now = self._clock()
        self.outbox.mark_failed(message.id, now, "held back: an earlier message for the same key is not "
                                                 "acknowledged yet", max(until, now) + dt.timedelta(seconds=1))

    @staticmethod
    def _done(result: UploadResult) -> UploadResult:
        if result.sent or result.acked or result.rejected:
            log.info("upload run: sent %d, acknowledged %d, failed %d, rejected %d",
                     result.sent, result.acked, result.failed, result.rejected)
        return result
