"""Driver notifications: texts, the delivery queue port, the dispatcher and the senders.

The services write outbox rows (``NotificationEvent``: kind, driver id, time, ids) in the
transaction that decides; :class:`Dispatcher`, run by the scheduler, turns each row into a
:class:`Notification` (:func:`render`: Chinese text, channels, whitelisted ids, no
biometrics) and hands it to a :class:`Sender` (log, JSON-lines file, signed webhook),
retrying with backoff and parking poison messages. No SQL here: the SQL queue is
``proctor.storage.outbox_repo``.
"""

from __future__ import annotations

from proctor.notifications.admin import NotificationOps
from proctor.notifications.dispatcher import Dispatcher, DispatchReport
from proctor.notifications.messages import Channel, Notification, Topic, make_message_id
from proctor.notifications.outbox import (
    Claimed,
    DeliveryQueue,
    InMemoryDeliveryQueue,
    ParkedMessage,
)
from proctor.notifications.retry import RetryPolicy
from proctor.notifications.sender import DeliveryFailed, FileSender, LoggingSender, Sender
from proctor.notifications.texts import TEMPLATES, NoTemplate, render
from proctor.notifications.webhook import WebhookSender, sign, verify_signature

__all__ = [
    "TEMPLATES",
    "Channel",
    "Claimed",
    "DeliveryFailed",
    "DeliveryQueue",
    "DispatchReport",
    "Dispatcher",
    "FileSender",
    "InMemoryDeliveryQueue",
    "LoggingSender",
    "NoTemplate",
    "Notification",
    "NotificationOps",
    "ParkedMessage",
    "RetryPolicy",
    "Sender",
    "Topic",
    "WebhookSender",
    "make_message_id",
    "render",
    "sign",
    "verify_signature",
]
