"""Events an application records for the service layer (and the notification outbox)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    """Stable event codes. Never rename the values."""

    APPLICATION_REJECTED = "application_rejected"
    APPLICATION_APPROVED = "application_approved"
    DEADLINE_NEAR = "deadline_near"
    STUDY_SESSION_VOIDED = "study_session_voided"
    STUDY_VOIDED = "study_voided"
    STUDY_COMPLETED = "study_completed"
    EXAM_RESULT = "exam_result"
    REVIEW_RESULT = "review_result"
    POINTS_REDUCED = "points_reduced"
    APPLICATION_VOIDED = "application_voided"
    BLACKLISTED = "blacklisted"
    APPEAL_RESULT = "appeal_result"


@dataclass(frozen=True, slots=True)
class RuleEvent:
    kind: EventKind
    application_id: str
    driver_id: str
    at: datetime
    details: Mapping[str, str] = field(default_factory=dict)
