"""Session use cases: enroll, open, heartbeat, submit snapshot, exam questions, complete.

A snapshot is handled in three steps so that no database lock is held while the
face pipeline runs:

1. claim the challenge in one write transaction (single use: a concurrent second
   claim sees ``submitted`` and is refused as ``challenge_reused``);
2. measure outside any transaction, then decide once with
   ``proctor.decision.capture.decide_capture`` and the ``OperatingPolicy``;
3. store the decision (with the thresholds that decided and the policy id),
   evidence, fingerprints, flags, audit entries and notifications in a second
   write transaction.

Refusals change no counter; they are audited. Image bytes and embeddings never
reach the audit log or the outbox.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from proctor.capture.challenge import (
    BurstRequired,
    CaptureChallenge,
    ChallengeRefused,
    ChallengeUnknown,
)
from proctor.capture.policy import CapturePolicy
from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.decision.capture import (
    CaptureContext,
    CaptureDecision,
    CaptureMeasurements,
    LivenessMeasure,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.errors import IllegalTransition, ImageError, ModelUnavailable, ProctorError
from proctor.liveness.outcome import BurstChecker, BurstJudge, BurstUpload
from proctor.liveness.reference_replay import mirrored_fingerprints, nearest_hamming_bits
from proctor.liveness.replay import Fingerprint, ReplayPolicy, check_replay
from proctor.matching.decision import template_distance
from proctor.ports import FaceVerifier
from proctor.services.common import (
    SYSTEM_ACTOR,
    Blacklisted,
    NotEnrolled,
    NotFound,
    new_id,
    publish,
)
from proctor.services.ports import NotificationEvent, RetentionClass, UnitOfWork
from proctor.services.template_keys import mirror_key
from proctor.session.adjudication import Flag
from proctor.session.exam_clock import QuestionTiming
from proctor.session.session import ProctorSession
from proctor.session.states import SessionKind, SessionState
from proctor.types import DecodedImage, FaceMeasurement, Template

REVIEW_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ChallengeView:
    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime
    guidance: str
    # Liveness actions to perform in order (answer with submit_burst); empty: one snapshot.
    actions: tuple[str, ...] = ()

    @classmethod
    def of(cls, c: CaptureChallenge | None) -> ChallengeView | None:
        if c is None:
            return None
        return cls(c.id, c.kind.value, c.issued_at, c.expires_at, c.guidance, c.actions)


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: str
    kind: str
    state: str
    challenge: ChallengeView | None
    consecutive_failures: int
    attempts: int
    credited_s: float
    termination_reason: str = ""  # set when the session ended invalid

    @classmethod
    def of(cls, s: ProctorSession, challenge: CaptureChallenge | None) -> SessionView:
        return cls(
            s.id,
            s.kind.value,
            s.state.value,
            ChallengeView.of(challenge),
            s.consecutive_failures,
            len(s.attempts),
            s.credited_s,
            s.termination_reason,
        )


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    attempt_no: int
    passed: bool
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    distance: float | None
    threshold: float | None
    evidence_id: str | None
    session: SessionView
    # the decision as recorded: verdict, every threshold that decided, the policy's id
    verdict: str = ""
    thresholds: dict[str, float] = field(default_factory=dict)
    policy_id: str = ""


# runs inside the transaction that records a decision (see submit_snapshot)
OnRecorded = Callable[[UnitOfWork, SubmissionResult], None]
# runs inside the transaction that opens a session; raises to refuse (consent, one open)
Admit = Callable[[UnitOfWork, str, SessionKind, datetime], None]


class SessionService:
    """Constructor: ``SessionService(uow_factory, verifier, clock, policy=..., ...)``."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        verifier: FaceVerifier,
        clock: Clock,
        *,
        policy: OperatingPolicy | Callable[[], OperatingPolicy],
        rng: random.Random | None = None,
        capture_policy: CapturePolicy | None = None,
        replay_policy: ReplayPolicy | None = None,
        question_budget_s: float = 60.0,
        burst_judge: BurstJudge | None = None,
        image_check: Callable[[bytes], DecodedImage] | None = None,
        burst_check: BurstChecker | None = None,
        admit: Admit | None = None,
        mirror_image: Callable[[bytes], bytes | None] | None = None,
    ) -> None:
        self._uow = uow_factory
        self._admit = admit  # the session-open gate (proctor.services.session_gate)
        self._verifier = verifier
        self._clock = clock
        self._rng = rng or default_rng()
        self._capture = capture_policy or CapturePolicy()
        self._replay = replay_policy or ReplayPolicy()
        self._budget_s = question_budget_s
        self._burst = burst_judge
        # Every capture threshold (zones at entry, session anchoring, flag margin): the one
        # operating policy, loaded once at start. Anchoring is on when it has an anchor part.
        # A callable gives the policy naming the live s-norm cohort (issue 21): the same
        # thresholds, read once per capture so the decision names the cohort it ran with.
        self._policy = policy if callable(policy) else (lambda: policy)
        self._anchor = self._policy().anchor
        # Decode an upload before its challenge is claimed: an unusable file (wrong format,
        # corrupt, truncated, too large) is refused with its 4xx code and costs no attempt.
        # The decoded pixels travel to the comparison explicitly.
        self._image_check = image_check
        self._burst_check = burst_check
        # flips a photo left-right (an imaging adapter): a mirrored copy of the reference
        # lands on the mirrored photo's template (issue 17); None: no mirror template
        self._mirror_image = mirror_image

    # ---- enrollment ---------------------------------------------------------------------
    def enroll(self, driver_id: str, photos: Sequence[bytes], display_name: str = "") -> str:
        """Enroll reference photos; returns the surrogate subject key (identity kept apart)."""
        template = self._verifier.enroll(photos)
        refs: list[Fingerprint] = []
        for photo in photos:
            r = self._verifier.measure(template, photo)
            refs.append(Fingerprint(r.pixel_sha256, r.perceptual_hash))
        refs += mirrored_fingerprints(template, refs)  # a mirrored copy is a replay too
        mirror = self.mirror_template(photos[0])
        now = self._clock.now()
        with self._uow() as uow:
            subject_key = uow.drivers.subject_key(driver_id)
            if subject_key is None:
                subject_key = new_id(self._rng)
                uow.drivers.add(driver_id, subject_key, display_name, now)
            uow.templates.put(subject_key, template, now)
            if mirror is not None:
                uow.templates.put(mirror_key(subject_key), mirror, now)
            for fp in refs:
                uow.fingerprints.add(subject_key, fp, now, reference=True)
            uow.audit.append(
                actor=SYSTEM_ACTOR,
                action="driver_enrolled",
                subject=driver_id,
                details={"model_id": template.model_id, "photos": len(photos)},
                at=now,
            )
            uow.commit()
        return subject_key

    def mirror_template(self, photo: bytes) -> Template | None:
        """The template of the photo flipped left-right: a mirrored copy of the reference
        lands on it (issue 17). None when the photo cannot be mirrored or enrolled."""
        flipped = None if self._mirror_image is None else self._mirror_image(photo)
        if flipped is None:
            return None
        try:
            return self._verifier.enroll([flipped])
        except ProctorError:
            return None

    # ---- session lifecycle --------------------------------------------------------------
    def open_session(
        self, driver_id: str, kind: SessionKind, question_count: int = 20
    ) -> SessionView:
        now = self._clock.now()
        with self._uow() as uow:
            if uow.drivers.subject_key(driver_id) is None:
                raise NotEnrolled(details={"driver_id": driver_id})
            if any(e.active_at(now) for e in uow.blacklist.for_driver(driver_id)):
                raise Blacklisted(details={"driver_id": driver_id})
            if self._admit is not None:
                self._admit(uow, driver_id, kind, now)
            s = ProctorSession.open(
                session_id=new_id(self._rng),
                driver_id=driver_id,
                kind=kind,
                now=now,
                policy=self._capture,
                rng=self._rng,
                question_count=question_count,
                question_budget_s=self._budget_s,
            )
            uow.sessions.add(s)
            uow.audit.append(
                actor=driver_id,
                action="session_opened",
                subject=s.id,
                details={"kind": kind.value},
                at=now,
            )
            self._flush(uow, s)
            uow.commit()
            return SessionView.of(s, s.active_challenge)

    def heartbeat(self, session_id: str, driver_id: str) -> SessionView:
        now = self._clock.now()
        with self._uow() as uow:
            s = self._load(uow, session_id, driver_id)
            challenge = s.heartbeat(now)
            self._flush(uow, s)
            uow.commit()
            return SessionView.of(s, challenge)

    def submit_snapshot(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        image: bytes,
        *,
        on_recorded: OnRecorded | None = None,
    ) -> SubmissionResult:
        """Claim the challenge, compare outside any transaction, record the decision.

        ``on_recorded(uow, result)`` runs inside the recording transaction, before its
        commit: the HTTP layer stores its idempotent answer there, so the decision and
        the answer that reports it are durable together or not at all."""
        probe: bytes | DecodedImage = image
        if self._image_check is not None:
            probe = self._image_check(image)  # raises ImageError: nothing claimed, no strike
        claimed = self._claim(session_id, driver_id, challenge_id, burst=False)
        # measure, outside any transaction; then decide once
        face: FaceMeasurement | None = None
        try:
            face = self._verifier.measure(claimed.template, probe)
        except ImageError as bad:
            measured = CaptureMeasurements(image_error=bad.code)
        else:
            measured = self._measurements(face, claimed)
        return self._decide_and_record(
            session_id, driver_id, challenge_id, claimed, face, measured, on_recorded
        )

    def submit_burst(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        frames: BurstUpload,
        *,
        on_recorded: OnRecorded | None = None,
    ) -> SubmissionResult:
        """Answer a challenge with a burst: a list of image bytes, or one WebM/MP4 clip.

        Same three steps as ``submit_snapshot``; the judgement runs outside any
        transaction. A failed liveness check is a failed attempt (a strike, like a
        mismatch) and raises ``spoof_suspected`` for a human, never a blacklist.
        A challenge without actions may also be answered with a burst. An unusable upload
        (too many frames, too large, wrong type, undecodable) is refused with its own code
        before the challenge is claimed: it costs no attempt.
        """
        if self._burst is None:
            raise ModelUnavailable("no burst judge is configured for liveness bursts")
        # decode first (raises ImageError: nothing claimed); the frames travel explicitly
        decoded = self._burst_check.check_burst(frames) if self._burst_check else None
        claimed = self._claim(session_id, driver_id, challenge_id, burst=True)
        # judge liveness and measure the best frame, outside any transaction; decide once
        face: FaceMeasurement | None = None
        try:
            judgement = self._burst.judge_burst(claimed.template, frames, claimed.actions, decoded)
        except ImageError as bad:
            measured = CaptureMeasurements(image_error=bad.code)
        else:
            face = judgement.verification
            live = LivenessMeasure(judgement.liveness.passed, judgement.liveness.reasons)
            timings = {f"burst_{k}": v for k, v in judgement.timings_ms.items()}
            measured = self._measurements(face, claimed, live, timings)
        return self._decide_and_record(
            session_id, driver_id, challenge_id, claimed, face, measured, on_recorded
        )

    def _measurements(
        self,
        face: FaceMeasurement | None,
        claimed: _Claimed,
        liveness: LivenessMeasure | None = None,
        timings: dict[str, float] | None = None,
    ) -> CaptureMeasurements:
        """The face measurement plus what the session adds: anchor distance, replay hashes."""
        if face is None:  # a burst with no usable face in any frame
            return CaptureMeasurements.of_face(None, liveness=liveness, timings_ms=timings)
        anchor_l2 = None
        if self._anchor is not None and claimed.anchor is not None and face.probe is not None:
            anchor_l2 = template_distance(face.probe, claimed.anchor)
        probe = Fingerprint(face.pixel_sha256, face.perceptual_hash)
        replay = check_replay(probe, claimed.earlier, claimed.references, self._replay)
        # is it a copy of the reference photo? (hashes incl. mirrored ones; the mirror's template)
        mirror_l2 = None
        if claimed.mirror is not None and face.probe is not None:
            mirror_l2 = template_distance(face.probe, claimed.mirror)
        ref_bits = nearest_hamming_bits(
            face.perceptual_hash, [fp.perceptual_hash for fp in claimed.references]
        )
        return CaptureMeasurements.of_face(
            face,
            anchor_l2=anchor_l2,
            replay=replay,
            liveness=liveness,
            timings_ms=timings,
            reference_hash_bits=ref_bits,
            reference_mirror_l2=mirror_l2,
        )

    def _decide_and_record(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        claimed: _Claimed,
        face: FaceMeasurement | None,
        measured: CaptureMeasurements,
        on_recorded: OnRecorded | None,
    ) -> SubmissionResult:
        context = CaptureContext(anchored=claimed.anchor is not None)
        decision = decide_capture(measured, context, self._policy())  # the one decision site
        if measured.anchor_l2 is not None:
            claimed = replace(claimed, anchor_distance=measured.anchor_l2)
        return self._record(
            session_id, driver_id, challenge_id, claimed, face, decision, on_recorded
        )

    def authorize_challenge(self, session_id: str, driver_id: str, challenge_id: str) -> None:
        """Read-only: raise the refusal a submission would get for someone else's or an
        unknown challenge (before an upload is read or decoded). Changes nothing."""
        with self._uow() as uow:
            s = self._load_for_challenge(uow, session_id, driver_id, challenge_id)
            if challenge_id not in s.challenges:
                raise ChallengeUnknown(details={"challenge_id": challenge_id})

    def show_question(self, session_id: str, driver_id: str) -> tuple[int, SessionView]:
        with self._uow() as uow:
            s = self._load(uow, session_id, driver_id)
            try:
                index = s.show_question(self._clock.now())
            finally:
                self._flush(uow, s)
                uow.commit()
            return index, SessionView.of(s, s.active_challenge)

    def answer(self, session_id: str, driver_id: str, index: int) -> QuestionTiming:
        """Record an answer at server time; ``counted`` says whether it was within budget."""
        with self._uow() as uow:
            s = self._load(uow, session_id, driver_id)
            try:
                timing = s.answer(index, self._clock.now())
            finally:
                self._flush(uow, s)
                uow.commit()
            return timing

    def complete_study(self, session_id: str, driver_id: str) -> SessionView:
        with self._uow() as uow:
            s = self._load(uow, session_id, driver_id)
            try:
                s.complete_study(self._clock.now())
            finally:
                self._flush(uow, s)
                uow.commit()
            return SessionView.of(s, None)

    # ---- internals ----------------------------------------------------------------------
    def _claim(
        self, session_id: str, driver_id: str, challenge_id: str, *, burst: bool
    ) -> _Claimed:
        """Step 1: claim the challenge (single use) in its own write transaction."""
        with self._uow() as uow:
            s = self._load_for_challenge(uow, session_id, driver_id, challenge_id)
            try:
                pending = s.challenges.get(challenge_id)
                if not burst and pending is not None and pending.actions and pending.pending:
                    raise BurstRequired(
                        "this challenge asks for actions: answer it with a liveness burst "
                        "(POST .../bursts)",
                        details={"challenge_id": challenge_id, "actions": list(pending.actions)},
                    )
                challenge = s.claim(challenge_id, self._clock.now())
            except ChallengeRefused as refused:
                self._refuse(uow, s, challenge_id, refused)
                raise
            subject_key = uow.drivers.subject_key(driver_id)
            template = uow.templates.get(subject_key) if subject_key else None
            if subject_key is None or template is None:
                raise NotEnrolled(details={"driver_id": driver_id})
            claimed = _Claimed(
                subject_key=subject_key,
                template=template,
                anchor=uow.templates.get(anchor_key(s.id)) if self._anchor else None,
                earlier=uow.fingerprints.snapshots(subject_key),
                references=uow.fingerprints.references(subject_key),
                actions=challenge.actions,
                mirror=uow.templates.get(mirror_key(subject_key)),
            )
            self._flush(uow, s)
            uow.commit()
            return claimed

    def _record(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        claimed: _Claimed,
        result: FaceMeasurement | None,
        outcome: CaptureDecision,
        on_recorded: OnRecorded | None = None,
    ) -> SubmissionResult:
        """Step 3: store the decision, evidence, fingerprints, flags and the session anchor."""
        with self._uow() as uow:
            s = self._load(uow, session_id, driver_id)
            now = self._clock.now()
            try:
                attempt = s.record_decision(challenge_id, outcome, now)
            except IllegalTransition:
                self._flush(uow, s)
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
            if claimed.anchor_distance is not None:
                uow.audit.append(
                    actor=SYSTEM_ACTOR,
                    action="anchor_compared",
                    subject=s.id,
                    details={
                        "attempt_no": attempt.attempt_no,
                        "reference_distance": outcome.distances.get("reference_l2"),
                        "anchor_distance": claimed.anchor_distance,
                        "passed": attempt.passed,
                    },
                    at=now,
                )
            elif (
                self._anchor is not None
                and (attempt.passed or s.state is SessionState.IDENTITY_REVIEW)
                and result is not None
                and result.probe is not None
                and not s.terminal
            ):
                # The first capture that passes against the reference anchors the session;
                # an uncertain entry capture does once a reviewer confirms the identity.
                uow.templates.put(anchor_key(s.id), result.probe, now)
            self._flag(uow, s, attempt.attempt_no, evidence_id)
            self._flush(uow, s)
            submitted = SubmissionResult(
                attempt.attempt_no,
                attempt.passed,
                attempt.reasons,
                attempt.flags,
                attempt.distance,
                attempt.threshold,
                evidence_id,
                SessionView.of(s, s.active_challenge),
                attempt.verdict,
                dict(attempt.thresholds),
                attempt.policy_id,
            )
            if on_recorded is not None:
                on_recorded(uow, submitted)
            uow.commit()
            return submitted

    def apply_identity_review(
        self, uow: UnitOfWork, session_id: str, approved: bool, reviewer_id: str
    ) -> bool:
        """Resume (approved) or end (rejected) a session waiting for an identity review,
        inside the caller's transaction. False when the session is not waiting, including
        a wait that ran out before this decision (``identity_review_expired``, saved here)."""
        s = uow.sessions.get(session_id)
        if s is None or s.state is not SessionState.IDENTITY_REVIEW:
            return False
        now = self._clock.now()
        s.rng = self._rng
        s.advance(now)
        if s.terminal:
            self._flush(uow, s)
            return False
        s.resolve_identity_review(approved, now)
        uow.audit.append(
            actor=reviewer_id,
            action="identity_review_applied",
            subject=s.id,
            details={"approved": approved},
            at=now,
        )
        self._flush(uow, s)
        return True

    def _load(self, uow: UnitOfWork, session_id: str, driver_id: str) -> ProctorSession:
        s = uow.sessions.get(session_id)
        if s is None:
            raise NotFound(details={"session_id": session_id})
        if s.driver_id != driver_id:
            raise NotFound(details={"session_id": session_id})  # do not confirm it exists
        s.rng = self._rng
        return s

    def _load_for_challenge(
        self, uow: UnitOfWork, session_id: str, driver_id: str, challenge_id: str
    ) -> ProctorSession:
        s = uow.sessions.get(session_id)
        owner = uow.sessions.session_of_challenge(challenge_id)
        # Someone else's challenge or session is answered exactly like an unknown one:
        # the code must not tell an attacker which ids exist (issue 17).
        if s is None or s.driver_id != driver_id or (owner is not None and owner != s.id):
            raise ChallengeUnknown(details={"challenge_id": challenge_id})
        s.rng = self._rng
        return s

    def _refuse(
        self, uow: UnitOfWork, s: ProctorSession, challenge_id: str, refused: ChallengeRefused
    ) -> None:
        self._flush(uow, s)  # expiries applied by advance() are time, not the refusal
        uow.audit.append(
            actor=s.driver_id,
            action="snapshot_refused",
            subject=s.id,
            details={"code": refused.code, "challenge_id": challenge_id},
            at=self._clock.now(),
        )
        uow.commit()

    def _flush(self, uow: UnitOfWork, s: ProctorSession) -> None:
        events = s.pull_events()
        uow.sessions.save(s)
        publish(uow, s.driver_id, events)
        if s.terminal and s.closed_at is not None:
            self._close_retention(uow, s)
            if self._anchor is not None:
                uow.templates.delete(
                    anchor_key(s.id)
                )  # the anchor lives only as long as its session

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

    def _close_retention(self, uow: UnitOfWork, s: ProctorSession) -> None:
        assert s.closed_at is not None
        until = s.closed_at + REVIEW_WINDOW
        for evidence_id in uow.evidence.for_session(s.id):
            current = uow.evidence.retention_of(evidence_id)
            if current is None:
                continue
            retention, delete_after = current
            if retention in (RetentionClass.PASSED, RetentionClass.FAILED) and (
                delete_after is None or delete_after > until
            ):
                uow.evidence.set_retention([evidence_id], retention, until)

    def _flag(
        self, uow: UnitOfWork, s: ProctorSession, attempt_no: int, evidence_id: str | None
    ) -> None:
        attempt = s.attempts[attempt_no - 1]
        if not attempt.flags:
            return
        flag = uow.flags.open_for_session(s.id)
        if flag is None:
            flag = Flag(
                id=new_id(self._rng),
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


def anchor_key(session_id: str) -> str:
    """Template-store key of a session's anchor (sealed like every template)."""
    return f"anchor:{session_id}"


@dataclass(frozen=True, slots=True)
class _Claimed:
    subject_key: str
    template: Template
    anchor: Template | None
    earlier: list[Fingerprint]
    references: list[Fingerprint]
    actions: tuple[str, ...]
    anchor_distance: float | None = None
    mirror: Template | None = None  # the mirrored reference's template (issue 17)


def is_active(view: SessionView) -> bool:
    return view.state == SessionState.ACTIVE.value


__all__ = [
    "ChallengeView",
    "SessionService",
    "SessionView",
    "SubmissionResult",
    "is_active",
]
