"""Capture policy, the CSPRNG capture schedule and single-use capture challenges (pure core)."""

from proctor.capture.challenge import (
    CaptureChallenge,
    ChallengeExpired,
    ChallengeForeign,
    ChallengeKind,
    ChallengeRefused,
    ChallengeReused,
    ChallengeState,
    ChallengeUnknown,
    RefusalCode,
    SessionClosed,
    new_challenge_id,
)
from proctor.capture.policy import CapturePolicy
from proctor.capture.schedule import ExamCapturePlan, exam_capture_plan, study_capture_offsets_s

__all__ = [
    "CaptureChallenge",
    "CapturePolicy",
    "ChallengeExpired",
    "ChallengeForeign",
    "ChallengeKind",
    "ChallengeRefused",
    "ChallengeReused",
    "ChallengeState",
    "ChallengeUnknown",
    "ExamCapturePlan",
    "RefusalCode",
    "SessionClosed",
    "exam_capture_plan",
    "new_challenge_id",
    "study_capture_offsets_s",
]
