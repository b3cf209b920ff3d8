"""Storage behaviour on SQLite and PostgreSQL: sessions, exactly-once, evidence, retention."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from proctor.capture.challenge import ChallengeRefused
from proctor.clock import FakeClock
from proctor.services.adjudication import AdjudicationService
from proctor.services.ports import RetentionClass
from proctor.services.retention import purge_evidence
from proctor.services.sessions import SessionService
from proctor.session.states import CapturePending, SessionKind
from proctor.storage.db import downgrade, migrate, sqlite_settings
from proctor.storage.tables import (
    AttemptRow,
    AuditRow,
    DriverRow,
    EvidenceRow,
    FaceTemplateRow,
    OutboxRow,
    VoidedRow,
)
from proctor.storage.uow import Storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy


def service(storage: Storage, clock: FakeClock) -> SessionService:
    return SessionService(storage.uow, FakeVerifier(), clock, policy=fake_policy())


def test_sqlite_pragmas(storage: Storage) -> None:
    if storage.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert sqlite_settings(storage.engine) == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 10000,
    }


def test_migrations_down_and_up(storage: Storage) -> None:
    downgrade(storage.engine, "base")
    migrate(storage.engine)
    migrate(storage.engine)  # idempotent


def test_session_round_trip_and_flags(storage: Storage) -> None:
    clock = FakeClock()
    svc = service(storage, clock)
    svc.enroll("d1", [fake_image("obama", 0)], display_name="张三")
    view = svc.open_session("d1", SessionKind.EXAM, question_count=2)
    assert view.challenge is not None and view.challenge.kind == "exam_start"
    clock.advance(3)
    ok = svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("obama", 2))
    assert ok.passed and ok.evidence_id
    index, _ = svc.show_question(view.session_id, "d1")
    clock.advance(10)
    assert svc.answer(view.session_id, "d1", index).counted
    replay = None
    for _ in range(3):
        hb = svc.heartbeat(view.session_id, "d1")
        if hb.challenge is None:
            try:
                index, hb = svc.show_question(view.session_id, "d1")
            except CapturePending:  # the capture before the question (issue 17)
                hb = svc.heartbeat(view.session_id, "d1")
            if hb.challenge is None:
                clock.advance(5)
                svc.answer(view.session_id, "d1", index)
                hb = svc.heartbeat(view.session_id, "d1")
        assert hb.challenge is not None
        if replay is None:
            replay = svc.submit_snapshot(
                view.session_id, "d1", hb.challenge.id, fake_image("obama", 2)
            )
            assert "replay" in replay.reasons
            continue
        res = svc.submit_snapshot(view.session_id, "d1", hb.challenge.id, fake_image("biden", 9))
        assert "proxy_face" in res.flags
    assert res.session.state == "terminated_invalid"
    with storage.uow() as uow:
        s = uow.sessions.get(view.session_id)
        assert s is not None and s.state.value == "terminated_invalid"
        assert [a.passed for a in s.attempts] == [True, False, False, False]
        flag = uow.flags.open_for_session(view.session_id)
        assert flag is not None and set(flag.reasons) >= {"replay", "proxy_face"}
        rows = uow.db.execute(select(OutboxRow.kind)).scalars().all()
        assert "session_terminated" in rows and "flag_raised" in rows
        # identity and templates live apart
        assert uow.db.execute(select(DriverRow.display_name)).scalar_one() == "张三"
        t_cols = {c.name for c in FaceTemplateRow.__table__.columns}
        assert not t_cols & {"driver_id", "display_name", "id_number"}
        sealed = uow.db.execute(select(FaceTemplateRow.vector_sealed)).scalar_one()
        assert uow.templates.get(uow.drivers.subject_key("d1") or "") is not None
        assert len(sealed) > 16 * 8


def test_evidence_is_encrypted_and_purged(storage: Storage, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = service(storage, clock)
    svc.enroll("d1", [fake_image("obama", 0)])
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    res = svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("obama", 5))
    assert res.evidence_id
    blob = storage.files.read(res.evidence_id)
    assert b"crop:" not in blob and not blob.startswith(b"\xff\xd8")
    with storage.uow() as uow:
        assert uow.evidence.read(res.evidence_id).startswith(b"\xff\xd8crop:")
    clock.advance(120)
    svc.complete_study(view.session_id, "d1")
    with storage.uow() as uow:
        retention = uow.evidence.retention_of(res.evidence_id)
        assert retention is not None and retention[0] is RetentionClass.PASSED
        assert retention[1] == clock.now() + timedelta(hours=24)
    assert purge_evidence(storage.uow, clock) == {}
    clock.advance(24 * 3600)
    assert purge_evidence(storage.uow, clock) == {"passed": 1}
    assert not storage.files.path(res.evidence_id).exists()
    with storage.uow() as uow:
        assert uow.db.execute(select(func.count()).select_from(EvidenceRow)).scalar_one() == 0
        assert "evidence_purged" in uow.db.execute(select(AuditRow.action)).scalars().all()


def test_flagged_evidence_held_until_decided_then_blacklist_and_appeal(storage: Storage) -> None:
    clock = FakeClock()
    svc = service(storage, clock)
    adj = AdjudicationService(storage.uow, clock)
    svc.enroll("d1", [fake_image("obama", 0)])
    # an earlier completed study record, voided by the blacklist and restored by the appeal
    study = svc.open_session("d1", SessionKind.STUDY)
    assert study.challenge is not None
    svc.submit_snapshot(study.session_id, "d1", study.challenge.id, fake_image("obama", 1))
    clock.advance(60)
    svc.complete_study(study.session_id, "d1")
    view = svc.open_session("d1", SessionKind.STUDY)
    evidence = []
    for i in range(3):
        hb = svc.heartbeat(view.session_id, "d1")
        assert hb.challenge is not None
        evidence.append(
            svc.submit_snapshot(view.session_id, "d1", hb.challenge.id, fake_image("biden", i))
        )
    assert evidence[-1].session.state == "terminated_invalid"
    clock.advance(48 * 3600)
    purge_evidence(storage.uow, clock)
    with storage.uow() as uow:
        flag = uow.flags.open_for_session(view.session_id)
        assert flag is not None
        for e in evidence:
            assert e.evidence_id and uow.evidence.retention_of(e.evidence_id) is not None
    assert not adj.is_blacklisted("d1")
    adj.review_flag(flag.id, "reviewer-1", "uphold")
    entry = adj.decide_flag(flag.id, "adjudicator-1", uphold=True)
    assert entry is not None and adj.is_blacklisted("d1")
    assert entry.platform_until.year == clock.now().year + 3
    with storage.uow() as uow:
        assert uow.voided.is_void(study.session_id)
    appeal = adj.file_appeal(entry.id, "d1", "I was alone", ["doc-1"])
    with pytest.raises(Exception, match="same_human_twice"):
        adj.decide_appeal(appeal.id, "adjudicator-1", uphold=True)
    adj.decide_appeal(appeal.id, "adjudicator-2", uphold=True)
    assert not adj.is_blacklisted("d1")
    with storage.uow() as uow:
        assert not uow.voided.is_void(study.session_id)
        assert uow.db.execute(select(func.count()).select_from(VoidedRow)).scalar_one() == 1
        kinds = uow.db.execute(select(OutboxRow.kind)).scalars().all()
    for kind in (
        "flag_raised",
        "flag_reviewed",
        "blacklist_created",
        "appeal_filed",
        "appeal_upheld",
        "blacklist_lifted",
    ):
        assert kind in kinds
    assert storage.verify_audit().ok


@pytest.mark.slow
def test_two_concurrent_submissions_count_once(storage: Storage) -> None:
    clock = FakeClock()
    svc = service(storage, clock)
    svc.enroll("d1", [fake_image("obama", 0)])
    for round_no in range(8):
        view = svc.open_session("d1", SessionKind.STUDY)
        assert view.challenge is not None
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def submit(variant: int, view=view, barrier=barrier, outcomes=outcomes) -> None:
            barrier.wait()
            try:
                svc.submit_snapshot(
                    view.session_id, "d1", view.challenge.id, fake_image("obama", variant)
                )
                outcomes.append("ok")
            except ChallengeRefused as refused:
                outcomes.append(refused.code)

        threads = [threading.Thread(target=submit, args=(100 * round_no + i,)) for i in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["challenge_reused", "ok"], outcomes
        with storage.uow() as uow:
            n = uow.db.execute(
                select(func.count())
                .select_from(AttemptRow)
                .where(AttemptRow.challenge_id == view.challenge.id)
            ).scalar_one()
            assert n == 1
    assert storage.verify_audit().ok


def test_integrity_check_ok(storage: Storage) -> None:
    if storage.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with storage.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_orphan_blobs_swept_only_when_old(storage: Storage) -> None:
    import os
    import time

    from proctor.storage.evidence import sweep_orphans

    storage.files.write("ab" + "0" * 30, b"ciphertext")
    with storage.sessionmaker() as s:
        assert sweep_orphans(s, storage.files) == 0
        old = time.time() - 7200
        os.utime(storage.files.path("ab" + "0" * 30), (old, old))
        assert sweep_orphans(s, storage.files) == 1
