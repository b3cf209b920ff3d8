"""The composition root's scheduler on a real database: the jobs it registers, the
application-tick slot, audited runs, the sender choice; and migration 0008 matches the
tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from proctor.bootstrap import build_notifications, build_scheduler, build_sender
from proctor.clock import FakeClock
from proctor.config import ProctorSettings
from proctor.notifications import FileSender, LoggingSender, WebhookSender
from proctor.services.ports import NotificationEvent
from proctor.storage.tables import AuditRow, metadata
from proctor.storage.uow import Storage

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class TickReport:
    voided: int
    reminded: int
    at: datetime


class Applications:
    """What H18a's ApplicationService offers the scheduler: ``tick(now)``."""

    def __init__(self) -> None:
        self.ticks: list[datetime] = []

    def tick(self, now: datetime) -> TickReport:
        self.ticks.append(now)
        return TickReport(voided=1, reminded=0, at=now)


def test_composition_root_registers_and_runs_every_job(storage: Storage, tmp_path: Path) -> None:
    s = ProctorSettings(data_dir=tmp_path, notify_sender="file")
    clock = FakeClock(T0)
    ops = build_notifications(s, storage, clock, holder="replica-a")
    apps = Applications()
    sched = build_scheduler(s, storage, clock, ops, apps)
    assert set(sched.jobs) == {"notifications.dispatch", "evidence.purge", "applications.tick"}
    assert sched.jobs["notifications.dispatch"] == s.notify_dispatch_interval_s

    with storage.uow() as uow:
        uow.outbox.emit(NotificationEvent("exam_result", "driver-1", T0, {"passed": "true"}))
        uow.outbox.emit(NotificationEvent("mystery_kind", "driver-1", T0, {}))
        uow.commit()
    runs = {r.job: r for r in sched.run_due(T0)}
    assert set(runs) == set(sched.jobs) and all(r.status == "ok" for r in runs.values())
    assert runs["notifications.dispatch"].summary["delivered"] == 1
    assert runs["notifications.dispatch"].summary["parked"] == 1
    assert runs["applications.tick"].summary == {"voided": 1, "reminded": 0, "at": str(T0)}
    assert apps.ticks == [T0]
    lines = s.resolved_notify_file().read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["kind"] for x in lines] == ["exam_result"]
    assert [p.kind for p in ops.parked()] == ["mystery_kind"]
    assert ops.totals["delivered"] == 1

    with storage.sessionmaker() as db:
        audited = db.execute(
            select(AuditRow.subject).where(AuditRow.action == "scheduled_job_run")
        ).scalars()
        assert set(audited) == {"notifications.dispatch", "applications.tick"}  # did work
    assert storage.verify_audit().ok

    assert ops.requeue(ops.parked()[0].outbox_id, "ops-admin")
    assert ops.parked() == []
    with storage.sessionmaker() as db:
        assert db.scalar(select(AuditRow.actor).where(AuditRow.action == "notification_requeued"))


def test_no_tick_job_without_a_tick_method(storage: Storage, tmp_path: Path) -> None:
    s = ProctorSettings(data_dir=tmp_path)
    ops = build_notifications(s, storage, FakeClock(T0))
    sched = build_scheduler(s, storage, FakeClock(T0), ops, object())
    assert "applications.tick" not in sched.jobs


def test_sender_choice_and_refused_webhook_configuration(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    assert isinstance(build_sender(ProctorSettings(data_dir=tmp_path), clock), LoggingSender)
    assert isinstance(
        build_sender(ProctorSettings(data_dir=tmp_path, notify_sender="file"), clock), FileSender
    )
    hook = ProctorSettings(
        data_dir=tmp_path,
        notify_sender="webhook",
        notify_webhook_url="https://gateway.example.com/notify",
        notify_webhook_secret="0123456789abcdef0123",
    )
    assert isinstance(build_sender(hook, clock), WebhookSender)
    with pytest.raises(ValueError, match="NOTIFY_WEBHOOK"):
        build_sender(ProctorSettings(data_dir=tmp_path, notify_sender="webhook"), clock)


def test_migration_0008_matches_the_tables(storage: Storage) -> None:
    with storage.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    mine = [
        d
        for d in diffs
        if any(name in repr(d) for name in ("notification_outbox", "scheduler_lease"))
    ]
    assert mine == []


def test_operator_cli_lists_and_requeues_parked_messages(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from proctor.cli import app
    from proctor.storage.uow import open_storage

    url = f"sqlite:///{tmp_path / 'proctor.db'}"
    st = open_storage(url, data_dir=tmp_path)
    with st.uow() as uow:
        uow.outbox.emit(NotificationEvent("mystery_kind", "driver-9", datetime.now(UTC), {}))
        uow.commit()
    st.engine.dispose()
    args = ["--db", url, "--data-dir", str(tmp_path)]
    run = CliRunner().invoke
    out = run(app, ["notifications", "dispatch", *args])
    assert out.exit_code == 0 and json.loads(out.stdout)["parked"] == 1, out.stdout
    out = run(app, ["notifications", "parked", *args])
    (row,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert (row["kind"], row["reason"], row["driver_id"]) == (
        "mystery_kind",
        "no_template",
        "driver-9",
    )
    assert (
        run(
            app, ["notifications", "requeue", str(row["outbox_id"]), "--actor", "ops", *args]
        ).exit_code
        == 0
    )
    assert (
        run(
            app, ["notifications", "requeue", str(row["outbox_id"]), "--actor", "ops", *args]
        ).exit_code
        == 1
    )
    assert json.loads(run(app, ["notifications", "counts", *args]).stdout) == {
        "parked": 0,
        "pending": 1,
    }
