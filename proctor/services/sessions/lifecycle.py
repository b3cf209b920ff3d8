"""Use cases: open a session, heartbeat, complete study, apply an identity review."""

from __future__ import annotations

from proctor.capture.policy import CapturePolicy
from proctor.services.common import Blacklisted, NotEnrolled, new_id
from proctor.services.ports import UnitOfWork
from proctor.services.sessions.store import SessionStore
from proctor.services.sessions.views import Admit, SessionView
from proctor.session.session import ProctorSession
from proctor.session.states import SessionKind, SessionState


class OpenSession:
    """Opens a study or exam session. Refused when the driver is not enrolled, is
    blacklisted, or the admission gate says no (consent, one open session: issue 17)."""

    def __init__(
        self,
        store: SessionStore,
        capture: CapturePolicy,
        question_budget_s: float,
        admit: Admit | None = None,
    ) -> None:
        self._store, self._capture, self._budget_s, self._admit = (
            store,
            capture,
            question_budget_s,
            admit,
        )

    def __call__(self, driver_id: str, kind: SessionKind, question_count: int = 20) -> SessionView:
        st = self._store
        now = st.clock.now()
        with st.uow() as uow:
            if uow.drivers.subject_key(driver_id) is None:
                raise NotEnrolled(details={"driver_id": driver_id})
            if any(e.active_at(now) for e in uow.blacklist.for_driver(driver_id)):
                raise Blacklisted(details={"driver_id": driver_id})
            if self._admit is not None:
                self._admit(uow, driver_id, kind, now)
            s = ProctorSession.open(
                session_id=new_id(st.rng),
                driver_id=driver_id,
                kind=kind,
                now=now,
                policy=self._capture,
                rng=st.rng,
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
            st.flush(uow, s)
            uow.commit()
            return SessionView.of(s, s.active_challenge, st.light_code)


class Heartbeat:
    """The client's poll: applies time (expiries, timeouts) and draws a due challenge."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __call__(self, session_id: str, driver_id: str) -> SessionView:
        st = self._store
        now = st.clock.now()
        with st.uow() as uow:
            s = st.load(uow, session_id, driver_id)
            challenge = s.heartbeat(now)
            st.flush(uow, s)
            uow.commit()
            return SessionView.of(s, challenge, st.light_code)


class CompleteStudy:
    """Ends a study session and credits its time (the session's rules decide how much)."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __call__(self, session_id: str, driver_id: str) -> SessionView:
        st = self._store
        with st.uow() as uow:
            s = st.load(uow, session_id, driver_id)
            try:
                s.complete_study(st.clock.now())
            finally:
                st.flush(uow, s)
                uow.commit()
            return SessionView.of(s, None)


class ApplyIdentityReview:
    """A reviewer's ID-photo decision resumes (approved) or ends (rejected) a session that
    waits for it, inside the reviewer's transaction."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __call__(self, uow: UnitOfWork, session_id: str, approved: bool, reviewer_id: str) -> bool:
        """False when the session is not waiting, including a wait that ran out before this
        decision (``identity_review_expired``, saved here)."""
        st = self._store
        s = uow.sessions.get(session_id)
        if s is None or s.state is not SessionState.IDENTITY_REVIEW:
            return False
        now = st.clock.now()
        s.rng = st.rng
        s.advance(now)
        if s.terminal:
            st.flush(uow, s)
            return False
        s.resolve_identity_review(approved, now)
        uow.audit.append(
            actor=reviewer_id,
            action="identity_review_applied",
            subject=s.id,
            details={"approved": approved},
            at=now,
        )
        st.flush(uow, s)
        return True
