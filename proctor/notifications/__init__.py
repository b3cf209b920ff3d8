"""Driver notifications: an outbox of messages (channel ``sms`` or ``app``) and a dispatcher.

Pure core: no SQL, no network. A storage adapter may implement :class:`Outbox`; a real SMS/push
gateway implements :class:`Sender`. The default sender only logs.
"""

from __future__ import annotations

from proctor.notifications.dispatcher import Dispatcher, DispatchReport
from proctor.notifications.from_rules import DEFAULT_CHANNELS, messages_for_event
from proctor.notifications.messages import Channel, OutboxMessage, Topic, make_message_id
from proctor.notifications.outbox import DuplicateMessage, InMemoryOutbox, Outbox, Status
from proctor.notifications.sender import LoggingSender, Sender

__all__ = [
    "DEFAULT_CHANNELS",
    "Channel",
    "DispatchReport",
    "Dispatcher",
    "DuplicateMessage",
    "InMemoryOutbox",
    "LoggingSender",
    "Outbox",
    "OutboxMessage",
    "Sender",
    "Status",
    "Topic",
    "make_message_id",
    "messages_for_event",
]
