"""Outbox message value type. Channel and topic values are stable API."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    APP = "app"


class Topic(StrEnum):
    """What the driver must hear about (issue #4, item 7)."""

    APPROVAL = "approval"
    DEADLINE_NEAR = "deadline_near"
    STUDY_VOIDED = "study_voided"
    EXAM_RESULT = "exam_result"
    REVIEW_RESULT = "review_result"
    BLACKLIST = "blacklist"
    APPEAL_RESULT = "appeal_result"


def make_message_id(*parts: str) -> str:
    """A deterministic id, so re-enqueueing the same event is a no-op."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    message_id: str
    recipient_id: str
    channel: Channel
    topic: Topic
    created_at: datetime
    body: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        if not self.message_id:
            raise ValueError("message_id must not be empty")
