"""Operator view of delivery: parked (poison) messages, requeue, counts, this replica's
dispatch totals. The HTTP admin routes, the CLI and ``/metrics`` read this one object."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from proctor.clock import Clock
from proctor.notifications.dispatcher import Dispatcher
from proctor.notifications.outbox import ParkedMessage

AuditFn = Callable[[str, str, str, Mapping[str, Any]], None]  # actor, action, subject, details


class OutboxAdmin(Protocol):
    def parked(self, limit: int = 100) -> list[ParkedMessage]: ...

    def requeue(self, outbox_id: int, now: datetime) -> bool: ...

    def counts(self) -> dict[str, int]: ...


class NotificationOps:
    def __init__(
        self, queue: OutboxAdmin, dispatcher: Dispatcher, clock: Clock, audit: AuditFn
    ) -> None:
        self.queue = queue
        self.dispatcher = dispatcher
        self.sender_name = dispatcher.sender.name
        self._clock = clock
        self._audit = audit
        self._lock = threading.Lock()
        self.totals: dict[str, int] = {
            "delivered": 0,
            "retried": 0,
            "parked": 0,
            "skipped": 0,
            "deferred": 0,
            "lost_claims": 0,
        }

    def dispatch(self, now: datetime) -> dict[str, int]:
        """One dispatch run (the scheduler's job); adds to this replica's totals."""
        summary = self.dispatcher.dispatch(now).summary()
        with self._lock:
            for k, v in summary.items():
                self.totals[k] = self.totals.get(k, 0) + v
        return summary

    def parked(self, limit: int = 100) -> list[ParkedMessage]:
        return self.queue.parked(max(1, min(limit, 1000)))

    def requeue(self, outbox_id: int, actor: str) -> bool:
        """Give a parked message a fresh set of attempts; audited."""
        ok = self.queue.requeue(outbox_id, self._clock.now())
        if ok:
            self._audit(actor, "notification_requeued", str(outbox_id), {})
        return ok

    def counts(self) -> dict[str, int]:
        return self.queue.counts()

    def snapshot_totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self.totals)
