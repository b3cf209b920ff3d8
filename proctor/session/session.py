"""ProctorSession: the study/exam capture-and-compare aggregate (pure core).

Rules enforced here (issue 3, DOMAIN.md §G):

- At most one challenge is pending at a time. A pending challenge pauses the
  exam clock from its issue until its decision is stored or it expires.
- Every decided comparison is an ``Attempt`` with reasons, distance and timings.
  A pass resets the consecutive-failure count; a failure issues a ``retry``
  challenge at once with guidance; the ``max_consecutive_failures``-th
  consecutive failure ends the session as ``terminated_invalid``.
- An open challenge past ``expires_at`` is a failed attempt (``capture_timeout``)
  decided at ``expires_at``; its retry is issued at that instant, so the outcome
  does not depend on how often the client polls.
- Refused challenges (unknown, reused, expired, session closed) change nothing.
- A terminal session never changes again.
- An *uncertain* entry check (between the calibrated zones) is recorded but is not a
  strike: the session waits in ``identity_review`` for a human to check a photo of
  the driver holding their ID, then resumes (approved) or ends invalid (rejected).

Time-driven changes are applied lazily by ``advance(now)``, which every entry
point calls first. ``now`` is always the server clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from proctor.capture.challenge import (
    CaptureChallenge,
    ChallengeExpired,
    ChallengeKind,
    ChallengeReused,
    ChallengeState,
    ChallengeUnknown,
    SessionClosed,
    new_challenge_id,
)
from proctor.capture.policy import CapturePolicy
from proctor.capture.schedule import default_rng, exam_capture_plan, study_capture_offsets_s
from proctor.errors import IllegalTransition
from proctor.liveness.actions import (
    ActionDrawPolicy,
    actions_for,
    guidance_for,
    parse_action_names,
)
from proctor.session.events import (
    AttemptRecorded,
    ChallengeIssued,
    ComparisonAbandoned,
    FlagRaised,
    IdentityReviewRequired,
    IdentityReviewResolved,
    RetryRequested,
    SessionCompleted,
    SessionEvent,
    SessionTerminated,
)
from proctor.session.exam_clock import ExamClock, QuestionTiming
from proctor.session.outcome import ComparisonOutcome
from proctor.session.states import (
    CapturePending,
    FailureReason,
    IdentityNotVerified,
    IdentityReviewPending,
    QuestionOutOfOrder,
    SessionKind,
    SessionState,
    WrongSessionKind,
)

TERMINATION_REASON = "three_consecutive_failures"
IDENTITY_REJECTED_REASON = "identity_review_rejected"
IDENTITY_EXPIRED_REASON = "identity_review_expired"


@dataclass(slots=True)
class Attempt:
    """One decided comparison. Never holds image bytes or embeddings."""

    attempt_no: int
    challenge_id: str
    kind: ChallengeKind
    passed: bool
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    issued_at: datetime
    decided_at: datetime
    submitted_at: datetime | None = None
    distance: float | None = None
    threshold: float | None = None
    model_id: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The capture decision as taken (proctor.decision.capture): verdict, every threshold
    # that decided, and the id of the operating policy they came from.
    verdict: str = ""
    thresholds: dict[str, float] = field(default_factory=dict)
    policy_id: str = ""


class ProctorSession:
    """A study or exam session with its challenges, attempts and (exam) clock."""

    def __init__(
        self,
        *,
        id: str,
        driver_id: str,
        kind: SessionKind,
        opened_at: datetime,
        policy: CapturePolicy,
        rng: random.Random | None = None,
        study_offsets_s: tuple[float, ...] = (),
        exam_random_at: tuple[int, ...] = (),
        question_count: int = 0,
        exam_clock: ExamClock | None = None,
        state: SessionState = SessionState.ACTIVE,
        closed_at: datetime | None = None,
        challenges: list[CaptureChallenge] | None = None,
        attempts: list[Attempt] | None = None,
        consecutive_failures: int = 0,
        next_scheduled: int = 0,
        identity_verified_at: datetime | None = None,
        awaiting_final: bool = False,
        termination_reason: str = "",
        credited_s: float = 0.0,
    ) -> None:
        self.id = id
        self.driver_id = driver_id
        self.kind = kind
        self.opened_at = opened_at
        self.policy = policy
        self.rng = rng or default_rng()
        self.study_offsets_s = study_offsets_s
        self.exam_random_at = exam_random_at
        self.question_count = question_count
        self.exam_clock = exam_clock
        self.state = state
        self.closed_at = closed_at
        self.challenges: dict[str, CaptureChallenge] = {c.id: c for c in challenges or []}
        self.attempts: list[Attempt] = attempts or []
        self.consecutive_failures = consecutive_failures
        self.next_scheduled = next_scheduled
        self.identity_verified_at = identity_verified_at
        self.awaiting_final = awaiting_final
        self.termination_reason = termination_reason
        self.credited_s = credited_s
        self.events: list[SessionEvent] = []

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *,
        session_id: str,
        driver_id: str,
        kind: SessionKind,
        now: datetime,
        policy: CapturePolicy | None = None,
        rng: random.Random | None = None,
        question_count: int = 20,
        question_budget_s: float = 60.0,
    ) -> ProctorSession:
        """Open a session: draw its secret schedule and issue the entry / exam-start challenge."""
        policy = policy or CapturePolicy()
        rng = rng or default_rng()
        if kind is SessionKind.STUDY:
            s = cls(
                id=session_id,
                driver_id=driver_id,
                kind=kind,
                opened_at=now,
                policy=policy,
                rng=rng,
                study_offsets_s=study_capture_offsets_s(policy, rng),
            )
            s._issue(ChallengeKind.ENTRY, now)
        else:
            plan = exam_capture_plan(policy, rng, question_count)
            s = cls(
                id=session_id,
                driver_id=driver_id,
                kind=kind,
                opened_at=now,
                policy=policy,
                rng=rng,
                exam_random_at=plan.random_at_questions,
                question_count=question_count,
                exam_clock=ExamClock(question_budget_s),
            )
            s._issue(ChallengeKind.EXAM_START, now)
        return s

    # ---- read side ----------------------------------------------------------------------
    @property
    def terminal(self) -> bool:
        return self.state.terminal

    @property
    def active_challenge(self) -> CaptureChallenge | None:
        for c in reversed(self.challenges.values()):
            return c if c.pending else None
        return None

    @property
    def comparison_pending(self) -> bool:
        return self.active_challenge is not None

    def pull_events(self) -> list[SessionEvent]:
        out, self.events = self.events, []
        return out

    # ---- time ---------------------------------------------------------------------------
    def advance(self, now: datetime) -> None:
        """Apply expiries, abandoned comparisons and due captures up to ``now``."""
        if self.terminal:
            return
        if self.state is SessionState.IDENTITY_REVIEW:
            # no challenges while a human checks the ID; only the wait can run out
            waited_since = self.attempts[-1].decided_at
            deadline = waited_since + timedelta(seconds=self.policy.identity_review_timeout_s)
            if now >= deadline:
                self._terminate(deadline, IDENTITY_EXPIRED_REASON)
            return
        while (c := self.active_challenge) is not None:
            if c.state is ChallengeState.OPEN and now >= c.expires_at:
                c.state = ChallengeState.EXPIRED
                c.closed_at = c.expires_at
                self._resume(c, c.expires_at)
                timeout = ComparisonOutcome(False, (FailureReason.CAPTURE_TIMEOUT.value,))
                self._record(c, timeout, c.expires_at)
                if self.terminal:
                    return
                continue
            if c.state is ChallengeState.SUBMITTED and c.submitted_at is not None:
                give_up = c.submitted_at + timedelta(seconds=self.policy.abandoned_comparison_s)
                if now >= give_up:
                    c.state = ChallengeState.ABANDONED
                    c.closed_at = give_up
                    self._resume(c, give_up)
                    self.events.append(ComparisonAbandoned(self.id, give_up, c.id))
                    self._issue(ChallengeKind.RETRY, give_up, self.policy.retry_guidance)
                    continue
            break
        if self.kind is SessionKind.STUDY and self.identity_verified_at is not None:
            due = False
            while self.next_scheduled < len(self.study_offsets_s) and now >= (
                self.opened_at + timedelta(seconds=self.study_offsets_s[self.next_scheduled])
            ):
                self.next_scheduled += 1
                due = True
            if due and self.active_challenge is None:
                self._issue(ChallengeKind.RANDOM, now)

    def heartbeat(self, now: datetime) -> CaptureChallenge | None:
        """The client's poll: returns the open challenge, if a capture is due."""
        self.advance(now)
        c = self.active_challenge
        return c if c is not None and c.state is ChallengeState.OPEN else None

    # ---- snapshots ----------------------------------------------------------------------
    def claim(self, challenge_id: str, now: datetime) -> CaptureChallenge:
        """Accept a snapshot for ``challenge_id`` (single use) or raise a ``ChallengeRefused``."""
        self.advance(now)
        c = self.challenges.get(challenge_id)
        if c is None:
            raise ChallengeUnknown(details={"challenge_id": challenge_id})
        if c.state is ChallengeState.EXPIRED:
            raise ChallengeExpired(details={"challenge_id": challenge_id})
        if c.state is not ChallengeState.OPEN:
            raise ChallengeReused(details={"challenge_id": challenge_id})
        if self.terminal:
            raise SessionClosed(details={"session_id": self.id})
        c.state = ChallengeState.SUBMITTED
        c.submitted_at = now
        return c

    def record_decision(
        self, challenge_id: str, outcome: ComparisonOutcome, now: datetime
    ) -> Attempt:
        """Store the comparison decision for a claimed challenge."""
        self.advance(now)
        c = self.challenges.get(challenge_id)
        if c is None or c.state is not ChallengeState.SUBMITTED or self.terminal:
            raise IllegalTransition(
                "no comparison pending for this challenge",
                details={"challenge_id": challenge_id},
            )
        c.state = ChallengeState.DECIDED
        c.closed_at = now
        self._resume(c, now)
        return self._record(c, outcome, now)

    # ---- exam questions -----------------------------------------------------------------
    def show_question(self, now: datetime) -> int:
        """Show the next question, or first issue the random capture that comes before it.

        The question's text is released only once its capture is decided (issue 17): a
        question with a random capture raises ``CapturePending`` (the challenge is issued
        and saved) and is shown, with its clock started, on the next call after the
        decision. The question stays hidden while the driver takes the capture and while
        the server compares it, so neither counts as answer time and neither can be used
        to read the question (人脸比对时间不计入答题时间, DOMAIN.md case 25).
        """
        clock = self._exam_ready(now)  # refuses while a capture is pending
        if clock.current is not None or len(clock.questions) >= self.question_count:
            raise QuestionOutOfOrder("no further question to show")
        index = len(clock.questions)
        if index in self.exam_random_at and not self._captured_before(index):
            c = self._issue(ChallengeKind.RANDOM, now)
            raise CapturePending(
                "a face capture comes before this question; the question is shown once "
                "the capture is decided",
                details={"index": index, "challenge_id": c.id, "actions": list(c.actions)},
            )
        return clock.show(now).index

    def _captured_before(self, index: int) -> bool:
        """Whether the random capture that precedes question ``index`` was issued already
        (each planned index issues exactly one ``random`` challenge; retries are their own)."""
        position = sorted(self.exam_random_at).index(index)
        issued = sum(1 for c in self.challenges.values() if c.kind is ChallengeKind.RANDOM)
        return issued > position

    def answer(self, index: int, now: datetime) -> QuestionTiming:
        clock = self._exam_ready(now)
        current = clock.current
        if current is None or current.index != index:
            raise QuestionOutOfOrder("that question is not on screen", details={"index": index})
        timing = clock.answer(index, now)
        if index == self.question_count - 1:
            self.awaiting_final = True
            self._issue(ChallengeKind.EXAM_END, now)
        return timing

    # ---- study --------------------------------------------------------------------------
    def complete_study(self, now: datetime) -> float:
        """End a study session normally; returns the credited seconds."""
        if self.kind is not SessionKind.STUDY:
            raise WrongSessionKind("only a study session is completed this way")
        self.advance(now)
        if self.terminal:
            raise SessionClosed(details={"session_id": self.id})
        if self.comparison_pending:
            raise CapturePending("finish the pending capture first")
        self._not_in_review()
        if self.identity_verified_at is None:
            raise IdentityNotVerified("the entry check has not passed")
        self._complete(now, (now - self.identity_verified_at).total_seconds())
        return self.credited_s

    # ---- manual identity review (uncertain entry check) --------------------------------
    def resolve_identity_review(self, approved: bool, now: datetime) -> None:
        """A human's decision on the driver's identity after an uncertain entry check.

        Approved: the session resumes with identity verified from ``now`` (study credit
        counts from here, and the random captures keep their spacing from this point).
        Rejected: the session ends invalid.
        """
        if self.state is not SessionState.IDENTITY_REVIEW:
            raise IllegalTransition(
                "the session is not waiting for an identity review",
                details={"session_id": self.id, "state": self.state.value},
            )
        self.events.append(IdentityReviewResolved(self.id, now, approved))
        if not approved:
            self._terminate(now, IDENTITY_REJECTED_REASON)
            return
        self.state = SessionState.ACTIVE
        self.identity_verified_at = now
        self.consecutive_failures = 0
        waited_s = max(0.0, (now - self.opened_at).total_seconds())
        self.study_offsets_s = tuple(
            o + waited_s if i >= self.next_scheduled else o
            for i, o in enumerate(self.study_offsets_s)
        )

    # ---- internals ----------------------------------------------------------------------
    def _not_in_review(self) -> None:
        if self.state is SessionState.IDENTITY_REVIEW:
            raise IdentityReviewPending("a reviewer is checking the driver's identity")

    def _exam_ready(self, now: datetime) -> ExamClock:
        if self.kind is not SessionKind.EXAM or self.exam_clock is None:
            raise WrongSessionKind("questions exist only in an exam")
        self.advance(now)
        if self.terminal or self.awaiting_final:
            raise SessionClosed(details={"session_id": self.id})
        self._not_in_review()
        if self.identity_verified_at is None:
            raise IdentityNotVerified("the exam-start check has not passed")
        if self.comparison_pending:
            raise CapturePending("a capture is pending; the clock is paused")
        return self.exam_clock

    def _issue(self, kind: ChallengeKind, at: datetime, guidance: str = "") -> CaptureChallenge:
        if self.comparison_pending:
            raise IllegalTransition("a challenge is already pending")
        actions = self._draw_actions(kind)
        if actions:
            guidance = guidance_for(actions, guidance)
        c = CaptureChallenge(
            id=new_challenge_id(self.rng),
            session_id=self.id,
            kind=kind,
            issued_at=at,
            expires_at=at + timedelta(seconds=self.policy.challenge_ttl_s),
            guidance=guidance,
            actions=actions,
        )
        self.challenges[c.id] = c
        if self.exam_clock is not None:
            self.exam_clock.pause(c.id, at)
        self.events.append(ChallengeIssued(self.id, at, c.id, kind.value, guidance))
        return c

    def _draw_actions(self, kind: ChallengeKind) -> tuple[str, ...]:
        if not self.policy.liveness_bursts:
            return ()
        previous = next(reversed(self.challenges.values()), None)
        draw = ActionDrawPolicy(
            self.policy.liveness_min_actions,
            self.policy.liveness_max_actions,
            self.policy.liveness_random_share,
            parse_action_names(self.policy.liveness_actions),
        )
        had = previous is not None and bool(previous.actions)
        return tuple(
            a.value for a in actions_for(kind.value, self.rng, draw, previous_had_actions=had)
        )

    def _resume(self, c: CaptureChallenge, at: datetime) -> None:
        if self.exam_clock is not None:
            self.exam_clock.resume(c.id, at)

    def _record(self, c: CaptureChallenge, outcome: ComparisonOutcome, at: datetime) -> Attempt:
        attempt = Attempt(
            attempt_no=len(self.attempts) + 1,
            challenge_id=c.id,
            kind=c.kind,
            passed=outcome.passed,
            reasons=outcome.reasons,
            flags=outcome.flags,
            issued_at=c.issued_at,
            decided_at=at,
            submitted_at=c.submitted_at,
            distance=outcome.distance,
            threshold=outcome.threshold,
            model_id=outcome.model_id,
            timings_ms=dict(outcome.timings_ms),
            verdict=str(outcome.verdict or ""),
            thresholds=dict(outcome.thresholds),
            policy_id=outcome.policy_id,
        )
        self.attempts.append(attempt)
        to_review = outcome.uncertain and self.identity_verified_at is None
        if outcome.passed:
            self.consecutive_failures = 0
        elif not to_review:
            self.consecutive_failures += 1
        self.events.append(
            AttemptRecorded(
                self.id,
                at,
                attempt.attempt_no,
                c.id,
                attempt.passed,
                attempt.reasons,
                self.consecutive_failures,
                attempt.verdict,
                attempt.thresholds,
                attempt.policy_id,
            )
        )
        if outcome.flags:
            self.events.append(FlagRaised(self.id, at, attempt.attempt_no, outcome.flags))
        if outcome.passed:
            if self.identity_verified_at is None:
                self.identity_verified_at = at
            if self.awaiting_final:
                self._complete(at, 0.0)
        elif to_review:
            self.state = SessionState.IDENTITY_REVIEW
            self.events.append(IdentityReviewRequired(self.id, at, attempt.attempt_no))
        elif self.consecutive_failures >= self.policy.max_consecutive_failures:
            self._terminate(at, TERMINATION_REASON)
        else:
            retry = self._issue(ChallengeKind.RETRY, at, self.policy.retry_guidance)
            self.events.append(RetryRequested(self.id, at, retry.id, retry.guidance))
        return attempt

    def end(self, at: datetime, reason: str) -> None:
        """Close an open session without credit for a reason outside the face checks
        (consent withdrawn); a closed session stays as it is."""
        if not self.terminal:
            self._terminate(at, reason)

    def _terminate(self, at: datetime, reason: str) -> None:
        self.state = SessionState.TERMINATED_INVALID
        self.closed_at = at
        self.termination_reason = reason
        self.credited_s = 0.0
        self.events.append(SessionTerminated(self.id, at, reason))

    def _complete(self, at: datetime, credited_s: float) -> None:
        self.state = SessionState.COMPLETED
        self.closed_at = at
        self.credited_s = credited_s
        self.events.append(SessionCompleted(self.id, at, credited_s))
