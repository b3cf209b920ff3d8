"""Admin sub-commands to mount into the ``proctor`` CLI: ``audit verify``,
``audit checkpoint`` and ``purge``.

Mount with ``app.add_typer(audit_app, name="audit")`` and
``app.add_typer(purge_app, name="purge")`` (``purge`` runs as ``proctor purge``).
The database comes from ``PROCTOR_DATABASE_URL`` (default SQLite under ``var/``),
the master key from ``PROCTOR_MASTER_KEY`` or the key file. Audit checkpoints go to
``--checkpoints``, else ``PROCTOR_AUDIT_CHECKPOINTS``, else ``<data dir>/audit-checkpoints.jsonl``;
in production point it at storage the database's writers cannot rewrite (SECURITY.md AL2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from proctor.clock import SystemClock
from proctor.services.retention import purge_evidence
from proctor.storage.audit import ChainReport
from proctor.storage.audit_anchor import (
    Checkpoint,
    append_checkpoint,
    take_checkpoint,
    verify_with_checkpoint_file,
)
from proctor.storage.uow import open_storage

audit_app = typer.Typer(help="Audit-log commands.", no_args_is_help=True)
purge_app = typer.Typer(help="Delete evidence whose retention has run out.")

DbOption = Annotated[str | None, typer.Option("--db", help="database URL")]
DataOption = Annotated[Path | None, typer.Option("--data-dir", help="data directory")]
CheckpointsOption = Annotated[
    Path | None, typer.Option("--checkpoints", help="audit checkpoint file (JSON lines)")
]
CHECKPOINTS_ENV = "PROCTOR_AUDIT_CHECKPOINTS"


def checkpoint_file(checkpoints: Path | None, data_dir: Path | None) -> Path:
    """``--checkpoints``, else the service's setting (PROCTOR_AUDIT_CHECKPOINTS, else
    ``<data dir>/audit-checkpoints.jsonl``): the CLI and the auditor route read one file."""
    if checkpoints is not None:
        return checkpoints
    from proctor.config import ProctorSettings

    settings = ProctorSettings() if data_dir is None else ProctorSettings(data_dir=data_dir)
    return settings.resolved_audit_checkpoints()


def _report(report: ChainReport, checkpoint: Checkpoint | None, path: Path) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_bad_seq": report.first_bad_seq,
        "problem": report.problem,
        "checkpoint": None if checkpoint is None else {"seq": checkpoint.seq, "file": str(path)},
    }


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    data_dir: DataOption = None,
    checkpoints: CheckpointsOption = None,
    require_checkpoint: Annotated[
        bool, typer.Option("--require-checkpoint", help="fail when there is no checkpoint")
    ] = False,
) -> None:
    """Check the HMAC hash chain and the newest checkpoint; exit 1 and name the first bad
    entry if the chain is broken or was cut below the checkpoint."""
    path = checkpoint_file(checkpoints, data_dir)
    storage = open_storage(db, data_dir=data_dir)
    with storage.sessionmaker() as s:
        report, checkpoint = verify_with_checkpoint_file(s, storage.audit_key, path)
    if report.ok and checkpoint is None and require_checkpoint:
        report = ChainReport(False, report.checked, None, "no checkpoint")
    typer.echo(json.dumps(_report(report, checkpoint, path), ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    db: DbOption = None, data_dir: DataOption = None, checkpoints: CheckpointsOption = None
) -> None:
    """Verify as ``audit verify`` does, then append a MACed checkpoint of the current head
    to the checkpoint file. Refuses (exit 1, nothing written) if the check fails, so a
    damaged chain is never vouched for. Run it on a schedule (e.g. hourly)."""
    path = checkpoint_file(checkpoints, data_dir)
    storage = open_storage(db, data_dir=data_dir)
    with storage.sessionmaker() as s, s.begin():  # one read snapshot: verified == vouched
        report, previous = verify_with_checkpoint_file(s, storage.audit_key, path)
        new = take_checkpoint(s, storage.audit_key) if report.ok else None
    out = _report(report, previous, path)
    if new is not None:
        append_checkpoint(path, new, at=SystemClock().now())
        out["written"] = {"seq": new.seq, "file": str(path)}
    typer.echo(json.dumps(out, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


@purge_app.callback(invoke_without_command=True)
def purge(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Apply the retention classes now; prints the number of objects deleted per class."""
    storage = open_storage(db, data_dir=data_dir)
    counts = purge_evidence(storage.uow, SystemClock())
    typer.echo(json.dumps({"purged": counts}, ensure_ascii=False))
