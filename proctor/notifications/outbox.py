"""Outbox port and an in-memory implementation.

Adding is idempotent on ``message_id`` (the same message again is ignored; a different message
with the same id is an error). ``claim`` hands pending messages to one dispatcher at a time, so
two dispatchers never send the same message; ``mark_failed`` returns a message to pending.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from proctor.errors import ProctorError
from proctor.notifications.messages import OutboxMessage


class DuplicateMessage(ProctorError):
    code = "duplicate_message"


class Status(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"


class Outbox(Protocol):
    def add(self, message: OutboxMessage) -> bool: ...
    def claim(self, limit: int) -> list[OutboxMessage]: ...
    def mark_delivered(self, message_id: str, at: datetime) -> None: ...
    def mark_failed(self, message_id: str, at: datetime, error: str) -> None: ...
    def status(self, message_id: str) -> Status: ...


@dataclass(slots=True)
class _Entry:
    message: OutboxMessage
    status: Status = Status.PENDING
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str = ""


class InMemoryOutbox:
    """Thread-safe outbox for tests and the fake engine."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def add(self, message: OutboxMessage) -> bool:
        """Store ``message``; returns False when the same message is already there."""
        with self._lock:
            existing = self._entries.get(message.message_id)
            if existing is not None:
                if existing.message != message:
                    raise DuplicateMessage(
                        f"message id {message.message_id} already holds another message"
                    )
                return False
            self._entries[message.message_id] = _Entry(message)
            return True

    def claim(self, limit: int) -> list[OutboxMessage]:
        with self._lock:
            claimed: list[OutboxMessage] = []
            for entry in self._entries.values():
                if len(claimed) >= limit:
                    break
                if entry.status is Status.PENDING:
                    entry.status = Status.IN_FLIGHT
                    entry.attempts += 1
                    claimed.append(entry.message)
            return claimed

    def mark_delivered(self, message_id: str, at: datetime) -> None:
        with self._lock:
            entry = self._entries[message_id]
            entry.status = Status.DELIVERED
            entry.delivered_at = at

    def mark_failed(self, message_id: str, at: datetime, error: str) -> None:
        with self._lock:
            entry = self._entries[message_id]
            if entry.status is Status.IN_FLIGHT:
                entry.status = Status.PENDING
                entry.last_error = f"{at.isoformat()} {error}"

    def status(self, message_id: str) -> Status:
        with self._lock:
            return self._entries[message_id].status

    def attempts(self, message_id: str) -> int:
        with self._lock:
            return self._entries[message_id].attempts

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
