"""Admin sub-commands to mount into the ``proctor`` CLI: ``audit verify`` and ``purge``.

Mount with ``app.add_typer(audit_app, name="audit")`` and
``app.add_typer(purge_app, name="purge")`` (``purge`` runs as ``proctor purge``).
The database comes from ``PROCTOR_DATABASE_URL`` (default SQLite under ``var/``),
the master key from ``PROCTOR_MASTER_KEY`` or the key file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from proctor.clock import SystemClock
from proctor.services.retention import purge_evidence
from proctor.storage.uow import open_storage

audit_app = typer.Typer(help="Audit-log commands.", no_args_is_help=True)
purge_app = typer.Typer(help="Delete evidence whose retention has run out.")

DbOption = Annotated[str | None, typer.Option("--db", help="database URL")]
DataOption = Annotated[Path | None, typer.Option("--data-dir", help="data directory")]


@audit_app.command("verify")
def audit_verify(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Check the HMAC hash chain; exit 1 and name the first bad entry if it is broken."""
    report = open_storage(db, data_dir=data_dir).verify_audit()
    out = {
        "ok": report.ok,
        "checked": report.checked,
        "first_bad_seq": report.first_bad_seq,
        "problem": report.problem,
    }
    typer.echo(json.dumps(out, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


@purge_app.callback(invoke_without_command=True)
def purge(db: DbOption = None, data_dir: DataOption = None) -> None:
    """Apply the retention classes now; prints the number of objects deleted per class."""
    storage = open_storage(db, data_dir=data_dir)
    counts = purge_evidence(storage.uow, SystemClock())
    typer.echo(json.dumps({"purged": counts}, ensure_ascii=False))
