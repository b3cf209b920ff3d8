"""Example-based tests of the session aggregate and the exam clock."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from proctor.capture.challenge import (
    ChallengeExpired,
    ChallengeKind,
    ChallengeReused,
    ChallengeUnknown,
    SessionClosed,
)
from proctor.clock import FakeClock
from proctor.liveness.replay import Fingerprint, ReplayPolicy, check_replay
from proctor.session import (
    CapturePending,
    ComparisonOutcome,
    IdentityNotVerified,
    ProctorSession,
    SessionKind,
    SessionState,
)
from proctor.session.adjudication import add_years

PASS = ComparisonOutcome(True)
FAIL = ComparisonOutcome(False, ("face_mismatch",))


def exam(clock: FakeClock, questions: int = 3) -> ProctorSession:
    return ProctorSession.open(
        session_id="s1",
        driver_id="d1",
        kind=SessionKind.EXAM,
        now=clock.now(),
        rng=random.Random(7),
        question_count=questions,
    )


def decide(s: ProctorSession, clock: FakeClock, outcome: ComparisonOutcome, compare_s: float = 2):
    c = s.heartbeat(clock.now())
    assert c is not None
    s.claim(c.id, clock.now())
    clock.advance(compare_s)
    return s.record_decision(c.id, outcome, clock.now())


def test_three_consecutive_failures_terminate_and_pass_resets() -> None:
    clock = FakeClock()
    s = exam(clock)
    decide(s, clock, FAIL)
    decide(s, clock, FAIL)
    assert s.active_challenge is not None and s.active_challenge.kind is ChallengeKind.RETRY
    assert s.active_challenge.guidance == "请正对摄像头"
    decide(s, clock, PASS)
    assert s.consecutive_failures == 0
    s2 = exam(clock)
    for _ in range(3):
        decide(s2, clock, FAIL)
    assert s2.state is SessionState.TERMINATED_INVALID
    assert [a.passed for a in s2.attempts] == [False] * 3


def test_unanswered_challenge_times_out_as_failure() -> None:
    clock = FakeClock()
    s = exam(clock)
    first = s.heartbeat(clock.now())
    assert first is not None
    clock.advance(91)
    s.advance(clock.now())
    assert s.attempts[0].reasons == ("capture_timeout",)
    assert s.attempts[0].decided_at == first.expires_at
    with pytest.raises(ChallengeExpired):
        s.claim(first.id, clock.now())
    assert len(s.attempts) == 1
    clock.advance(1000)  # two more timeouts, back to back
    s.advance(clock.now())
    assert s.state is SessionState.TERMINATED_INVALID
    assert len(s.attempts) == 3
    with pytest.raises(SessionClosed):
        s.show_question(clock.now())


def test_refusals_change_nothing() -> None:
    clock = FakeClock()
    s = exam(clock)
    c = s.heartbeat(clock.now())
    assert c is not None
    with pytest.raises(ChallengeUnknown):
        s.claim("nope", clock.now())
    s.claim(c.id, clock.now())
    with pytest.raises(ChallengeReused):
        s.claim(c.id, clock.now())
    assert s.consecutive_failures == 0 and not s.attempts


def test_question_text_waits_for_its_capture_decision() -> None:
    """Issue 17, DOMAIN.md case 25 (人脸比对时间不计入答题时间): a question with a random capture
    is not shown until that capture is decided; its clock starts at the decision, so
    neither the time to take the capture nor the comparison counts, and neither can be
    spent reading the question."""
    clock = FakeClock()
    s = exam(clock, questions=3)
    decide(s, clock, PASS)  # exam start
    s.exam_random_at = (1,)
    assert s.show_question(clock.now()) == 0
    clock.advance(30)
    assert s.answer(0, clock.now()).counted
    with pytest.raises(CapturePending) as pending:
        s.show_question(clock.now())  # the capture before question 1, no question
    assert pending.value.details["index"] == 1
    assert s.comparison_pending and len(s.exam_clock.questions) == 1  # type: ignore[union-attr]
    with pytest.raises(CapturePending):
        s.show_question(clock.now())  # still hidden while the capture is pending
    with pytest.raises(CapturePending):
        s.answer(1, clock.now())
    clock.advance(40)  # taking the capture: not answer time, question not visible
    decide(s, clock, PASS, compare_s=10)  # server receipt → decision
    assert s.show_question(clock.now()) == 1  # released after the decision
    clock.advance(55)
    timing = s.answer(1, clock.now())
    assert timing.paused_s == 0 and timing.effective_s == pytest.approx(55)
    assert timing.counted
    assert s.show_question(clock.now()) == 2  # one capture per planned index, not two
    clock.advance(61)
    late = s.answer(2, clock.now())
    assert not late.counted
    assert s.active_challenge is not None and s.active_challenge.kind is ChallengeKind.EXAM_END
    decide(s, clock, PASS)
    assert s.state is SessionState.COMPLETED
    pauses = s.exam_clock.pauses  # type: ignore[union-attr]
    assert all(p.ended_at is not None and p.ended_at >= p.started_at for p in pauses)


def test_failed_capture_before_a_question_keeps_it_hidden_until_a_retry_passes() -> None:
    clock = FakeClock()
    s = exam(clock, questions=2)
    decide(s, clock, PASS)
    s.exam_random_at = (0,)
    with pytest.raises(CapturePending):
        s.show_question(clock.now())
    decide(s, clock, FAIL)  # a retry follows at once
    assert s.active_challenge is not None and s.active_challenge.kind is ChallengeKind.RETRY
    with pytest.raises(CapturePending):
        s.show_question(clock.now())
    decide(s, clock, PASS)
    assert s.show_question(clock.now()) == 0


def test_questions_need_verified_identity() -> None:
    clock = FakeClock()
    s = exam(clock)
    with pytest.raises(IdentityNotVerified):
        s.show_question(clock.now())


def test_study_random_captures_due_on_heartbeat_only() -> None:
    clock = FakeClock()
    s = ProctorSession.open(
        session_id="st",
        driver_id="d",
        kind=SessionKind.STUDY,
        now=clock.now(),
        rng=random.Random(3),
    )
    decide(s, clock, PASS)
    first = s.study_offsets_s[0]
    clock.set(s.opened_at + timedelta(seconds=first - 1))
    assert s.heartbeat(clock.now()) is None
    clock.advance(2)
    c = s.heartbeat(clock.now())
    assert c is not None and c.kind is ChallengeKind.RANDOM and c.issued_at == clock.now()
    decide(s, clock, PASS)
    clock.advance(600)
    credited = s.complete_study(clock.now()) if s.heartbeat(clock.now()) is None else None
    if credited is not None:
        assert s.state is SessionState.COMPLETED and credited > 0


def test_terminated_study_credits_nothing() -> None:
    clock = FakeClock()
    s = ProctorSession.open(
        session_id="st",
        driver_id="d",
        kind=SessionKind.STUDY,
        now=clock.now(),
        rng=random.Random(3),
    )
    for _ in range(3):
        decide(s, clock, FAIL)
    assert s.state is SessionState.TERMINATED_INVALID and s.credited_s == 0


def test_near_duplicate_only_flags() -> None:
    policy = ReplayPolicy(near_duplicate_max_hamming_bits=5)
    probe = Fingerprint("bb", 0b1111)
    near = check_replay(probe, [Fingerprint("aa", 0b1111 ^ 0b11)], policy=policy)
    assert near.near and not near.exact and near.nearest_hamming_bits == 2
    ref = check_replay(probe, [], [Fingerprint("cc", 0b1110)], policy)
    assert ref.near_reference
    far = check_replay(probe, [Fingerprint("aa", ~0b1111 & (2**64 - 1))], policy=policy)
    assert not far.near
    assert check_replay(Fingerprint("", 0), [Fingerprint("", 0)]) == check_replay(
        Fingerprint("", 0), []
    )


def test_blacklist_term_handles_29_february() -> None:
    from datetime import UTC, datetime

    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 3) == datetime(2031, 2, 28, tzinfo=UTC)
