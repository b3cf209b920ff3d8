"""Use cases of the exam clock: show the next question, record an answer at server time.

Both refuse while a capture is pending (the question clock is paused for the comparison);
the rule lives in ``ProctorSession``; this module only loads, applies and saves."""

from __future__ import annotations

from proctor.services.sessions.store import SessionStore
from proctor.services.sessions.views import SessionView
from proctor.session.exam_clock import QuestionTiming


class ShowQuestion:
    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __call__(self, session_id: str, driver_id: str) -> tuple[int, SessionView]:
        st = self._store
        with st.uow() as uow:
            s = st.load(uow, session_id, driver_id)
            try:
                index = s.show_question(st.clock.now())
            finally:
                st.flush(uow, s)
                uow.commit()
            return index, SessionView.of(s, s.active_challenge, st.light_code)


class AnswerQuestion:
    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __call__(self, session_id: str, driver_id: str, index: int) -> QuestionTiming:
        """Record an answer at server time; ``counted`` says whether it was within budget."""
        st = self._store
        with st.uow() as uow:
            s = st.load(uow, session_id, driver_id)
            try:
                timing = s.answer(index, st.clock.now())
            finally:
                st.flush(uow, s)
                uow.commit()
            return timing
