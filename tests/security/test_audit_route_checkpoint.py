"""The auditor's check (GET /v1/audit/verify → ``Container.audit_ok``) uses the newest signed
checkpoint too: a tail cut with a rewritten head fails it, while the chain alone passes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from proctor.bootstrap import audit_ok
from proctor.cli import app
from proctor.storage.tables import AuditRow

from .test_audit_mutations import N, _fix_head, _seeded

KEY = bytes(32)


def test_service_audit_check_sees_a_cut_below_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCTOR_MASTER_KEY", base64.b64encode(KEY).decode())
    monkeypatch.delenv("PROCTOR_AUDIT_CHECKPOINTS", raising=False)
    storage = _seeded(tmp_path)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    assert audit_ok(storage, checkpoints)  # no checkpoint yet: the chain alone
    common = ["--db", f"sqlite:///{tmp_path / 'a.db'}", "--data-dir", str(tmp_path)]
    assert CliRunner().invoke(app, ["audit", "checkpoint", *common]).exit_code == 0
    assert checkpoints.exists() and audit_ok(storage, checkpoints)
    with storage.sessionmaker() as s, s.begin():
        s.execute(delete(AuditRow).where(AuditRow.seq > N // 2))
        _fix_head(s)
    assert storage.verify_audit().ok  # the control: the chain alone cannot see it
    assert not audit_ok(storage, checkpoints)
