"""Retry with exponential backoff, and when to give up (park) a message.

Attempt ``n`` (1-based) that fails is retried after ``base * 2**(n-1)`` seconds, capped at
``max_delay_s``, plus a deterministic jitter of up to ``jitter`` of that delay derived from
the message's idempotency key (replicas do not stampede a recovering gateway together, and
tests stay exact). After ``max_attempts`` attempts, or on a failure the receiver calls
permanent (an HTTP 4xx other than 408/429), the message is parked for an operator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

PARK_EXHAUSTED = "attempts_exhausted"
PARK_PERMANENT = "permanent_failure"
PARK_NO_TEMPLATE = "no_template"
PARK_STALE = "stale"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    jitter: float = 0.2
    max_age_s: float = 7 * 86400.0  # older unsent messages are parked, not sent late

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not (0 < self.base_delay_s <= self.max_delay_s):
            raise ValueError("need 0 < base_delay_s <= max_delay_s")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay_s(self, attempt: int, key: str = "") -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        base = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt - 1, 62))
        digest = hashlib.sha256(f"{key}\x1f{attempt}".encode()).digest()
        fraction = int.from_bytes(digest[:4], "big") / 2**32
        return base * (1.0 + self.jitter * fraction)

    def after_failure(
        self, attempt: int, now: datetime, key: str, *, retryable: bool
    ) -> datetime | str:
        """The next attempt's time, or the reason to park (a string)."""
        if not retryable:
            return PARK_PERMANENT
        if attempt >= self.max_attempts:
            return PARK_EXHAUSTED
        return now + timedelta(seconds=self.delay_s(attempt, key))

    def is_stale(self, created_at: datetime, now: datetime) -> bool:
        return (now - created_at).total_seconds() > self.max_age_s
