"""The delivery queue port over the notification outbox, and an in-memory implementation.

``claim`` hands due rows to one dispatcher under a lease (``lease_s``) and counts the
attempt; the attempt number is the claim token, so ``retry_later`` and ``park`` from a
dispatcher whose lease was taken over change nothing. ``delivered`` is unconditional but
happens once (a row already delivered stays as it was). The SQL implementation is
``proctor.storage.outbox_repo.SqlDeliveryQueue`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Claimed:
    """One outbox row handed to a dispatcher: its content and the claim token."""

    outbox_id: int
    attempt: int  # 1-based; the claim token
    kind: str
    driver_id: str
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A poison message, as an operator sees it (no payload, no text)."""

    outbox_id: int
    kind: str
    driver_id: str
    at: datetime
    attempts: int
    parked_at: datetime
    reason: str
    last_error: str | None


class DeliveryQueue(Protocol):
    def claim(self, holder: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]: ...

    def delivered(self, claimed: Claimed, now: datetime) -> bool: ...

    def retry_later(
        self, claimed: Claimed, now: datetime, next_at: datetime, error: str
    ) -> bool: ...

    def park(self, claimed: Claimed, now: datetime, reason: str, error: str) -> bool: ...

    def release(self, claimed: Claimed, next_at: datetime) -> bool:
        """Hand back a claimed row unsent: the attempt is not counted; due at ``next_at``."""
        ...


@dataclass(slots=True)
class _Row:
    id: int
    kind: str
    driver_id: str
    at: datetime
    payload: Mapping[str, Any]
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None
    parked_at: datetime | None = None
    parked_reason: str | None = None
    last_error: str | None = None


class InMemoryDeliveryQueue:
    """Thread-safe queue with the SQL queue's semantics, for unit tests."""

    def __init__(self) -> None:
        self._rows: dict[int, _Row] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, driver_id: str, at: datetime, payload: Mapping[str, Any]) -> int:
        with self._lock:
            new_id = len(self._rows) + 1
            self._rows[new_id] = _Row(new_id, kind, driver_id, at, dict(payload))
            return new_id

    def claim(self, holder: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]:
        with self._lock:
            out: list[Claimed] = []
            for r in self._rows.values():
                if len(out) >= limit:
                    break
                if r.delivered_at or r.parked_at:
                    continue
                if r.next_attempt_at is not None and r.next_attempt_at > now:
                    continue
                if r.claimed_until is not None and r.claimed_until > now:
                    continue
                r.attempts += 1
                r.claimed_until = now + timedelta(seconds=lease_s)
                out.append(Claimed(r.id, r.attempts, r.kind, r.driver_id, r.at, r.payload))
            return out

    def delivered(self, claimed: Claimed, now: datetime) -> bool:
        with self._lock:
            r = self._rows[claimed.outbox_id]
            if r.delivered_at is not None:
                return False
            r.delivered_at, r.claimed_until = now, None
            return True

    def retry_later(self, claimed: Claimed, now: datetime, next_at: datetime, error: str) -> bool:
        with self._lock:
            r = self._rows[claimed.outbox_id]
            if r.attempts != claimed.attempt or r.delivered_at is not None:
                return False
            r.next_attempt_at, r.claimed_until, r.last_error = next_at, None, error
            return True

    def park(self, claimed: Claimed, now: datetime, reason: str, error: str) -> bool:
        with self._lock:
            r = self._rows[claimed.outbox_id]
            if r.attempts != claimed.attempt or r.delivered_at is not None:
                return False
            r.parked_at, r.parked_reason, r.last_error, r.claimed_until = now, reason, error, None
            return True

    def release(self, claimed: Claimed, next_at: datetime) -> bool:
        with self._lock:
            r = self._rows[claimed.outbox_id]
            if r.attempts != claimed.attempt or r.delivered_at or r.parked_at:
                return False
            r.attempts, r.claimed_until, r.next_attempt_at = r.attempts - 1, None, next_at
            return True

    def state(self, outbox_id: int) -> _Row:
        with self._lock:
            return self._rows[outbox_id]
