"""What a driver is told: the rendered :class:`Notification` and its stable codes.

A notification is built from one outbox row (``kind``, ``driver_id``, ``at``, ``payload``)
by :func:`proctor.notifications.texts.render`. It carries the Chinese text, the channels,
the ids the receiver needs and a few whitelisted result fields: never the raw payload, and
never biometric data (templates, embeddings, images, distances, scores of a face match).
Channel and topic values are stable API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    SMS = "sms"
    APP = "app"


class Topic(StrEnum):
    """The subjects a driver hears about (issue 18, item 4). Persisted nowhere; sent."""

    APPLICATION_RESULT = "application_result"  # 申请审核结果
    STUDY_COMPLETED = "study_completed"  # 学习完成
    STUDY_VOIDED = "study_voided"  # 学习作废
    EXAM_UNLOCKED = "exam_unlocked"  # 可以考试
    EXAM_RESULT = "exam_result"  # 考试结果
    POINTS_RESULT = "points_result"  # 减分结果
    REVIEW_ACCEPTED = "review_accepted"  # 复核受理
    REVIEW_RESULT = "review_result"  # 复核结果
    BLACKLIST = "blacklist"  # 黑名单
    APPEAL_ACCEPTED = "appeal_accepted"  # 申诉受理
    APPEAL_RESULT = "appeal_result"  # 申诉结果
    CLEARING_REMINDER = "clearing_reminder"  # 清分日期提醒
    SESSION_NOTICE = "session_notice"  # 学习/考试记录的核查与中止


def make_message_id(*parts: str) -> str:
    """A deterministic id (the idempotency key), so a resend carries the same key."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one driver, ready for a :class:`~proctor.notifications.sender.Sender`."""

    outbox_id: int
    message_id: str  # idempotency key: the same for every attempt of this outbox row
    kind: str
    topic: Topic
    channels: tuple[Channel, ...]
    driver_id: str
    created_at: datetime
    title: str
    text: str
    refs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        if not self.message_id:
            raise ValueError("message_id must not be empty")

    def to_json(self) -> dict[str, Any]:
        """The wire form (webhook body, file line). Keys are stable API."""
        return {
            "message_id": self.message_id,
            "outbox_id": self.outbox_id,
            "kind": self.kind,
            "topic": self.topic.value,
            "channels": [c.value for c in self.channels],
            "driver_id": self.driver_id,
            "created_at": self.created_at.isoformat(),
            "title": self.title,
            "text": self.text,
            "refs": dict(self.refs),
        }
