"""Sender port and the default logging sender."""

from __future__ import annotations

import logging
from typing import Protocol

from proctor.notifications.messages import OutboxMessage

logger = logging.getLogger("proctor.notifications")


class Sender(Protocol):
    """Delivers one message. Raise to signal failure; the message stays pending.

    Real gateways should pass ``message.message_id`` as their idempotency key, so that a crash
    between a successful send and ``mark_delivered`` cannot produce a second SMS.
    """

    def send(self, message: OutboxMessage) -> None: ...


class LoggingSender:
    """Default sender: writes one log record per message and delivers nothing."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self._log = log or logger

    def send(self, message: OutboxMessage) -> None:
        self._log.info(
            "notify %s via %s to %s: %s",
            message.topic.value,
            message.channel.value,
            message.recipient_id,
            dict(message.body),
            extra={"message_id": message.message_id},
        )
