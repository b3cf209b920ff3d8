"""SECURITY.md PR3 / c.5: withdrawing consent deletes the driver's templates, replay
fingerprints and non-evidence crops (rows and files), keeps evidence an open flag holds,
and audits counts only. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from proctor.clock import FakeClock
from proctor.services.ports import ManualReview, RetentionClass
from proctor.services.records import ConsentRequired, ConsentService, EnrollmentService
from proctor.services.sessions import SessionService, anchor_key
from proctor.session.states import SessionKind
from proctor.storage.records import records_uow_factory
from proctor.storage.tables import AuditRow, EvidenceRow, FaceTemplateRow, FingerprintRow
from proctor.storage.uow import Storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy


def _services(
    storage: Storage, clock: FakeClock
) -> tuple[SessionService, ConsentService, EnrollmentService]:
    verifier = FakeVerifier()
    sessions = SessionService(
        lambda: records_uow_factory(storage), verifier, clock, policy=fake_policy()
    )
    consent = ConsentService(lambda: records_uow_factory(storage), clock, "v1")
    enrollment = EnrollmentService(
        lambda: records_uow_factory(storage), sessions, verifier, consent, clock
    )
    return sessions, consent, enrollment


def _count(storage: Storage, table: type, **where: object) -> int:
    with storage.sessionmaker() as s:
        stmt = select(func.count()).select_from(table)
        for k, v in where.items():
            stmt = stmt.where(getattr(table, k) == v)
        return int(s.execute(stmt).scalar_one())


def test_withdrawal_deletes_biometrics_but_keeps_held_evidence(storage: Storage) -> None:
    clock = FakeClock()
    sessions, consent, enrollment = _services(storage, clock)
    for driver in ("d1", "d2"):
        consent.give(driver, consent.text[2], "web")
        enrollment.enroll(driver, [fake_image("obama" if driver == "d1" else "alice", 0)])
    # d1: one passed study session, then one taken over by a proxy (flag open)
    passed = sessions.open_session("d1", SessionKind.STUDY)
    assert passed.challenge is not None
    ok = sessions.submit_snapshot(
        passed.session_id, "d1", passed.challenge.id, fake_image("obama", 3)
    )
    assert ok.passed and ok.evidence_id
    proxy = sessions.open_session("d1", SessionKind.STUDY)
    flagged_ids = []
    for i in range(3):
        hb = sessions.heartbeat(proxy.session_id, "d1")
        assert hb.challenge is not None
        r = sessions.submit_snapshot(
            proxy.session_id, "d1", hb.challenge.id, fake_image("biden", 10 + i)
        )
        flagged_ids.append(r.evidence_id)
    with storage.uow() as uow:
        d1_key = uow.drivers.subject_key("d1")
        d2_key = uow.drivers.subject_key("d2")
        assert d1_key and d2_key
        assert uow.flags.open_for_session(proxy.session_id) is not None
        classes = {
            RetentionClass(r)
            for r in uow.db.execute(
                select(EvidenceRow.retention).where(EvidenceRow.subject_key == d1_key)
            ).scalars()
        }
    assert classes == {RetentionClass.REFERENCE, RetentionClass.PASSED, RetentionClass.FLAGGED}
    files_before = {p.name for p in storage.files.root.glob("*/*")}
    d2_evidence = _count(storage, EvidenceRow, subject_key=d2_key)
    assert _count(storage, FingerprintRow, subject_key=d1_key) > 0

    assert consent.withdraw("d1") == 1

    # templates (reference and every session anchor) and fingerprints are gone
    assert _count(storage, FaceTemplateRow, subject_key=d1_key) == 0
    with storage.uow() as uow:
        assert uow.templates.get(d1_key) is None
        assert all(
            uow.templates.get(anchor_key(s)) is None for s in (passed.session_id, proxy.session_id)
        )
    assert _count(storage, FingerprintRow, subject_key=d1_key) == 0
    # non-evidence crops: rows and files gone; the flag's evidence is kept and readable
    with storage.uow() as uow:
        left = {
            r.id: RetentionClass(r.retention)
            for r in uow.db.execute(
                select(EvidenceRow).where(EvidenceRow.subject_key == d1_key)
            ).scalars()
        }
        assert set(left.values()) == {RetentionClass.FLAGGED}
        assert set(left) == {e for e in flagged_ids if e}
        for evidence_id in left:
            assert uow.evidence.read(evidence_id).startswith(b"\xff\xd8")
    files_after = {p.name for p in storage.files.root.glob("*/*")}
    assert ok.evidence_id in files_before and ok.evidence_id not in files_after
    assert files_before - files_after and set(left) <= files_after
    # the other driver is untouched
    assert _count(storage, FaceTemplateRow, subject_key=d2_key) == 1
    assert _count(storage, EvidenceRow, subject_key=d2_key) == d2_evidence
    # audited with counts only, and the chain still verifies
    with storage.sessionmaker() as s:
        row = s.execute(select(AuditRow).where(AuditRow.action == "consent_withdrawn")).scalar_one()
    erased = json.loads(row.details)["erased"]
    assert erased["templates"] == 1 and erased["evidence_held"] == len(left)
    assert erased["evidence_deleted"] == 2 and erased["fingerprints"] > 0
    assert storage.verify_audit().ok
    # nothing biometric without consent: enrolment is refused until consent is given again
    with pytest.raises(ConsentRequired):
        enrollment.enroll("d1", [fake_image("obama", 1)])
    with pytest.raises(ConsentRequired):
        consent.require("d1")
    consent.give("d1", consent.text[2], "web")
    enrollment.enroll("d1", [fake_image("obama", 1)])
    assert _count(storage, FaceTemplateRow, subject_key=d1_key) == 1


def test_open_manual_review_holds_its_session_evidence(storage: Storage) -> None:
    """A failed session under an open 复核 keeps its crops although their class is 'failed'."""
    clock = FakeClock()
    sessions, consent, enrollment = _services(storage, clock)
    consent.give("d1", consent.text[2], "web")
    enrollment.enroll("d1", [fake_image("obama", 0)])
    view = sessions.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    r = sessions.submit_snapshot(view.session_id, "d1", view.challenge.id, b"\x00not an image")
    assert not r.passed
    res = sessions.submit_snapshot(
        view.session_id,
        "d1",
        r.session.challenge.id if r.session.challenge else "",
        fake_image("obama", 4),
    )
    assert res.evidence_id
    with records_uow_factory(storage) as uow:
        uow.manual_reviews.add(
            ManualReview(
                id="mr1",
                driver_id="d1",
                kind="fuxi",
                subject_id=view.session_id,
                created_at=clock.now(),
                status="open",
            )
        )
        uow.commit()
    consent.withdraw("d1")
    with storage.uow() as uow:
        assert uow.evidence.retention_of(res.evidence_id) is not None
