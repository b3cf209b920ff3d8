"""``SessionService``: the session use cases wired together, behind the methods callers use.

Each use case is its own small class (``lifecycle``, ``questions``, ``capture``, ``claim``,
``recording``, ``enrolment``); this module only builds them from one set of ports and
delegates. It holds no rule of its own."""

from __future__ import annotations

import random
from collections.abc import Callable

from proctor.capture.policy import CapturePolicy
from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.decision.policy import OperatingPolicy
from proctor.liveness.outcome import BurstChecker, BurstJudge
from proctor.ports import FaceVerifier
from proctor.services.ports import UnitOfWork
from proctor.services.sessions.capture import CohortSource, SubmitBurst, SubmitSnapshot
from proctor.services.sessions.claim import ClaimChallenge
from proctor.services.sessions.enrolment import EnrolReference
from proctor.services.sessions.lifecycle import (
    ApplyIdentityReview,
    CompleteStudy,
    Heartbeat,
    OpenSession,
)
from proctor.services.sessions.questions import AnswerQuestion, ShowQuestion
from proctor.services.sessions.recording import RecordDecision
from proctor.services.sessions.store import SessionStore
from proctor.services.sessions.views import Admit, AdmitCapture
from proctor.services.two_references import LiveReference
from proctor.types import DecodedImage


class SessionService:
    """Constructor: ``SessionService(uow_factory, verifier, clock, policy=..., ...)``.

    ``admit`` gates opening a session and ``admit_capture`` gates claiming a challenge, each
    inside its transaction (``proctor.services.session_gate``: consent, one open session)."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        verifier: FaceVerifier,
        clock: Clock,
        *,
        policy: OperatingPolicy | Callable[[], OperatingPolicy],
        rng: random.Random | None = None,
        capture_policy: CapturePolicy | None = None,
        question_budget_s: float = 60.0,
        burst_judge: BurstJudge | None = None,
        image_check: Callable[[bytes], DecodedImage] | None = None,
        burst_check: BurstChecker | None = None,
        admit: Admit | None = None,
        admit_capture: AdmitCapture | None = None,
        mirror_image: Callable[[bytes], bytes | None] | None = None,
        live_reference: LiveReference | None = None,
        cohort: CohortSource | None = None,
    ) -> None:
        self._uow = uow_factory
        # Every capture threshold: the one operating policy, loaded once at start. Anchoring
        # is on when it has an anchor part.
        current = policy if callable(policy) else (lambda: policy)
        capture = capture_policy or CapturePolicy()
        first = current()
        store = SessionStore(
            uow_factory,
            clock,
            rng or default_rng(),
            first.anchor is not None,
            first.light_code is not None,
        )
        # two references (issue 21): the claim reads the live_verified reference, the
        # capture is scored against it on the pipeline's cohort
        claim = ClaimChallenge(
            store, admit_capture, live_reference, getattr(verifier, "model_id", None)
        )
        record = RecordDecision(store, capture)
        enrolment = EnrolReference(uow_factory, verifier, clock, store.rng, mirror_image)
        self.enroll = enrolment.enroll
        self.mirror_template = enrolment.mirror_template
        self.open_session = OpenSession(store, capture, question_budget_s, admit)
        self.heartbeat = Heartbeat(store)
        self.complete_study = CompleteStudy(store)
        self.apply_identity_review = ApplyIdentityReview(store)
        self.show_question = ShowQuestion(store)
        self.answer = AnswerQuestion(store)
        self.authorize_challenge = claim.authorize
        self.submit_snapshot = SubmitSnapshot(current, claim, record, verifier, image_check, cohort)
        self.submit_burst = SubmitBurst(current, claim, record, burst_judge, burst_check, cohort)

    def __repr__(self) -> str:
        return "SessionService()"


__all__ = ["SessionService"]
