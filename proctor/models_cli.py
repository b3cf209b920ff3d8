"""`proctor models`: build and inspect locally generated model artefacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proctor.cli_console import make_console

models_app = typer.Typer(no_args_is_help=True, help="model artefacts (ONNX fast path)")
console = make_console()


@models_app.command("build")
def build(
    model_id: Annotated[str | None, typer.Option(help="registry model id")] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="registry folder (default: PROCTOR_MODELS_DIR or models/)")
    ] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if up to date")] = False,
) -> None:
    """Translate dlib's ResNet weights into ONNX in the models folder (nothing is downloaded)."""
    from proctor.embedding.onnx_resnet import build_onnx, ensure_onnx, sha256_file
    from proctor.embedding.registry import model_spec

    spec = model_spec(model_id, models_dir)
    if spec.onnx is None:
        console.print(f"{spec.model_id}: no ONNX runtime in the registry; nothing to build")
        return
    path = build_onnx(spec) if force else ensure_onnx(spec, build=True)
    digest = sha256_file(path)
    note = "" if digest == spec.onnx.sha256 else " (differs from the registry's reference build)"
    console.print(f"{spec.model_id}: {path} sha256={digest}{note}")
