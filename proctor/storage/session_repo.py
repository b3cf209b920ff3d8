"""The session aggregate on ``proctor_session`` and its child rows, in SQLAlchemy Core.

A snapshot touches one session twice (claim, then record), so this repository is
on the hot path. It reads with plain Core selects (no ORM identity map) and
remembers what it read; ``save`` then writes only the rows that changed: the
session row's changed columns, new challenges, challenges whose state moved,
new attempts (insert-only), and new or changed pauses and questions.

On PostgreSQL ``get`` takes ``SELECT ... FOR UPDATE`` on the session row; on
SQLite the unit of work already holds the write lock (``BEGIN IMMEDIATE``).
The session tables are written only here, so no ORM object can go stale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.orm import Session

from proctor.capture.challenge import CaptureChallenge, ChallengeKind, ChallengeState
from proctor.capture.policy import CapturePolicy
from proctor.liveness.actions import parse_actions
from proctor.session.exam_clock import ExamClock, PauseInterval, QuestionTiming
from proctor.session.session import Attempt, ProctorSession
from proctor.session.states import SessionKind, SessionState
from proctor.storage.tables import (
    AttemptRow,
    ChallengeRow,
    PauseRow,
    QuestionRow,
    SessionRow,
    table_of,
)

SESSION = table_of(SessionRow)
CHALLENGE = table_of(ChallengeRow)
ATTEMPT = table_of(AttemptRow)
PAUSE = table_of(PauseRow)
QUESTION = table_of(QuestionRow)

# Built once: a snapshot reads one session twice, so statement construction is worth saving.
_SID: BindParameter[str] = bindparam("sid")
READ_SESSION = select(SESSION).where(SESSION.c.id == _SID)
READ_SESSION_LOCKED = READ_SESSION.with_for_update()
READ_CHALLENGES = select(CHALLENGE).where(CHALLENGE.c.session_id == _SID).order_by(CHALLENGE.c.seq)
READ_ATTEMPTS = select(ATTEMPT).where(ATTEMPT.c.session_id == _SID).order_by(ATTEMPT.c.attempt_no)
READ_PAUSES = select(PAUSE).where(PAUSE.c.session_id == _SID).order_by(PAUSE.c.seq)
READ_QUESTIONS = select(QUESTION).where(QUESTION.c.session_id == _SID).order_by(QUESTION.c.idx)
SET_CHALLENGE = update(CHALLENGE).where(CHALLENGE.c.id == bindparam("b_id"))
OWNER_OF_CHALLENGE = select(CHALLENGE.c.session_id).where(CHALLENGE.c.id == bindparam("cid"))

_ChallengeState = tuple[str, datetime | None, datetime | None]
_QuestionState = tuple[datetime | None, float, float, bool]


@dataclass
class _Stored:
    """What the database holds for one session inside this transaction."""

    scalars: dict[str, Any]
    challenges: dict[str, _ChallengeState] = field(default_factory=dict)
    attempts: set[int] = field(default_factory=set)
    pauses: dict[int, datetime | None] = field(default_factory=dict)
    questions: dict[int, _QuestionState] = field(default_factory=dict)


def _scalars(s: ProctorSession) -> dict[str, Any]:
    return {
        "state": s.state.value,
        "closed_at": s.closed_at,
        # the schedule moves when an identity review delays the study start
        "schedule": {
            "study_offsets_s": list(s.study_offsets_s),
            "exam_random_at": list(s.exam_random_at),
        },
        "next_scheduled": s.next_scheduled,
        "consecutive_failures": s.consecutive_failures,
        "identity_verified_at": s.identity_verified_at,
        "awaiting_final": s.awaiting_final,
        "termination_reason": s.termination_reason,
        "credited_s": s.credited_s,
    }


def _challenge_state(c: CaptureChallenge) -> _ChallengeState:
    return (c.state.value, c.submitted_at, c.closed_at)


def _attempt_row(session_id: str, a: Attempt) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "attempt_no": a.attempt_no,
        "challenge_id": a.challenge_id,
        "kind": a.kind.value,
        "passed": a.passed,
        "reasons": list(a.reasons),
        "flags": list(a.flags),
        "issued_at": a.issued_at,
        "submitted_at": a.submitted_at,
        "decided_at": a.decided_at,
        "distance": a.distance,
        "threshold": a.threshold,
        "model_id": a.model_id,
        "timings_ms": dict(a.timings_ms),
        "verdict": a.verdict,
        "thresholds": dict(a.thresholds),
        "policy_id": a.policy_id,
    }


class SqlAlchemySessionRepository:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._lock = session.get_bind().dialect.name != "sqlite"
        self._stored: dict[str, _Stored] = {}

    def add(self, s: ProctorSession) -> None:
        self._s.execute(
            insert(SESSION).values(
                id=s.id,
                driver_id=s.driver_id,
                kind=s.kind.value,
                opened_at=s.opened_at,
                policy=asdict(s.policy),
                question_count=s.question_count,
                question_budget_s=s.exam_clock.question_budget_s if s.exam_clock else 0.0,
                **_scalars(s),
            )
        )
        stored = _Stored(_scalars(s))
        self._stored[s.id] = stored
        self._write_children(s, stored)

    def get(self, session_id: str) -> ProctorSession | None:
        sid = {"sid": session_id}
        stmt = READ_SESSION_LOCKED if self._lock else READ_SESSION
        row = self._s.execute(stmt, sid).mappings().one_or_none()
        if row is None:
            return None
        challenges = self._s.execute(READ_CHALLENGES, sid).all()
        attempts = self._s.execute(READ_ATTEMPTS, sid).all()
        clock = None
        pauses: list[PauseInterval] = []
        questions: list[QuestionTiming] = []
        if row["kind"] == SessionKind.EXAM.value:
            pauses = [
                PauseInterval(p.challenge_id, p.started_at, p.ended_at)
                for p in self._s.execute(READ_PAUSES, sid)
            ]
            questions = [
                QuestionTiming(
                    q.idx, q.shown_at, q.answered_at, q.paused_s, q.effective_s, q.counted
                )
                for q in self._s.execute(READ_QUESTIONS, sid)
            ]
            clock = ExamClock(row["question_budget_s"], list(pauses), list(questions))
        s = ProctorSession(
            id=row["id"],
            driver_id=row["driver_id"],
            kind=SessionKind(row["kind"]),
            opened_at=row["opened_at"],
            policy=CapturePolicy(**row["policy"]),
            study_offsets_s=tuple(row["schedule"].get("study_offsets_s", ())),
            exam_random_at=tuple(row["schedule"].get("exam_random_at", ())),
            question_count=row["question_count"],
            exam_clock=clock,
            state=SessionState(row["state"]),
            closed_at=row["closed_at"],
            challenges=[
                CaptureChallenge(
                    id=c.id,
                    session_id=c.session_id,
                    kind=ChallengeKind(c.kind),
                    issued_at=c.issued_at,
                    expires_at=c.expires_at,
                    state=ChallengeState(c.state),
                    guidance=c.guidance,
                    submitted_at=c.submitted_at,
                    closed_at=c.closed_at,
                    actions=tuple(a.value for a in parse_actions(c.actions or ())),
                )
                for c in challenges
            ],
            attempts=[
                Attempt(
                    attempt_no=a.attempt_no,
                    challenge_id=a.challenge_id,
                    kind=ChallengeKind(a.kind),
                    passed=a.passed,
                    reasons=tuple(a.reasons),
                    flags=tuple(a.flags),
                    issued_at=a.issued_at,
                    decided_at=a.decided_at,
                    submitted_at=a.submitted_at,
                    distance=a.distance,
                    threshold=a.threshold,
                    model_id=a.model_id,
                    timings_ms=dict(a.timings_ms),
                    verdict=a.verdict or "",
                    thresholds=dict(a.thresholds or {}),
                    policy_id=a.policy_id or "",
                )
                for a in attempts
            ],
            consecutive_failures=row["consecutive_failures"],
            next_scheduled=row["next_scheduled"],
            identity_verified_at=row["identity_verified_at"],
            awaiting_final=row["awaiting_final"],
            termination_reason=row["termination_reason"],
            credited_s=row["credited_s"],
        )
        self._stored[session_id] = _Stored(
            scalars={k: row[k] for k in _scalars(s)},
            challenges={c.id: _challenge_state(c) for c in s.challenges.values()},
            attempts={a.attempt_no for a in s.attempts},
            pauses={i: p.ended_at for i, p in enumerate(pauses)},
            questions={
                q.index: (q.answered_at, q.paused_s, q.effective_s, q.counted) for q in questions
            },
        )
        return s

    def save(self, s: ProctorSession) -> None:
        stored = self._stored.get(s.id)
        if stored is None:
            # saved without being read here first: read what is stored, then diff
            if self._s.execute(select(SESSION.c.id).where(SESSION.c.id == s.id)).first() is None:
                self.add(s)
                return
            self.get(s.id)
            stored = self._stored[s.id]
        scalars = _scalars(s)
        changed = {k: v for k, v in scalars.items() if stored.scalars.get(k) != v}
        if changed:
            self._s.execute(update(SESSION).where(SESSION.c.id == s.id).values(**changed))
            stored.scalars.update(changed)
        self._write_children(s, stored)

    def _write_children(self, s: ProctorSession, stored: _Stored) -> None:
        new_challenges = []
        for seq, c in enumerate(s.challenges.values()):
            now = _challenge_state(c)
            before = stored.challenges.get(c.id)
            if before is None:
                new_challenges.append(
                    {
                        "id": c.id,
                        "session_id": s.id,
                        "seq": seq,
                        "kind": c.kind.value,
                        "issued_at": c.issued_at,
                        "expires_at": c.expires_at,
                        "guidance": c.guidance,
                        "state": now[0],
                        "submitted_at": now[1],
                        "closed_at": now[2],
                        "actions": list(c.actions),
                    }
                )
            elif before != now:
                self._s.execute(
                    SET_CHALLENGE,
                    {"b_id": c.id, "state": now[0], "submitted_at": now[1], "closed_at": now[2]},
                )
            stored.challenges[c.id] = now
        if new_challenges:
            self._s.execute(insert(CHALLENGE), new_challenges)
        new_attempts = [
            _attempt_row(s.id, a) for a in s.attempts if a.attempt_no not in stored.attempts
        ]
        if new_attempts:
            # after the challenges: an attempt's challenge_id is a foreign key
            self._s.execute(insert(ATTEMPT), new_attempts)
            stored.attempts.update(a["attempt_no"] for a in new_attempts)
        if s.exam_clock is not None:
            self._write_clock(s.id, s.exam_clock, stored)

    def _write_clock(self, session_id: str, clock: ExamClock, stored: _Stored) -> None:
        for seq, p in enumerate(clock.pauses):
            if seq not in stored.pauses:
                self._s.execute(
                    insert(PAUSE).values(
                        session_id=session_id,
                        seq=seq,
                        challenge_id=p.challenge_id,
                        started_at=p.started_at,
                        ended_at=p.ended_at,
                    )
                )
            elif stored.pauses[seq] != p.ended_at:
                self._s.execute(
                    update(PAUSE)
                    .where(PAUSE.c.session_id == session_id, PAUSE.c.seq == seq)
                    .values(ended_at=p.ended_at)
                )
            stored.pauses[seq] = p.ended_at
        for q in clock.questions:
            now = (q.answered_at, q.paused_s, q.effective_s, q.counted)
            before = stored.questions.get(q.index)
            if before is None:
                self._s.execute(
                    insert(QUESTION).values(
                        session_id=session_id,
                        idx=q.index,
                        shown_at=q.shown_at,
                        answered_at=now[0],
                        paused_s=now[1],
                        effective_s=now[2],
                        counted=now[3],
                    )
                )
            elif before != now:
                self._s.execute(
                    update(QUESTION)
                    .where(QUESTION.c.session_id == session_id, QUESTION.c.idx == q.index)
                    .values(answered_at=now[0], paused_s=now[1], effective_s=now[2], counted=now[3])
                )
            stored.questions[q.index] = now

    def session_of_challenge(self, challenge_id: str) -> str | None:
        return self._s.execute(OWNER_OF_CHALLENGE, {"cid": challenge_id}).scalar_one_or_none()

    def completed_for_driver(self, driver_id: str) -> list[str]:
        stmt = select(SESSION.c.id).where(
            SESSION.c.driver_id == driver_id, SESSION.c.state == SessionState.COMPLETED.value
        )
        return list(self._s.execute(stmt).scalars())
