"""ExamClock: the server-owned per-question clock with auditable pause intervals.

A pause runs from a challenge's issue until its decision is stored or it
expires. An answer counts only if ``answered_at - shown_at - paused <= budget``,
where ``paused`` is the overlap of the pause intervals with ``[shown_at,
answered_at]``. Invariant: ``effective_elapsed_s`` does not advance while a
pause is open. Client timestamps are never accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from proctor.errors import IllegalTransition


@dataclass(slots=True)
class PauseInterval:
    challenge_id: str
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(slots=True)
class QuestionTiming:
    index: int
    shown_at: datetime
    answered_at: datetime | None = None
    paused_s: float = 0.0
    effective_s: float = 0.0
    counted: bool = False


class ExamClock:
    """Per-question budget clock; all instants are server UTC."""

    def __init__(
        self,
        question_budget_s: float = 60.0,
        pauses: list[PauseInterval] | None = None,
        questions: list[QuestionTiming] | None = None,
    ) -> None:
        if question_budget_s <= 0:
            raise ValueError("question_budget_s must be positive")
        self.question_budget_s = question_budget_s
        self.pauses: list[PauseInterval] = pauses or []
        self.questions: list[QuestionTiming] = questions or []

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].ended_at is None

    def pause(self, challenge_id: str, at: datetime) -> None:
        if self.paused:
            raise IllegalTransition("clock already paused")
        self.pauses.append(PauseInterval(challenge_id, at))

    def resume(self, challenge_id: str, at: datetime) -> None:
        if not self.paused or self.pauses[-1].challenge_id != challenge_id:
            raise IllegalTransition("clock not paused by this challenge")
        self.pauses[-1].ended_at = max(at, self.pauses[-1].started_at)

    def paused_s_between(self, start: datetime, end: datetime) -> float:
        """Seconds of pause overlapping ``[start, end]``; an open pause runs to ``end``."""
        total = 0.0
        for p in self.pauses:
            p_end = p.ended_at if p.ended_at is not None else end
            lo, hi = max(start, p.started_at), min(end, p_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    @property
    def current(self) -> QuestionTiming | None:
        if self.questions and self.questions[-1].answered_at is None:
            return self.questions[-1]
        return None

    def show(self, at: datetime) -> QuestionTiming:
        if self.current is not None:
            raise IllegalTransition("previous question not answered")
        q = QuestionTiming(len(self.questions), at)
        self.questions.append(q)
        return q

    def effective_elapsed_s(self, index: int, now: datetime) -> float:
        q = self.questions[index]
        end = q.answered_at or now
        return (end - q.shown_at).total_seconds() - self.paused_s_between(q.shown_at, end)

    def answer(self, index: int, at: datetime) -> QuestionTiming:
        q = self.current
        if q is None or q.index != index:
            raise IllegalTransition("question is not the one on screen")
        q.answered_at = at
        q.paused_s = self.paused_s_between(q.shown_at, at)
        q.effective_s = (at - q.shown_at).total_seconds() - q.paused_s
        q.counted = q.effective_s <= self.question_budget_s
        return q
