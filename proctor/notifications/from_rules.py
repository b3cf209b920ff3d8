"""Turn rule events (:mod:`proctor.rules.events`) into outbox messages.

Message ids derive from the application, the event and the channel, so writing the same event
twice adds nothing. Events the driver need not hear about (e.g. ``study_completed``) map to none.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from proctor.notifications.messages import Channel, OutboxMessage, Topic, make_message_id
from proctor.rules.events import EventKind, RuleEvent

TOPIC_BY_EVENT: Final[Mapping[EventKind, Topic]] = MappingProxyType(
    {
        EventKind.APPLICATION_APPROVED: Topic.APPROVAL,
        EventKind.APPLICATION_REJECTED: Topic.APPROVAL,
        EventKind.DEADLINE_NEAR: Topic.DEADLINE_NEAR,
        EventKind.STUDY_SESSION_VOIDED: Topic.STUDY_VOIDED,
        EventKind.STUDY_VOIDED: Topic.STUDY_VOIDED,
        EventKind.APPLICATION_VOIDED: Topic.STUDY_VOIDED,
        EventKind.EXAM_RESULT: Topic.EXAM_RESULT,
        EventKind.POINTS_REDUCED: Topic.EXAM_RESULT,
        EventKind.REVIEW_RESULT: Topic.REVIEW_RESULT,
        EventKind.BLACKLISTED: Topic.BLACKLIST,
        EventKind.APPEAL_RESULT: Topic.APPEAL_RESULT,
    }
)

# App message for everything; SMS too where the driver must act or has lost something.
DEFAULT_CHANNELS: Final[Mapping[Topic, tuple[Channel, ...]]] = MappingProxyType(
    {
        Topic.APPROVAL: (Channel.APP, Channel.SMS),
        Topic.DEADLINE_NEAR: (Channel.APP, Channel.SMS),
        Topic.STUDY_VOIDED: (Channel.APP,),
        Topic.EXAM_RESULT: (Channel.APP,),
        Topic.REVIEW_RESULT: (Channel.APP, Channel.SMS),
        Topic.BLACKLIST: (Channel.APP, Channel.SMS),
        Topic.APPEAL_RESULT: (Channel.APP, Channel.SMS),
    }
)


def messages_for_event(
    event: RuleEvent, channels: Mapping[Topic, tuple[Channel, ...]] = DEFAULT_CHANNELS
) -> list[OutboxMessage]:
    topic = TOPIC_BY_EVENT.get(event.kind)
    if topic is None:
        return []
    body = {"event": event.kind.value, "application_id": event.application_id, **event.details}
    return [
        OutboxMessage(
            message_id=make_message_id(
                event.application_id, event.kind.value, event.at.isoformat(), channel.value
            ),
            recipient_id=event.driver_id,
            channel=channel,
            topic=topic,
            created_at=event.at,
            body=body,
        )
        for channel in channels.get(topic, ())
    ]
