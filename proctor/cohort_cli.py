"""`proctor cohort refresh|import` and `proctor bench fusion|cohort-size` (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()


def _service() -> tuple[Any, Any]:
    from proctor.clock import SystemClock
    from proctor.cohort_wiring import cohort_service, snorm_points
    from proctor.config import ProctorSettings
    from proctor.embedding.registry import model_spec
    from proctor.storage.uow import open_storage

    s = ProctorSettings()
    model_id = model_spec(s.model_id, s.models_dir).model_id
    found = snorm_points(s, model_id)
    if found is None:
        raise typer.BadParameter(f"s-norm is not calibrated for {model_id}: run proctor calibrate")
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    return cohort_service(s, storage, SystemClock(), model_id, found[1]), storage


def cohort_refresh(
    actor: Annotated[str, typer.Option(help="who asked (audited)")] = "system:cohort",
) -> None:
    """Sample the cohort again from the enrolled references (audited) and print its state.
    A running service refreshes its own at start and on the scheduler's job."""
    from proctor.cohort_wiring import status_body

    service, storage = _service()
    try:
        status = service.refresh(actor)
    finally:
        storage.engine.dispose()
    console.print_json(data=status_body(status))


def cohort_import(
    file: Annotated[Path, typer.Argument(help=".npz with model_id and vectors only")],
    actor: Annotated[str, typer.Option(help="the operator (audited)")],
) -> None:
    """Import other people's templates (embeddings only, never images), sealed at rest; they
    top up the enrolled references while the service has fewer than cohort_size."""
    from proctor.cohort_wiring import status_body
    from proctor.embedding.registry import model_spec
    from proctor.storage.cohort_store import parse_cohort_npz

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}") from exc
    service, storage = _service()
    try:
        spec = model_spec(service.model_id)
        vectors = parse_cohort_npz(data, service.model_id, spec.embedding_dim)
        status = service.import_vectors(vectors, actor)
    finally:
        storage.engine.dispose()
    console.print_json(data=status_body(status))


def bench_fusion(
    video: Annotated[Path | None, typer.Option(help="clips folder (manifest_*.csv)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
    gap_s: Annotated[float, typer.Option(help="seconds between bursts of one clip")] = 6.0,
    per_clip: Annotated[int, typer.Option(help="bursts per clip")] = 4,
) -> None:
    """Single best frame against fused multi-frame probes on the clips (k and weighting)."""
    import os

    from proctor.bench.fusion import run_fusion
    from proctor.bootstrap import build_pipeline
    from proctor.liveness.burst import BurstAnalyzer

    root = video or Path(os.environ.get("PROCTOR_VIDEO_DATA", "../shared/data/video"))
    res = run_fusion(root, BurstAnalyzer(build_pipeline()), gap_s=gap_s, per_clip=per_clip)
    console.print_json(data=res)
    if json_out is not None:
        json_out.write_text(json.dumps(res, indent=1), encoding="utf-8")


def mount(cohort_app: typer.Typer, bench_app: typer.Typer) -> None:
    cohort_app.command("refresh")(cohort_refresh)
    cohort_app.command("import")(cohort_import)
    bench_app.command("fusion")(bench_fusion)
