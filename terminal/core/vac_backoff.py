"""Retry schedule for uploads to the value-added center: exponential backoff with jitter.

Pure: the random source is passed in, so tests get exact delays and a fleet of terminals that lost the
center at the same moment does not come back in lockstep.
"""
from __future__ import annotations

from typing import Protocol


class RandomSource(Protocol):
    def random(self) -> float:
        """A float in [0, 1) (``random.Random`` has it)."""


MIN_DELAY_S = 1.0


def check_schedule(base_s: float, max_s: float) -> None:
    """:raises ValueError: unless 0 < base_s <= max_s."""
    if not 0 < base_s <= max_s:
        raise ValueError(f"need 0 < base_s <= max_s, got base_s={base_s}, max_s={max_s}")


def retry_delay(attempt: int, rng: RandomSource, *, base_s: float = 30.0, max_s: float = 3600.0) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt (1-based) before trying again.

    The ceiling doubles per attempt (``base_s``, ``2·base_s``, ``4·base_s`` …) up to ``max_s``; the delay
    is drawn uniformly from ``[ceiling/2, ceiling)`` ("equal jitter"): spread out, but never close to zero,
    so a center that is down is not hammered. Never less than one second.

    :raises ValueError: attempt < 1, base_s <= 0 or max_s < base_s.
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    check_schedule(base_s, max_s)
    # 2**attempt overflows float for absurd attempt counts; the ceiling is reached long before
    ceiling = max_s if attempt > 64 else min(max_s, base_s * 2.0 ** (attempt - 1))
    return max(MIN_DELAY_S, ceiling / 2 + rng.random() * ceiling / 2)
