"""Exam routes: start an attempt, fetch the next question (no answer in it), answer, finish.

Question timing is the server's: each answer reports the effective seconds
(face-check time excluded) and whether it counted within the 60 s budget.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path

from api.deps import Driver, Services
from api.routers.driver import IdPath
from api.routers.lifecycle import open_under_application
from api.routers.views import session_out
from api.schemas import AnswerIn, AnswerOut, ExamResultOut, QuestionOut, SessionOut
from proctor.session.states import SessionKind

router = APIRouter(prefix="/v1/exams", tags=["exam"])
Index = Annotated[int, Path(ge=0, le=99)]


@router.post("", response_model=SessionOut, status_code=201)
async def start_exam(who: Driver, c: Services) -> SessionOut:
    """Open an exam attempt: 20 questions drawn at random; an exam-start capture is due.
    Only under an application whose 30 minutes of study are complete, within its exam (or
    retake) window: otherwise 409 ``exam_not_allowed`` / ``application_required``."""
    v = await anyio.to_thread.run_sync(
        open_under_application, c, who.subject, SessionKind.EXAM, lambda: c.exams.start(who.subject)
    )
    return session_out(v, c.clock.now())


@router.post("/{session_id}/questions/next", response_model=QuestionOut)
async def next_question(session_id: IdPath, who: Driver, c: Services) -> QuestionOut:
    q, v = await anyio.to_thread.run_sync(c.exams.next_question, session_id, who.subject)
    return QuestionOut(
        index=q.index,
        question_id=q.question_id,
        kind=q.kind,
        stem=q.stem,
        options=dict(q.options),
        budget_s=c.settings.question_budget_s,
        session=session_out(v, c.clock.now()),
    )


@router.post("/{session_id}/questions/{index}/answer", response_model=AnswerOut)
async def answer(
    session_id: IdPath, index: Index, body: AnswerIn, who: Driver, c: Services
) -> AnswerOut:
    a = await anyio.to_thread.run_sync(c.exams.answer, session_id, who.subject, index, body.choice)
    v = await anyio.to_thread.run_sync(c.sessions.heartbeat, session_id, who.subject)
    return AnswerOut(
        index=a.index,
        correct=a.correct,
        counted=a.counted,
        effective_s=a.effective_s,
        wrong_so_far=a.wrong_so_far,
        exam_over=a.exam_over,
        session=session_out(v, c.clock.now()),
    )


@router.post("/{session_id}/finish", response_model=ExamResultOut)
async def finish(session_id: IdPath, who: Driver, c: Services) -> ExamResultOut:
    outcome = await anyio.to_thread.run_sync(c.exams.finish, session_id, who.subject)
    return ExamResultOut(**outcome)
