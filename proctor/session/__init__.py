"""Study/exam session state machine: three strikes, the paused exam clock, flags, events.

Pure core: imports only the stdlib, numpy and proctor core modules.
"""

from proctor.session.exam_clock import ExamClock, PauseInterval, QuestionTiming
from proctor.session.outcome import ComparisonOutcome, FlagPolicy
from proctor.session.session import Attempt, ProctorSession
from proctor.session.states import (
    CapturePending,
    FailureReason,
    FlagReason,
    IdentityNotVerified,
    IdentityReviewPending,
    QuestionOutOfOrder,
    SessionKind,
    SessionRefused,
    SessionState,
    WrongSessionKind,
)

__all__ = [
    "Attempt",
    "CapturePending",
    "ComparisonOutcome",
    "ExamClock",
    "FailureReason",
    "FlagPolicy",
    "FlagReason",
    "IdentityNotVerified",
    "IdentityReviewPending",
    "PauseInterval",
    "ProctorSession",
    "QuestionOutOfOrder",
    "QuestionTiming",
    "SessionKind",
    "SessionRefused",
    "SessionState",
    "WrongSessionKind",
]
