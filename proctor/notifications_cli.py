"""``proctor notifications parked|requeue|dispatch|counts`` and ``proctor scheduler status``:
the operator's view of delivery without the HTTP service (settings from PROCTOR_*)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

notifications_app = typer.Typer(no_args_is_help=True, help="driver notification delivery")
scheduler_app = typer.Typer(no_args_is_help=True, help="the scheduled jobs of `proctor serve`")

DbOption = Annotated[str | None, typer.Option("--db", help="database URL")]
DataOption = Annotated[Path | None, typer.Option("--data-dir", help="data directory")]


def _setup(db: str | None, data_dir: Path | None) -> tuple[Any, Any]:
    from proctor.config import ProctorSettings
    from proctor.storage.uow import open_storage

    kw: dict[str, Any] = {}
    if db is not None:
        kw["database_url"] = db
    if data_dir is not None:
        kw["data_dir"] = data_dir
    s = ProctorSettings(**kw)
    return s, open_storage(s.resolved_database_url(), data_dir=s.data_dir)


def _ops(db: str | None, data_dir: Path | None) -> Any:
    from proctor.bootstrap import build_notifications
    from proctor.clock import SystemClock

    s, storage = _setup(db, data_dir)
    return build_notifications(s, storage, SystemClock())


@notifications_app.command("parked")
def parked(
    db: DbOption = None,
    data_dir: DataOption = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
) -> None:
    """List poison messages (kind, ids, attempts, reason, last error; never the text)."""
    rows = _ops(db, data_dir).parked(limit)
    for r in rows:
        typer.echo(
            json.dumps(
                {
                    "outbox_id": r.outbox_id,
                    "kind": r.kind,
                    "driver_id": r.driver_id,
                    "at": r.at.isoformat(),
                    "attempts": r.attempts,
                    "parked_at": r.parked_at.isoformat(),
                    "reason": r.reason,
                    "last_error": r.last_error,
                },
                ensure_ascii=False,
            )
        )


@notifications_app.command("requeue")
def requeue(
    outbox_id: Annotated[int, typer.Argument(help="the parked message's outbox id")],
    actor: Annotated[str, typer.Option("--actor", help="who requeues (audited)")],
    db: DbOption = None,
    data_dir: DataOption = None,
) -> None:
    """Give a parked message a fresh set of attempts (exit 1 if it is not parked)."""
    if not _ops(db, data_dir).requeue(outbox_id, actor):
        typer.echo(json.dumps({"requeued": False, "outbox_id": outbox_id}))
        raise typer.Exit(1)
    typer.echo(json.dumps({"requeued": True, "outbox_id": outbox_id}))


@notifications_app.command("counts")
def counts(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Pending and parked messages."""
    typer.echo(json.dumps(_ops(db, data_dir).counts()))


@notifications_app.command("dispatch")
def dispatch(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Run one dispatch now with the configured sender (claims rows like a replica would)."""
    from proctor.clock import SystemClock

    typer.echo(json.dumps(_ops(db, data_dir).dispatch(SystemClock().now())))


@scheduler_app.command("status")
def status(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Every job's lease (holder, expiry, fencing token) and last run, across replicas."""
    from proctor.storage.scheduler_repo import SqlLeaseStore

    _, storage = _setup(db, data_dir)
    typer.echo(json.dumps(SqlLeaseStore(storage).status(), ensure_ascii=False, indent=2))


def mount(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
    app.add_typer(scheduler_app, name="scheduler")
