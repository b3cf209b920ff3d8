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
    model_id: Annotated[
        str | None, typer.Option(help="registry model id (default: every model with ONNX)")
    ] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="registry folder (default: PROCTOR_MODELS_DIR or models/)")
    ] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if up to date")] = False,
) -> None:
    """Translate dlib's ResNet weights into ONNX in the models folder (nothing is downloaded).

    The float graph, and the 8-bit graph quantised with the committed table
    (``models/*.quant.json``): no face data is needed.
    """
    from proctor.embedding.onnx_resnet import build_onnx, ensure_onnx, sha256_file
    from proctor.embedding.registry import model_ids, model_spec

    for mid in [model_id] if model_id else list(model_ids(models_dir)):
        spec = model_spec(mid, models_dir)
        if spec.onnx is None:
            console.print(f"{spec.model_id}: no ONNX runtime in the registry; nothing to build")
            continue
        path = build_onnx(spec) if force else ensure_onnx(spec, build=True)
        digest = sha256_file(path)
        note = (
            "" if digest == spec.onnx.sha256 else " (differs from the registry's reference build)"
        )
        console.print(f"{spec.model_id}: {path} sha256={digest}{note}")


@models_app.command("quantize")
def quantize(
    images: Annotated[Path, typer.Option(help="images.tsv: path, identity, set")],
    calibration_set: Annotated[
        list[str], typer.Option("--set", help="value of the set column; repeatable")
    ],
    video: Annotated[
        Path | None, typer.Option(help="clips folder: its JPEG frames are added")
    ] = None,
    video_every: Annotated[int, typer.Option(help="take every Nth video frame")] = 7,
    model_id: Annotated[str | None, typer.Option(help="8-bit registry model id")] = None,
    models_dir: Annotated[Path | None, typer.Option(help="registry folder")] = None,
) -> None:
    """Measure the 8-bit model's activation ranges on real chips; write its quant table.

    Chips are aligned by the shipped front end and the float model's own landmarks.
    Use sets that no accuracy figure is quoted on (the evaluation pairs stay out).
    """
    import csv

    import numpy as np

    from proctor.embedding.onnx_resnet import ensure_onnx
    from proctor.embedding.quantize import calibrate_table
    from proctor.embedding.registry import model_ids, model_spec
    from proctor.errors import ImageError
    from proctor.pipeline import build_verifier
    from proctor.quality.policy import QualityPolicy

    ids = [model_id] if model_id else list(model_ids(models_dir))
    spec = next(
        (s for s in (model_spec(m, models_dir) for m in ids) if s.onnx and s.onnx.quant_table),
        None,
    )
    if spec is None or spec.onnx is None or spec.onnx.quant_table is None:
        raise typer.BadParameter("no 8-bit model in the registry")
    float_id = next(
        m
        for m in model_ids(models_dir)
        if (s := model_spec(m, models_dir)).onnx is not None and s.onnx.quant_table is None
    )
    fp32 = ensure_onnx(model_spec(float_id, models_dir))
    pipe = build_verifier(float_id, models_dir=models_dir, runtime="onnx")
    policy = QualityPolicy.snapshot()
    with images.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["set"] in calibration_set]
    files = [images.parent / r["path"] for r in rows]
    if video is not None:
        files += sorted(video.rglob("*.jpg"))[:: max(1, video_every)]
    chips = []
    for f in files:
        try:
            a = pipe.analyze(f.read_bytes(), policy)
        except ImageError:
            continue
        if a.chip is not None:
            chips.append(a.chip)
    table = calibrate_table(
        fp32,
        np.stack(chips),
        {
            "sets": sorted(calibration_set),
            "video_every": video_every if video else None,
            "files": len(files),
            "float_model": float_id,
        },
    )
    spec.onnx.quant_table.write_text(table.to_json(), encoding="utf-8")
    console.print(
        f"{spec.model_id}: {len(table.tensors)} activation ranges from {len(chips)} chips "
        f"→ {spec.onnx.quant_table}"
    )


@models_app.command("references")
def references(
    db: Annotated[str | None, typer.Option("--db", help="database URL")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data directory")] = None,
    model_id: Annotated[
        str | None, typer.Option(help="the model in service (default: the registry's)")
    ] = None,
) -> None:
    """Enrolled references by face model: after a model change, the drivers whose
    authority photo must be sent again (``proctor enroll``); JSON, ids only."""
    import json

    from proctor.embedding.registry import model_spec
    from proctor.storage.uow import open_storage

    current = model_id or model_spec().model_id
    storage = open_storage(db, data_dir=data_dir)
    with storage.uow() as uow:
        by_model = uow.templates.drivers_by_model()
    outdated = sorted(d for m, ds in by_model.items() if m != current for d in ds)
    body = {
        "model": current,
        "references": {m: len(ds) for m, ds in sorted(by_model.items())},
        "outdated": len(outdated),
        "outdated_drivers": outdated,
    }
    typer.echo(json.dumps(body, ensure_ascii=False))
