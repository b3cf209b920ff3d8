"""Dispatcher: deliver each outbox message exactly once (idempotent on message id)."""

from __future__ import annotations

from dataclasses import dataclass

from proctor.clock import Clock
from proctor.notifications.outbox import Outbox
from proctor.notifications.sender import Sender


@dataclass(frozen=True, slots=True)
class DispatchReport:
    delivered: tuple[str, ...]
    failed: tuple[str, ...]


class Dispatcher:
    def __init__(self, outbox: Outbox, sender: Sender, clock: Clock, batch_size: int = 100) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._outbox = outbox
        self._sender = sender
        self._clock = clock
        self._batch_size = batch_size

    def dispatch(self) -> DispatchReport:
        """Send one batch of pending messages; failures stay pending for the next run."""
        delivered: list[str] = []
        failed: list[str] = []
        for message in self._outbox.claim(self._batch_size):
            try:
                self._sender.send(message)
            except Exception as exc:  # a gateway error must not lose the rest of the batch
                self._outbox.mark_failed(message.message_id, self._clock.now(), repr(exc))
                failed.append(message.message_id)
                continue
            self._outbox.mark_delivered(message.message_id, self._clock.now())
            delivered.append(message.message_id)
        return DispatchReport(tuple(delivered), tuple(failed))
