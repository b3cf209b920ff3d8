"""Domain events raised by a session.

The service layer turns them into audit entries and notifications.

Events carry identifiers, codes and numbers only: never image bytes or embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SessionEvent:
    session_id: str
    at: datetime

    @property
    def name(self) -> str:
        return _NAMES[type(self)]


@dataclass(frozen=True, slots=True)
class ChallengeIssued(SessionEvent):
    challenge_id: str
    kind: str
    guidance: str = ""


@dataclass(frozen=True, slots=True)
class AttemptRecorded(SessionEvent):
    attempt_no: int
    challenge_id: str
    passed: bool
    reasons: tuple[str, ...]
    consecutive_failures: int
    # the capture decision as recorded on the attempt (proctor.decision.capture)
    verdict: str = ""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    policy_id: str = ""


@dataclass(frozen=True, slots=True)
class RetryRequested(SessionEvent):
    challenge_id: str
    guidance: str


@dataclass(frozen=True, slots=True)
class ComparisonAbandoned(SessionEvent):
    challenge_id: str


@dataclass(frozen=True, slots=True)
class FlagRaised(SessionEvent):
    attempt_no: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IdentityReviewRequired(SessionEvent):
    attempt_no: int


@dataclass(frozen=True, slots=True)
class IdentityReviewResolved(SessionEvent):
    approved: bool


@dataclass(frozen=True, slots=True)
class SessionTerminated(SessionEvent):
    reason: str


@dataclass(frozen=True, slots=True)
class SessionCompleted(SessionEvent):
    credited_s: float


_NAMES: dict[type[SessionEvent], str] = {
    ChallengeIssued: "challenge_issued",
    AttemptRecorded: "attempt_recorded",
    RetryRequested: "retry_requested",
    ComparisonAbandoned: "comparison_abandoned",
    FlagRaised: "flag_raised",
    IdentityReviewRequired: "identity_review_required",
    IdentityReviewResolved: "identity_review_resolved",
    SessionTerminated: "session_terminated",
    SessionCompleted: "session_completed",
}
