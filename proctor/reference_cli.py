"""``proctor enroll``: the operator path for a driver's real-name photo (issue 17).

Same use case as ``PUT /v1/admin/drivers/{driver_id}/enrollment``: consent must be on
record, the first reference is set once (``reference_exists`` after that), only the
template and the face crop are kept, and the audit names the operator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from proctor.errors import ProctorError


def enroll(
    driver: Annotated[str, typer.Argument(help="driver id")],
    photo: Annotated[Path, typer.Argument(help="the authority's real-name photo")],
    operator: Annotated[str, typer.Option("--operator", help="who runs this (audited)")],
    name: Annotated[str, typer.Option("--name", help="display name")] = "",
) -> None:
    """Set a driver's authority reference photo (settings from PROCTOR_* variables)."""
    from proctor.bootstrap import build_container
    from proctor.config import ProctorSettings

    try:
        data = photo.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {photo}: {exc.strerror}") from exc
    c = build_container(ProctorSettings())
    try:
        assert c.references is not None
        r = c.references.set_authority(driver, data, operator, name)
    except ProctorError as err:
        typer.echo(json.dumps({"error": err.to_dict()}, ensure_ascii=False))
        raise typer.Exit(2) from None
    finally:
        c.close()
    out = {"reference_id": r.id, "kind": r.kind.value, "status": r.status.value}
    typer.echo(json.dumps(out))
