"""Exam content use cases: draw 20 questions, show one at a time, answer, finish and score.

Timing is the session's (server clock, face-check time excluded, see
``SessionService.answer``); this module adds the content: which question sits at
each index, whether the chosen option is right, and the score under
``rules.exam.score_exam``. The question served to the driver never carries its
answer. An exam ends early on the third wrong or timed-out answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.rules import QuestionBank, Response, score_exam
from proctor.rules.policy import ExamPolicy
from proctor.services.common import NotFound
from proctor.services.ports import AnswerRecord, ExamRecord, RecordsUnitOfWork
from proctor.services.sessions import SessionService, SessionView
from proctor.session.states import QuestionOutOfOrder, SessionKind

# (uow, driver id, exam session id, outcome) -> fields to add to the stored outcome
ExamFinished = Callable[[RecordsUnitOfWork, str, str, Mapping[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True, slots=True)
class PublicQuestion:
    index: int
    question_id: str
    kind: str
    stem: str
    options: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AnswerView:
    index: int
    correct: bool
    counted: bool
    effective_s: float
    wrong_so_far: int
    exam_over: bool
    session: SessionView | None = None


class ExamService:
    def __init__(
        self,
        uow: Callable[[], RecordsUnitOfWork],
        sessions: SessionService,
        bank: QuestionBank,
        policy: ExamPolicy,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        on_finished: ExamFinished | None = None,
    ) -> None:
        self._uow, self._sessions, self._bank, self._policy = uow, sessions, bank, policy
        # The application's result and reduction, in the transaction that stores the outcome.
        self.on_finished = on_finished
        self._clock = clock
        self._rng = rng or default_rng()
        self._by_id = {q.id: q for q in bank.questions}

    def start(self, driver_id: str) -> SessionView:
        view = self._sessions.open_session(
            driver_id, SessionKind.EXAM, question_count=self._policy.question_count
        )
        drawn = self._bank.draw(self._rng, self._policy)
        with self._uow() as uow:
            uow.exams.add(
                ExamRecord(
                    session_id=view.session_id,
                    driver_id=driver_id,
                    question_ids=tuple(q.id for q in drawn),
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        return view

    def _exam(self, session_id: str, driver_id: str) -> ExamRecord:
        with self._uow() as uow:
            exam = uow.exams.get(session_id)
        if exam is None or exam.driver_id != driver_id:
            raise NotFound(details={"session_id": session_id})
        return exam

    def _wrong(self, exam: ExamRecord) -> int:
        return sum(1 for a in exam.answers if not (a.correct and a.counted))

    def next_question(self, session_id: str, driver_id: str) -> tuple[PublicQuestion, SessionView]:
        exam = self._exam(session_id, driver_id)
        if exam.finished_at is not None or self._wrong(exam) >= self._policy.fail_on_wrong_count:
            raise QuestionOutOfOrder("the exam is over")
        index, view = self._sessions.show_question(session_id, driver_id)
        q = self._by_id[exam.question_ids[index]]
        return PublicQuestion(index, q.id, q.kind.value, q.stem, dict(q.options)), view

    def answer(self, session_id: str, driver_id: str, index: int, choice: str) -> AnswerView:
        exam = self._exam(session_id, driver_id)
        if exam.finished_at is not None or self._wrong(exam) >= self._policy.fail_on_wrong_count:
            raise QuestionOutOfOrder("the exam is over")
        if not 0 <= index < len(exam.question_ids):
            raise QuestionOutOfOrder("no such question", details={"index": index})
        timing = self._sessions.answer(session_id, driver_id, index)
        correct = self._by_id[exam.question_ids[index]].is_correct(choice)
        record = AnswerRecord(index, choice, correct, timing.effective_s, timing.counted)
        with self._uow() as uow:
            stored = uow.exams.get(session_id)
            assert stored is not None
            stored.answers.append(record)
            uow.exams.save(stored)
            uow.commit()
        wrong = self._wrong(stored)
        over = wrong >= self._policy.fail_on_wrong_count or index == len(exam.question_ids) - 1
        return AnswerView(index, correct, timing.counted, timing.effective_s, wrong, over)

    def finish(self, session_id: str, driver_id: str) -> dict[str, Any]:
        """Score the exam; repeated calls return the stored outcome."""
        exam = self._exam(session_id, driver_id)
        if exam.outcome is not None:
            return exam.outcome
        view = self._sessions.heartbeat(session_id, driver_id)
        responses = [
            Response(correct=a.correct and a.counted, elapsed_s=a.effective_s)
            for a in sorted(exam.answers, key=lambda a: a.index)
        ]
        scored = score_exam(responses, self._policy)
        ended_early = scored.wrong >= self._policy.fail_on_wrong_count
        if not ended_early and view.state == "active":
            raise QuestionOutOfOrder(
                "the exam is not over: answer every question and pass the final check"
            )
        valid = view.state != "terminated_invalid"
        outcome: dict[str, Any] = {
            "passed": scored.passed and valid and view.state == "completed",
            "valid": valid,
            "correct": scored.correct,
            "wrong": scored.wrong,
            "questions_used": scored.questions_used,
            "ended_early": scored.ended_early or ended_early,
            "session_state": view.state,
        }
        now = self._clock.now()
        with self._uow() as uow:
            stored = uow.exams.get(session_id)
            assert stored is not None
            if self.on_finished is not None:
                outcome.update(self.on_finished(uow, driver_id, session_id, outcome) or {})
            stored.outcome, stored.finished_at = outcome, now
            uow.exams.save(stored)
            uow.audit.append(
                actor=driver_id,
                action="exam_finished",
                subject=session_id,
                details={k: v for k, v in outcome.items() if k != "session_state"},
                at=now,
            )
            uow.commit()
        return outcome
