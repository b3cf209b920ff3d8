"""The session-open gate (issue 17 item 3), a use-case rule for every caller, not only HTTP.

In the transaction that opens a session (``SessionService(admit=admit)``), and for consent
also in the transaction that claims a capture challenge (``admit_capture``):

* a current biometric consent is required (``consent_required``);
* at most one open study or exam session per driver: a second is refused with
  ``session_already_open`` (409), naming the open session so the client can resume or finish it.
  An exam whose outcome is stored no longer counts as open (it ended early on wrong answers).

Withdrawing consent ends the driver's open sessions (``end_open_sessions``, in the withdrawal's
transaction): they close without credit, reason ``consent_withdrawn``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, cast

from proctor.clock import Clock
from proctor.errors import ProctorError
from proctor.services.common import NotFound
from proctor.services.ports import ConsentRepository, ExamRepository, UnitOfWork
from proctor.session.states import SessionKind, WrongSessionKind

CONSENT_WITHDRAWN = "consent_withdrawn"


class SessionAlreadyOpen(ProctorError):
    code = "session_already_open"


class OpenSessions(Protocol):
    def open_for_driver(self, driver_id: str) -> list[tuple[str, str]]:
        """(session id, kind) of the driver's sessions that are not closed."""
        ...


class GateUnitOfWork(UnitOfWork, Protocol):
    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def exams(self) -> ExamRepository: ...

    @property
    def open_sessions(self) -> OpenSessions: ...


def _open(uow: GateUnitOfWork, driver_id: str) -> list[tuple[str, str]]:
    out = []
    for session_id, kind in uow.open_sessions.open_for_driver(driver_id):
        if kind == SessionKind.EXAM.value:
            exam = uow.exams.get(session_id)
            if exam is not None and exam.finished_at is not None:
                continue
        out.append((session_id, kind))
    return out


def admit_capture(uow: UnitOfWork, driver_id: str) -> None:
    """In the transaction that claims a challenge: a current biometric consent is required
    for every capture, whoever calls (HTTP, batch, a test), not only at session open."""
    from proctor.services.records import ConsentRequired

    if cast(GateUnitOfWork, uow).consents.current(driver_id) is None:
        raise ConsentRequired("a separate biometric consent is required first")


def admit(uow: UnitOfWork, driver_id: str, kind: SessionKind, now: datetime) -> None:
    gate = cast(GateUnitOfWork, uow)
    admit_capture(uow, driver_id)
    for session_id, open_kind in _open(gate, driver_id):
        raise SessionAlreadyOpen(
            "another session is open: resume or finish it first",
            details={"session_id": session_id, "kind": open_kind},
        )


def end_open_sessions(uow: UnitOfWork, driver_id: str, now: datetime) -> list[str]:
    """Close every open session of the driver (consent withdrawn); returns their ids."""
    gate = cast(GateUnitOfWork, uow)
    ended = []
    for session_id, _ in gate.open_sessions.open_for_driver(driver_id):
        s = gate.sessions.get(session_id)
        if s is None or s.terminal:
            continue
        s.end(now, CONSENT_WITHDRAWN)
        gate.sessions.save(s)
        ended.append(session_id)
    return ended


ABANDONED = "abandoned"


class SessionGate:
    """The driver's way out of an open study session (so that a new one can open)."""

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def abandon(self, session_id: str, driver_id: str) -> str:
        """End one's own open *study* session without credit; returns its state. An exam
        attempt cannot be abandoned (it ends by its answers, its clock or its face checks)."""
        now = self._clock.now()
        with self._uow() as uow:
            s = uow.sessions.get(session_id)
            if s is None or s.driver_id != driver_id:
                raise NotFound(details={"session_id": session_id})
            if s.kind is not SessionKind.STUDY:
                raise WrongSessionKind("only a study session can be abandoned")
            if not s.terminal:
                s.end(now, ABANDONED)
                uow.sessions.save(s)
                uow.audit.append(
                    actor=driver_id,
                    action="session_abandoned",
                    subject=session_id,
                    details={"kind": s.kind.value},
                    at=now,
                )
                uow.commit()
            return s.state.value
