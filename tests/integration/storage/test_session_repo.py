"""The session repository writes only what changed (issue 5's cheaper snapshot path),
and what it writes must read back exactly: an exam session is driven through the
domain, one unit of work per step, and after every step a fresh read must equal the
object that was saved. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from proctor.capture.challenge import ChallengeState
from proctor.session.outcome import ComparisonOutcome
from proctor.session.session import ProctorSession
from proctor.session.states import CapturePending, SessionKind
from proctor.storage.tables import AttemptRow, ChallengeRow
from proctor.storage.uow import Storage

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PASS = ComparisonOutcome(True, distance=0.31, threshold=0.38, model_id="m", timings_ms={"x": 1.0})


def state_of(s: ProctorSession) -> dict[str, Any]:
    clock = s.exam_clock
    return {
        "state": s.state,
        "closed_at": s.closed_at,
        "next_scheduled": s.next_scheduled,
        "consecutive_failures": s.consecutive_failures,
        "identity_verified_at": s.identity_verified_at,
        "awaiting_final": s.awaiting_final,
        "termination_reason": s.termination_reason,
        "credited_s": s.credited_s,
        "schedule": (s.study_offsets_s, s.exam_random_at),
        "challenges": [
            (c.id, c.kind, c.state, c.issued_at, c.expires_at, c.submitted_at, c.closed_at)
            for c in s.challenges.values()
        ],
        "attempts": [
            (a.attempt_no, a.challenge_id, a.passed, a.reasons, a.flags, a.distance, a.decided_at)
            for a in s.attempts
        ],
        "pauses": [(p.challenge_id, p.started_at, p.ended_at) for p in clock.pauses]
        if clock
        else [],
        "questions": [
            (q.index, q.shown_at, q.answered_at, q.paused_s, q.effective_s, q.counted)
            for q in clock.questions
        ]
        if clock
        else [],
    }


def test_exam_session_reads_back_after_every_step(storage: Storage) -> None:
    with storage.uow() as uow:
        uow.drivers.add("d1", "sk-1", "", T0)
        uow.commit()
    s = ProctorSession.open(
        session_id="s1",
        driver_id="d1",
        kind=SessionKind.EXAM,
        now=T0,
        rng=random.Random(7),
        question_count=4,
    )
    with storage.uow() as uow:
        uow.sessions.add(s)
        uow.commit()
    now = T0

    def step(action: Any) -> None:
        """One unit of work: read, act, save; then a fresh read must equal the result."""
        nonlocal now
        now += timedelta(seconds=5)
        with storage.uow() as uow:
            loaded = uow.sessions.get("s1")
            assert loaded is not None
            action(loaded, now)
            uow.sessions.save(loaded)
            uow.commit()
            expected = state_of(loaded)
        with storage.uow() as uow:
            again = uow.sessions.get("s1")
            assert again is not None
            assert state_of(again) == expected

    def decide_open(s: ProctorSession, at: datetime) -> None:
        c = s.active_challenge
        assert c is not None and c.state is ChallengeState.OPEN
        s.claim(c.id, at)
        s.record_decision(c.id, PASS, at)

    step(decide_open)  # exam start

    def show(s: ProctorSession, at: datetime) -> None:
        with contextlib.suppress(CapturePending):  # a capture comes before this question
            s.show_question(at)

    for _ in range(4):
        step(show)
        with storage.uow() as uow:
            loaded = uow.sessions.get("s1")
            assert loaded is not None
            random_due = loaded.active_challenge is not None
        if random_due:
            # claim in one transaction, decide in the next; then the question is shown
            step(lambda s, at: s.claim(s.active_challenge.id, at))  # type: ignore[union-attr]
            step(
                lambda s, at: s.record_decision(
                    next(
                        c.id for c in s.challenges.values() if c.state is ChallengeState.SUBMITTED
                    ),
                    PASS,
                    at,
                )
            )
            step(show)
        step(lambda s, at: s.answer(s.exam_clock.current.index, at))  # type: ignore[union-attr]
    step(decide_open)  # exam end
    with storage.uow() as uow:
        final = uow.sessions.get("s1")
        assert final is not None and final.exam_clock is not None
        assert len(final.exam_clock.questions) == 4
        assert all(q.answered_at is not None for q in final.exam_clock.questions)
        # every comparison (start, the random capture before a question, end) paused
        # the clock, and every pause ended; none overlapped a question on screen
        assert len(final.exam_clock.pauses) == 3
        assert all(p.ended_at is not None for p in final.exam_clock.pauses)
        n_challenges = uow.db.execute(select(func.count()).select_from(ChallengeRow)).scalar_one()
        n_attempts = uow.db.execute(select(func.count()).select_from(AttemptRow)).scalar_one()
    # one row per challenge and per attempt: nothing written twice
    assert n_challenges == len(final.challenges) and n_attempts == len(final.attempts) >= 2


def test_save_without_a_read_in_the_same_unit(storage: Storage) -> None:
    """A session saved by a unit of work that did not read it first (another copy)."""
    with storage.uow() as uow:
        uow.drivers.add("d1", "sk-1", "", T0)
        uow.commit()
    s = ProctorSession.open(
        session_id="s2", driver_id="d1", kind=SessionKind.STUDY, now=T0, rng=random.Random(3)
    )
    with storage.uow() as uow:
        uow.sessions.add(s)
        uow.commit()
    c = s.active_challenge
    assert c is not None
    s.claim(c.id, T0 + timedelta(seconds=2))
    s.record_decision(c.id, PASS, T0 + timedelta(seconds=3))
    with storage.uow() as uow:
        uow.sessions.save(s)
        uow.commit()
    with storage.uow() as uow:
        again = uow.sessions.get("s2")
        assert again is not None
        assert state_of(again) == state_of(s)
