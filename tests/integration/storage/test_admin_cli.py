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


@pytest.mark.db
def test_references_by_model_names_who_must_be_enrolled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``proctor models references``: after a face-model change, the drivers whose
    reference another model made (issue 19); a fresh enrolment moves a driver across."""
    import random

    from proctor.clock import FakeClock
    from proctor.models_cli import models_app
    from proctor.services.sessions import SessionService
    from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy

    monkeypatch.setenv("PROCTOR_MASTER_KEY", base64.b64encode(KEY).decode())
    url = f"sqlite:///{tmp_path / 'p.db'}"
    storage = open_storage(url, data_dir=tmp_path)
    clock, rng = FakeClock(), random.Random(3)
    old = SessionService(
        storage.uow, FakeVerifier("old-model"), clock, policy=fake_policy(), rng=rng
    )
    new = SessionService(storage.uow, FakeVerifier("fake-v1"), clock, policy=fake_policy(), rng=rng)
    for d, who in (("d1", "alice"), ("d2", "bob"), ("d3", "carol")):
        old.enroll(d, [fake_image(who, 0)])
    new.enroll("d3", [fake_image("carol", 1)])
    runner = CliRunner()
    args = ["references", "--db", url, "--data-dir", str(tmp_path), "--model-id", "fake-v1"]
    res = runner.invoke(models_app, args)
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["references"] == {"fake-v1": 1, "old-model": 2}
    assert body["outdated"] == 2 and body["outdated_drivers"] == ["d1", "d2"]
