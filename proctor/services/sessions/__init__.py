"""Session use cases: enrol, open, heartbeat, capture (snapshot, burst), questions, complete.

How a capture flows (file → function; one decision site):

1. ``api/routers/driver.py`` → ``capture.SubmitSnapshot`` / ``capture.SubmitBurst``;
2. decode (``PipelinePool.check_image`` / ``check_burst``), then ``claim.ClaimChallenge``
   (consent gate, single use) in its own transaction;
3. ``Pipeline.measure`` / ``BurstJudge.judge_burst`` measure, ``capture.session_measurements``
   adds anchor, replay and reference-copy measurements;
4. ``proctor.decision.capture.decide_capture`` decides, with the ``OperatingPolicy``;
5. ``recording.RecordDecision`` stores attempt, evidence, flags and audit in one transaction.
"""

from proctor.services.sessions.service import SessionService
from proctor.services.sessions.views import (
    Admit,
    AdmitCapture,
    ChallengeView,
    OnRecorded,
    SessionView,
    SubmissionResult,
    anchor_key,
    is_active,
)

__all__ = [
    "Admit",
    "AdmitCapture",
    "ChallengeView",
    "OnRecorded",
    "SessionService",
    "SessionView",
    "SubmissionResult",
    "anchor_key",
    "is_active",
]
