"""The session-open gate (issue 17 item 3), a use-case rule for every caller, not only HTTP.

In the transaction that opens a session (``SessionService(admit=admit)``):

* a current biometric consent is required (``consent_required``);
* at most one open study or exam session per driver: a second is refused with
  ``session_already_open`` (409), naming the open session so the client can resume or finish it.
  An exam whose outcome is stored no longer counts as open (it ended early on wrong answers).

Withdrawing consent ends the driver's open sessions (``end_open_sessions``, in the withdrawal's
transaction): they close without credit, reason ``consent_withdrawn``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast

from proctor.errors import ProctorError
from proctor.services.ports import ConsentRepository, ExamRepository, UnitOfWork
from proctor.session.states import SessionKind

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


def admit(uow: UnitOfWork, driver_id: str, kind: SessionKind, now: datetime) -> None:
    from proctor.services.records import ConsentRequired

    gate = cast(GateUnitOfWork, uow)
    if gate.consents.current(driver_id) is None:
        raise ConsentRequired("a separate biometric consent is required first")
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
