"""Buyer data scanned at the counter and waiting for the next sale: a carrier, a donation code or a
buyer tax ID, held for a limited time.

The state machine: a valid scan makes (or replaces) the pending choice with an expiry; a bad scan is
reported and leaves any earlier pending choice alone (a misread must not lose what the customer
already scanned); the clear button drops it; a sale takes it exactly once. ``now`` is passed in and
must come from a monotonic clock (seconds), so an NTP step cannot shorten or stretch the window.
The lock makes ``take`` atomic across the scanner thread and the sale request threads.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable

from .carriers import BuyerChoice, classify_scan
from .errors import ConfigError, ValidationError

DEFAULT_HOLD_S = 60.0
MAX_HOLD_S = 3600.0


@dataclass(frozen=True)
class PendingBuyer:
    choice: BuyerChoice
    scanned_at: float
    expires_at: float

    def expires_in(self, now: float) -> int:
        """Whole seconds left, rounded up (what the OLED counts down); 0 once expired."""
        return max(0, math.ceil(self.expires_at - now))


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did: ``pending`` is set when accepted, ``error`` (with ``code`` and
    ``message_zh``) when rejected."""

    raw: str
    pending: PendingBuyer | None = None
    error: ValidationError | None = None

    @property
    def accepted(self) -> bool:
        return self.pending is not None


class PendingBuyerData:
    """The one pending buyer choice of the terminal.

    :param hold_s: seconds a scanned choice stays pending (1 to 3600).
    :param classify: the scan classifier (the core's by default).
    """

    def __init__(self, hold_s: float = DEFAULT_HOLD_S, *,
                 classify: Callable[[str], BuyerChoice] = classify_scan) -> None:
        if isinstance(hold_s, bool) or not isinstance(hold_s, (int, float)) or not 1 <= hold_s <= MAX_HOLD_S:
            raise ConfigError(f"pending buyer data hold time must be 1 to {MAX_HOLD_S:.0f} seconds, "
                              f"got {hold_s!r}", field="terminal.pending_seconds")
        self.hold_s = float(hold_s)
        self._classify = classify
        self._pending: PendingBuyer | None = None
        self._lock = threading.Lock()

    def scan(self, raw: str, now: float) -> ScanOutcome:
        """Classify ``raw``; on success it becomes the pending choice until ``now + hold_s``."""
        try:
            choice = self._classify(raw)
        except ValidationError as e:
            return ScanOutcome(raw, error=e)
        pending = PendingBuyer(choice, now, now + self.hold_s)
        with self._lock:
            self._pending = pending
        return ScanOutcome(raw, pending=pending)

    def current(self, now: float) -> PendingBuyer | None:
        """The pending choice, or None (an expired one is dropped here)."""
        with self._lock:
            return self._current(now)

    def clear(self) -> PendingBuyer | None:
        """Drop the pending choice (the clear button); return what was dropped."""
        with self._lock:
            dropped, self._pending = self._pending, None
            return dropped

    def take(self, now: float) -> BuyerChoice | None:
        """Hand the pending choice to a sale, once: the next call returns None."""
        with self._lock:
            pending = self._current(now)
            self._pending = None
            return pending.choice if pending else None

    def _current(self, now: float) -> PendingBuyer | None:
        if self._pending is not None and now >= self._pending.expires_at:
            self._pending = None
        return self._pending
