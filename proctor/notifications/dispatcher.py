"""Dispatcher: read the outbox, send each message, retry with backoff, park poison messages.

Delivery semantics:

- **One dispatcher per message at a time.** ``claim`` leases due rows to one holder
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two
  dispatchers racing over the same outbox never send the same row concurrently.
- **Exactly once from our side.** A row is marked delivered right after a successful send;
  the only way to send it again is a crash (or a lease that ran out) between the send and
  that mark. The resend then carries the same idempotency key (``message_id``): the file
  sender writes it once, and a gateway that honours ``Idempotency-Key`` delivers it once.
  Towards a gateway that ignores the key, delivery is at-least-once.
- **A failing gateway is not hammered.** After ``max_consecutive_failures`` retryable
  failures in a row, or when the run has used half its lease, the run stops and hands the
  rest of its claimed rows back unsent (their attempt not counted, due after the base
  delay): a gateway timing out on every message costs a few timeouts per run, and no row
  stays claimed longer than its lease (after which another dispatcher could take it).
- **Backoff and parking** follow :class:`RetryPolicy`: a retryable failure is tried again
  later; a permanent failure, an exhausted message, a kind with no text or a message older
  than ``max_age_s`` is parked, visible to operators, and never sent by itself again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from proctor.errors import ProctorError
from proctor.notifications.outbox import Claimed, DeliveryQueue
from proctor.notifications.retry import PARK_NO_TEMPLATE, PARK_STALE, RetryPolicy
from proctor.notifications.sender import DeliveryFailed, Sender
from proctor.notifications.texts import SILENT_KINDS, render


@dataclass(slots=True)
class DispatchReport:
    delivered: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    parked: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # kinds the driver is not told about
    deferred: list[int] = field(default_factory=list)  # handed back unsent (breaker, budget)
    lost_claims: int = 0  # marks refused: our lease was taken over meanwhile

    def summary(self) -> dict[str, int]:
        return {
            "delivered": len(self.delivered),
            "retried": len(self.retried),
            "parked": len(self.parked),
            "skipped": len(self.skipped),
            "deferred": len(self.deferred),
            "lost_claims": self.lost_claims,
        }


class Dispatcher:
    def __init__(
        self,
        queue: DeliveryQueue,
        sender: Sender,
        holder: str,
        policy: RetryPolicy | None = None,
        *,
        batch_size: int = 50,
        max_batches: int = 20,
        lease_s: float = 120.0,
        max_consecutive_failures: int = 3,
        elapsed: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1 or max_batches < 1:
            raise ValueError("batch_size and max_batches must be at least 1")
        self.queue = queue
        self.sender = sender
        self.holder = holder
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.lease_s = lease_s
        self.max_consecutive_failures = max_consecutive_failures
        self._elapsed = elapsed  # a stopwatch for the run's budget, not the message clock

    def dispatch(self, now: datetime) -> DispatchReport:
        """Work through due messages, at most ``batch_size * max_batches`` of them."""
        report = DispatchReport()
        started = self._elapsed()
        failures = 0
        for _ in range(self.max_batches):
            batch = self.queue.claim(self.holder, self.batch_size, now, self.lease_s)
            for i, claimed in enumerate(batch):
                stop = failures >= self.max_consecutive_failures
                if stop or self._elapsed() - started > self.lease_s / 2:
                    self._hand_back(batch[i:], now, report)
                    return report
                failures = failures + 1 if self._one(claimed, now, report) else 0
            if len(batch) < self.batch_size:
                break
        return report

    def _hand_back(self, rest: list[Claimed], now: datetime, report: DispatchReport) -> None:
        later = now + timedelta(seconds=self.policy.base_delay_s)
        for c in rest:
            self._mark(self.queue.release(c, later), report.deferred, c, report)

    def _one(self, c: Claimed, now: datetime, report: DispatchReport) -> bool:
        """Handle one claimed row; True when the send failed in a way worth retrying."""
        if c.kind in SILENT_KINDS:
            self._mark(self.queue.delivered(c, now), report.skipped, c, report)
            return False
        if self.policy.is_stale(c.at, now):
            ok = self.queue.park(c, now, PARK_STALE, "older than max age")
            self._mark(ok, report.parked, c, report)
            return False
        try:
            message = render(c.outbox_id, c.kind, c.driver_id, c.at, c.payload)
        except ProctorError as exc:
            ok = self.queue.park(c, now, PARK_NO_TEMPLATE, exc.code)
            self._mark(ok, report.parked, c, report)
            return False
        try:
            self.sender.send(message)
        except DeliveryFailed as exc:
            self._failed(c, now, exc.code, exc.retryable, message.message_id, report)
            return exc.retryable
        except Exception as exc:  # an adapter bug or a gateway error: retry, never lose it
            self._failed(c, now, type(exc).__name__, True, message.message_id, report)
            return True
        self._mark(self.queue.delivered(c, now), report.delivered, c, report)
        return False

    def _failed(
        self, c: Claimed, now: datetime, code: str, retryable: bool, key: str, r: DispatchReport
    ) -> None:
        decision = self.policy.after_failure(c.attempt, now, key, retryable=retryable)
        if isinstance(decision, datetime):
            self._mark(self.queue.retry_later(c, now, decision, code), r.retried, c, r)
        else:
            self._mark(self.queue.park(c, now, decision, code), r.parked, c, r)

    @staticmethod
    def _mark(ok: bool, bucket: list[int], c: Claimed, report: DispatchReport) -> None:
        if ok:
            bucket.append(c.outbox_id)
        else:
            report.lost_claims += 1
