"""A snapshot's stored idempotent answer is written in the transaction that records the
decision (issue 5): both are durable together or neither is. Real pipeline, real SQLite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from proctor.clock import FakeClock
from proctor.pipeline import Pipeline
from proctor.services.idempotency import IdempotencyService
from proctor.services.ports import UnitOfWork
from proctor.services.sessions import SessionService, SubmissionResult
from proctor.session.states import SessionKind
from proctor.storage.tables import AttemptRow, EvidenceRow, IdempotencyRow
from proctor.storage.uow import Storage, open_storage
from proctor.testing.real import registry_policy

pytestmark = [pytest.mark.model, pytest.mark.db]

SCOPE = "driver:obama:POST:/v1/sessions/x/snapshots"


class Boom(RuntimeError):
    pass


def _setup(
    pipeline: Pipeline, tmp_path: Path
) -> tuple[SessionService, IdempotencyService, Storage]:
    storage = open_storage(
        f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path, master_key=bytes(range(32))
    )
    clock = FakeClock()
    return (
        SessionService(storage.uow, pipeline, clock, policy=registry_policy(pipeline.model_id)),
        IdempotencyService(storage.uow, clock),
        storage,
    )


def _open(svc: SessionService, portraits: Path) -> tuple[str, str]:
    """An enrolled driver's new study session: (session id, entry challenge id)."""
    svc.enroll("obama", [(portraits / "obama.jpg").read_bytes()])
    study = svc.open_session("obama", SessionKind.STUDY)
    assert study.challenge is not None
    return study.session_id, study.challenge.id


def _count(storage: Storage, row: type) -> int:
    with storage.sessionmaker() as s:
        return int(s.execute(select(func.count()).select_from(row)).scalar_one())


def test_answer_and_decision_commit_together(
    pipeline: Pipeline, portraits: Path, tmp_path: Path
) -> None:
    svc, answers, storage = _setup(pipeline, tmp_path)
    sid, cid = _open(svc, portraits)

    def keep(uow: UnitOfWork, r: SubmissionResult) -> None:
        body = json.dumps({"attempt_no": r.attempt_no, "passed": r.passed})
        answers.keep(uow, SCOPE, cid, "hash-1", 200, body)

    r = svc.submit_snapshot(
        sid, "obama", cid, (portraits / "obama2.jpg").read_bytes(), on_recorded=keep
    )
    assert r.passed and r.attempt_no == 1
    stored = answers.lookup(SCOPE, cid, "hash-1")
    assert stored is not None and stored.state == "done"
    assert json.loads(stored.body) == {"attempt_no": 1, "passed": True}
    assert _count(storage, AttemptRow) == 1


def test_a_failure_before_commit_keeps_neither(
    pipeline: Pipeline, portraits: Path, tmp_path: Path
) -> None:
    svc, answers, storage = _setup(pipeline, tmp_path)
    sid, cid = _open(svc, portraits)

    def keep_then_fail(uow: UnitOfWork, r: SubmissionResult) -> None:
        answers.keep(uow, SCOPE, cid, "hash-1", 200, "{}")
        raise Boom("the process dies before the commit")

    with pytest.raises(Boom):
        svc.submit_snapshot(
            sid,
            "obama",
            cid,
            (portraits / "obama2.jpg").read_bytes(),
            on_recorded=keep_then_fail,
        )
    # nothing of the recording transaction is left: no attempt, no answer, no evidence row
    assert answers.lookup(SCOPE, cid, "hash-1") is None
    assert _count(storage, AttemptRow) == 0
    assert _count(storage, IdempotencyRow) == 0
    assert _count(storage, EvidenceRow) == 0
    with storage.uow() as uow:
        s = uow.sessions.get(sid)
        assert s is not None and s.attempts == []
