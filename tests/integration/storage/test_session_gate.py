"""The session-open gate is a use-case rule (issue 17 item 3): a caller of ``SessionService``
without HTTP gets it too. One open study or exam session per driver, consent required, and
withdrawing consent ends open sessions. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from proctor.clock import FakeClock
from proctor.services.records import ConsentRequired, ConsentService, EnrollmentService
from proctor.services.session_gate import SessionAlreadyOpen, SessionGate, admit, admit_capture
from proctor.services.sessions import SessionService
from proctor.session.states import SessionKind, WrongSessionKind
from proctor.storage.records import SqlAlchemyRecordsUnitOfWork, records_uow_factory
from proctor.storage.uow import Storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy


def test_one_open_session_consent_and_withdrawal(storage: Storage) -> None:
    clock = FakeClock()
    verifier = FakeVerifier()

    def uow() -> SqlAlchemyRecordsUnitOfWork:
        return records_uow_factory(storage)

    sessions = SessionService(uow, verifier, clock, policy=fake_policy(), admit=admit)
    consent = ConsentService(uow, clock, "v1")
    EnrollmentService(uow, sessions, verifier, consent, clock)
    consent.give("d1", consent.text[2], "web")
    sessions.enroll("d1", [fake_image("obama", 0)])

    first = sessions.open_session("d1", SessionKind.STUDY)
    with pytest.raises(SessionAlreadyOpen) as info:
        sessions.open_session("d1", SessionKind.EXAM)
    assert info.value.code == "session_already_open"
    assert info.value.details == {"session_id": first.session_id, "kind": "study"}

    # the driver abandons it; then a new one opens
    gate = SessionGate(uow, clock)
    assert gate.abandon(first.session_id, "d1") == "terminated_invalid"
    second = sessions.open_session("d1", SessionKind.STUDY)

    consent.withdraw("d1")
    assert sessions.heartbeat(second.session_id, "d1").state == "terminated_invalid"
    with pytest.raises(ConsentRequired):
        sessions.open_session("d1", SessionKind.STUDY)

    consent.give("d1", consent.text[2], "web")
    sessions.enroll("d1", [fake_image("obama", 1)])
    exam = sessions.open_session("d1", SessionKind.EXAM)
    with pytest.raises(WrongSessionKind):  # an exam attempt cannot be abandoned
        gate.abandon(exam.session_id, "d1")


def test_capture_needs_consent_without_http(storage: Storage) -> None:
    """Issue 16 item 3: the consent check lives in the capture use case (the claim's
    transaction), not in the HTTP router. A refused capture claims nothing: the same
    challenge is answered once consent is on record."""
    clock = FakeClock()
    verifier = FakeVerifier()

    def uow() -> SqlAlchemyRecordsUnitOfWork:
        return records_uow_factory(storage)

    # opened without the open gate, so that only the capture gate stands in the way
    sessions = SessionService(
        uow, verifier, clock, policy=fake_policy(), admit_capture=admit_capture
    )
    consent = ConsentService(uow, clock, "v1")
    sessions.enroll("d2", [fake_image("obama", 0)])
    view = sessions.open_session("d2", SessionKind.STUDY)
    assert view.challenge is not None
    with pytest.raises(ConsentRequired):
        sessions.submit_snapshot(view.session_id, "d2", view.challenge.id, fake_image("obama", 1))
    assert sessions.heartbeat(view.session_id, "d2").attempts == 0  # nothing claimed

    consent.give("d2", consent.text[2], "web")
    done = sessions.submit_snapshot(
        view.session_id, "d2", view.challenge.id, fake_image("obama", 1)
    )
    assert done.attempt_no == 1 and done.passed
