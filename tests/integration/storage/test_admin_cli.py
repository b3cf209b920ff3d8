"""``proctor audit verify`` and ``proctor purge`` through typer's runner (SQLite)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from proctor.admin_cli import audit_app, purge_app
from proctor.storage.tables import AuditRow
from proctor.storage.uow import open_storage

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

KEY = bytes(range(32))


@pytest.mark.db
def test_audit_verify_and_purge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCTOR_MASTER_KEY", base64.b64encode(KEY).decode())
    url = f"sqlite:///{tmp_path / 'p.db'}"
    storage = open_storage(url, data_dir=tmp_path)
    with storage.uow() as uow:
        for i in range(3):
            uow.audit.append(actor="a", action="x", subject=str(i), details={"i": i}, at=T0)
        uow.commit()
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    app.add_typer(purge_app, name="purge")
    runner = CliRunner()
    args = ["--db", url, "--data-dir", str(tmp_path)]
    ok = runner.invoke(app, ["audit", "verify", *args])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    purged = runner.invoke(app, ["purge", *args])
    assert purged.exit_code == 0, purged.output
    assert json.loads(purged.output) == {"purged": {}}
    with storage.uow() as uow:
        uow.db.execute(update(AuditRow).where(AuditRow.seq == 2).values(subject="9"))
        uow.commit()
    bad = runner.invoke(app, ["audit", "verify", *args])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["first_bad_seq"] == 2
