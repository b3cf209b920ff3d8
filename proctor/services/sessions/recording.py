"""Step 3 of a capture: store the decision in one write transaction.

The attempt (verdict, reasons, the thresholds that decided, the policy id), the evidence
crop under its retention class, the snapshot fingerprint, the session anchor, flags, audit
entries, notifications and (through ``on_recorded``) the idempotent HTTP answer are durable
together or not at all. Image bytes and embeddings never reach the audit log or the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from proctor.capture.policy import CapturePolicy
from proctor.decision.capture import CaptureDecision
from proctor.errors import IllegalTransition
from proctor.liveness.replay import Fingerprint
from proctor.services.common import SYSTEM_ACTOR, new_id
from proctor.services.ports import NotificationEvent, RetentionClass, UnitOfWork
from proctor.services.sessions.claim import Claimed
from proctor.services.sessions.store import REVIEW_WINDOW, SessionStore
from proctor.services.sessions.views import OnRecorded, SessionView, SubmissionResult, anchor_key
from proctor.session.adjudication import Flag
from proctor.session.session import ProctorSession
from proctor.session.states import SessionState
from proctor.types import FaceMeasurement


class RecordDecision:
    def __init__(self, store: SessionStore, capture: CapturePolicy) -> None:
        self._store, self._capture = store, capture

    def __call__(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        claimed: Claimed,
        result: FaceMeasurement | None,
        outcome: CaptureDecision,
        anchor_distance: float | None,
        on_recorded: OnRecorded | None = None,
    ) -> SubmissionResult:
        st = self._store
        with st.uow() as uow:
            s = st.load(uow, session_id, driver_id)
            now = st.clock.now()
            try:
                attempt = s.record_decision(challenge_id, outcome, now)
            except IllegalTransition:
                st.flush(uow, s)
                uow.audit.append(
                    actor=SYSTEM_ACTOR,
                    action="late_decision_discarded",
                    subject=s.id,
                    details={"challenge_id": challenge_id},
                    at=now,
                )
                uow.commit()
                raise
            subject_key = claimed.subject_key
            evidence_id = self._keep_evidence(uow, s, subject_key, result, outcome, now)
            if result is not None and result.pixel_sha256:
                fp = Fingerprint(result.pixel_sha256, result.perceptual_hash)
                uow.fingerprints.add(subject_key, fp, now)
            if anchor_distance is not None:
                uow.audit.append(
                    actor=SYSTEM_ACTOR,
                    action="anchor_compared",
                    subject=s.id,
                    details={
                        "attempt_no": attempt.attempt_no,
                        "reference_distance": outcome.distances.get("reference_l2"),
                        "anchor_distance": anchor_distance,
                        "passed": attempt.passed,
                    },
                    at=now,
                )
            elif (
                st.anchored
                and (attempt.passed or s.state is SessionState.IDENTITY_REVIEW)
                and result is not None
                and result.probe is not None
                and not s.terminal
            ):
                # The first capture that passes against the reference anchors the session;
                # an uncertain entry capture does once a reviewer confirms the identity.
                uow.templates.put(anchor_key(s.id), result.probe, now)
            self._flag(uow, s, attempt.attempt_no, evidence_id)
            st.flush(uow, s)
            submitted = SubmissionResult(
                attempt.attempt_no,
                attempt.passed,
                attempt.reasons,
                attempt.flags,
                attempt.distance,
                attempt.threshold,
                evidence_id,
                SessionView.of(s, s.active_challenge, st.light_code),
                attempt.verdict,
                dict(attempt.thresholds),
                attempt.policy_id,
            )
            if on_recorded is not None:
                on_recorded(uow, submitted)
            uow.commit()
            return submitted

    def _keep_evidence(
        self,
        uow: UnitOfWork,
        s: ProctorSession,
        subject_key: str,
        result: FaceMeasurement | None,
        outcome: CaptureDecision,
        now: datetime,
    ) -> str | None:
        """Keep the face crop (never the full frame), encrypted, under its retention class."""
        if result is None or not result.face_crop_jpeg:
            return None
        if outcome.flags or outcome.uncertain:
            retention = RetentionClass.FLAGGED  # held for a human
        elif outcome.passed:
            retention = RetentionClass.PASSED
        else:
            retention = RetentionClass.FAILED
        evidence_id = uow.evidence.put(
            result.face_crop_jpeg,
            subject_key=subject_key,
            session_id=s.id,
            retention=retention,
            at=now,
        )
        if retention is not RetentionClass.FLAGGED:
            # Hard cap for sessions that are never closed; tightened at close.
            cap = now + timedelta(seconds=self._capture.study_horizon_s) + REVIEW_WINDOW
            uow.evidence.set_retention([evidence_id], retention, cap)
        return evidence_id

    def _flag(
        self, uow: UnitOfWork, s: ProctorSession, attempt_no: int, evidence_id: str | None
    ) -> None:
        attempt = s.attempts[attempt_no - 1]
        if not attempt.flags:
            return
        flag = uow.flags.open_for_session(s.id)
        if flag is None:
            flag = Flag(
                id=new_id(self._store.rng),
                session_id=s.id,
                driver_id=s.driver_id,
                raised_at=attempt.decided_at,
                reasons=attempt.flags,
                attempt_nos=(attempt_no,),
                evidence_ids=(evidence_id,) if evidence_id else (),
            )
            uow.flags.add(flag)
            uow.outbox.emit(
                NotificationEvent(
                    "flag_raised",
                    s.driver_id,
                    attempt.decided_at,
                    {"flag_id": flag.id, "session_id": s.id, "reasons": list(flag.reasons)},
                )
            )
        else:
            flag.merge(attempt.flags, attempt_no, evidence_id)
            uow.flags.save(flag)
        uow.audit.append(
            actor=SYSTEM_ACTOR,
            action="flag_recorded",
            subject=flag.id,
            details={
                "session_id": s.id,
                "attempt_no": attempt_no,
                "reasons": list(attempt.flags),
            },
            at=attempt.decided_at,
        )
