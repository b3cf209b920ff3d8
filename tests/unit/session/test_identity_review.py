"""Uncertain entry checks: manual identity review instead of a strike (issue 9, pure core)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from proctor.capture.challenge import ChallengeKind
from proctor.clock import FakeClock
from proctor.errors import IllegalTransition
from proctor.session import (
    CapturePending,
    ComparisonOutcome,
    IdentityReviewPending,
    ProctorSession,
    SessionKind,
    SessionState,
)
from proctor.types import Verdict

PASS = ComparisonOutcome(True)
FAIL = ComparisonOutcome(False, ("face_mismatch",))
UNSURE = ComparisonOutcome(False, ("identity_uncertain",), uncertain=True)


def open_session(clock: FakeClock, kind: SessionKind, questions: int = 3) -> ProctorSession:
    return ProctorSession.open(
        session_id="s1",
        driver_id="d1",
        kind=kind,
        now=clock.now(),
        rng=random.Random(3),
        question_count=questions,
    )


def decide(s: ProctorSession, clock: FakeClock, outcome: ComparisonOutcome) -> None:
    c = s.heartbeat(clock.now())
    assert c is not None
    s.claim(c.id, clock.now())
    clock.advance(2)
    s.record_decision(c.id, outcome, clock.now())


def test_uncertain_entry_waits_for_review_without_a_strike() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.STUDY)
    decide(s, clock, FAIL)  # one ordinary strike first
    decide(s, clock, UNSURE)
    assert s.state is SessionState.IDENTITY_REVIEW
    assert s.consecutive_failures == 1  # the uncertain check added none
    assert s.active_challenge is None  # no retry: a human decides
    assert [e.name for e in s.pull_events()][-1] == "identity_review_required"
    clock.advance(3600)
    assert s.heartbeat(clock.now()) is None  # nothing is scheduled while waiting
    with pytest.raises(IdentityReviewPending):
        s.complete_study(clock.now())
    assert not s.terminal


def test_approval_resumes_with_identity_verified_and_the_schedule_moved() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.STUDY)
    first_offset = s.study_offsets_s[0]
    decide(s, clock, UNSURE)
    clock.advance(1800)  # the reviewer takes half an hour
    s.resolve_identity_review(True, clock.now())
    assert s.state is SessionState.ACTIVE and s.identity_verified_at == clock.now()
    assert s.consecutive_failures == 0
    waited = (clock.now() - s.opened_at).total_seconds()
    assert s.study_offsets_s[0] == pytest.approx(first_offset + waited)
    assert s.heartbeat(clock.now()) is None  # the first random capture is not due at once
    clock.advance(first_offset + 1)
    c = s.heartbeat(clock.now())
    assert c is not None and c.kind is ChallengeKind.RANDOM
    s.claim(c.id, clock.now())
    s.record_decision(c.id, PASS, clock.now())
    assert s.complete_study(clock.now()) == pytest.approx(first_offset + 1)


def test_rejection_ends_the_session_invalid() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.EXAM)
    decide(s, clock, UNSURE)
    with pytest.raises(IdentityReviewPending):
        s.show_question(clock.now())
    s.resolve_identity_review(False, clock.now())
    assert s.state is SessionState.TERMINATED_INVALID
    assert s.termination_reason == "identity_review_rejected"
    with pytest.raises(IllegalTransition):
        s.resolve_identity_review(True, clock.now())


def test_an_undecided_review_expires_after_its_timeout_without_a_strike_or_flag() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.STUDY)
    decide(s, clock, UNSURE)
    waited_since = clock.now()
    limit = s.policy.identity_review_timeout_s
    clock.advance(limit - 1)
    s.advance(clock.now())
    assert s.state is SessionState.IDENTITY_REVIEW  # one second short: still waiting
    s.pull_events()
    clock.advance(1)
    assert s.heartbeat(clock.now()) is None
    assert s.state is SessionState.TERMINATED_INVALID
    assert s.termination_reason == "identity_review_expired"
    assert s.closed_at == waited_since + timedelta(seconds=limit)  # at the deadline
    assert s.consecutive_failures == 0 and not s.attempts[-1].flags
    assert [e.name for e in s.pull_events()] == ["session_terminated"]
    with pytest.raises(IllegalTransition):  # a decision after the expiry changes nothing
        s.resolve_identity_review(True, clock.now())


def test_a_decision_before_the_timeout_is_applied() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.STUDY)
    decide(s, clock, UNSURE)
    clock.advance(s.policy.identity_review_timeout_s - 60)
    s.advance(clock.now())
    s.resolve_identity_review(True, clock.now())
    assert s.state is SessionState.ACTIVE


def test_approved_exam_can_start_its_questions() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.EXAM)
    decide(s, clock, UNSURE)
    s.resolve_identity_review(True, clock.now())
    assert s.show_question(clock.now()) == 0


def test_uncertain_after_identity_is_verified_is_an_ordinary_strike() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.EXAM, questions=5)
    decide(s, clock, PASS)
    for _ in range(5):
        try:
            index = s.show_question(clock.now())
        except CapturePending:
            break  # the random capture that comes before this question
        s.answer(index, clock.now())
    assert s.active_challenge is not None
    decide(s, clock, UNSURE)
    assert s.state is SessionState.ACTIVE and s.consecutive_failures == 1


def test_resolve_needs_a_waiting_session() -> None:
    clock = FakeClock()
    s = open_session(clock, SessionKind.STUDY)
    with pytest.raises(IllegalTransition):
        s.resolve_identity_review(True, clock.now())


def test_an_uncertain_outcome_has_not_passed() -> None:
    assert UNSURE.verdict is Verdict.UNCERTAIN and not UNSURE.passed
    with pytest.raises(ValueError):
        ComparisonOutcome(True, uncertain=True)
