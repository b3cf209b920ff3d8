"""`proctor calibrate`: operating points per population, written to models/operating_points.toml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from proctor.cli_console import make_console

console = make_console()


def calibrate(
    images: Annotated[Path, typer.Option("--images", help="images.tsv: path, identity, set")],
    population: Annotated[
        list[str], typer.Option("--population", help="value of the set column; repeatable")
    ],
    video: Annotated[
        Path | None,
        typer.Option("--video", help="clips folder (manifest_*.csv): session-anchor thresholds"),
    ] = None,
    root: Annotated[
        Path | None, typer.Option(help="image root (default: images.tsv's folder)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="models folder to write into")] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="where the DET PNGs and tables go")
    ] = None,
    top_k: Annotated[int, typer.Option(help="cohort size used for s-norm statistics")] = 50,
    folds: Annotated[int, typer.Option(help="identity folds (cohort = other folds)")] = 3,
    max_per_identity: Annotated[int, typer.Option(help="cap so no one person dominates")] = 5,
    boot: Annotated[int, typer.Option(help="bootstrap resamples (by subject)")] = 200,
    cohort_size: Annotated[
        int, typer.Option(help="shipped-rule cohort: at most this many people, one image each")
    ] = 1000,
    bursts: Annotated[
        bool, typer.Option(help="with --video: fused burst probes' operating points (slow)")
    ] = False,
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="update operating_points.toml")
    ] = True,
) -> None:
    """Score every same- and cross-identity pair, leave-identities-out, raw and s-norm."""
    from proctor.bootstrap import build_pipeline
    from proctor.calibration.core import eer
    from proctor.calibration.points import FILE_NAME, dump_points, load_points
    from proctor.calibration.runner import (
        calibrate_population,
        calibrate_reference_cohort,
        calibrate_two_references,
        det_png,
        embed_labelled,
        markdown_table,
        read_images_tsv,
    )
    from proctor.embedding.registry import default_models_dir

    models_dir = out or default_models_dir()
    reports = report_dir or models_dir / "cards" / "calibration"
    pipe = build_pipeline()
    base = root or images.parent
    points: dict[str, Any] = load_points(models_dir)
    summary: dict[str, Any] = {}
    sets = {}
    for pop in population:
        rows = read_images_tsv(images, pop)
        if not rows:
            raise typer.BadParameter(f"no labelled images for set {pop!r} in {images}")
        sets[pop] = embed_labelled(pipe, base, rows)
    pool = shipped_pool(pipe.model_id, list(sets.values()), top_k, cohort_size)
    for pop, data in sets.items():
        body, scored = calibrate_population(
            data, top_k=top_k, folds=folds, max_per_identity=max_per_identity, n_boot=boot
        )
        ref_body, ref_gen, ref_imp = calibrate_reference_cohort(
            data, pool, max_per_identity=max_per_identity, n_boot=boot
        )
        body["snorm_references"] = ref_body
        ref_eer, ref_eer_t = eer(ref_gen, ref_imp)
        body["snorm_references_eer"] = ref_eer
        body["snorm_references_eer_threshold"] = ref_eer_t
        two = calibrate_two_references(data, pool, n_boot=boot)
        if two["people"]:
            points.setdefault(pipe.model_id, {})[f"{pop}-two-references"] = two
        body["reference_cohort_size"] = pool.cohort.size
        body["reference_cohort_sets"] = list(sets)
        points.setdefault(pipe.model_id, {})[pop] = body
        table = markdown_table(pop, body)
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"{pipe.model_id}_{pop}.md").write_text(table, encoding="utf-8")
        extra = [("s-norm (shipped: one reference per person)", ref_gen, ref_imp)]
        det_png(reports / f"{pipe.model_id}_{pop}_det.png", pop, scored, extra)
        console.print(table)
        summary[pop] = {k: v for k, v in body.items() if k in ("raw_eer", "snorm_eer", "images")}
    if video is not None:
        from proctor.calibration.runner import calibrate_anchor

        body = calibrate_anchor(pipe, video, n_boot=boot)
        points.setdefault(pipe.model_id, {})["session-anchor"] = body
        if bursts:
            from proctor.bench.fusion import collect_bursts, scored_pairs
            from proctor.calibration.runner import calibrate_bursts
            from proctor.config import ProctorSettings
            from proctor.liveness.burst import BurstAnalyzer
            from proctor.operating_policy import fusion_of

            fused = fusion_of(ProctorSettings())
            found = collect_bursts(video, BurstAnalyzer(pipe), gap_s=5.0, per_clip=6)
            points[pipe.model_id]["burst-fused"] = calibrate_bursts(
                found, pool, fused, scored_pairs
            )
        table = markdown_table("session-anchor", body)
        (reports / f"{pipe.model_id}_session-anchor.md").write_text(table, encoding="utf-8")
        console.print(table)
    if write:
        (models_dir / FILE_NAME).write_text(dump_points(points), encoding="utf-8")
        console.print(f"wrote {models_dir / FILE_NAME}")
    console.print(json.dumps(summary))


def shipped_pool(model_id: str, sets: list[Any], top_k: int, size: int) -> Any:
    """One image per person over every calibrated population: the shipped cohort rule."""
    import numpy as np

    from proctor.calibration.reference_cohort import labelled_cohort

    vectors = np.vstack([d.vectors for d in sets])
    identities = [i for d in sets for i in d.identities]
    return labelled_cohort(model_id, vectors, identities, size=size, top_k=top_k)


cohort_app = typer.Typer(
    no_args_is_help=True, help="cohorts of other people's templates for s-norm"
)


@cohort_app.command("build")
def cohort_build(
    out: Annotated[Path, typer.Option("--out", help="cohort file to write (.npz)")],
    images: Annotated[
        Path | None, typer.Option("--images", help="images.tsv to sample from (dev and tests)")
    ] = None,
    population: Annotated[str, typer.Option(help="set column value")] = "asian-dev",
    root: Annotated[Path | None, typer.Option(help="image root")] = None,
    size: Annotated[int, typer.Option(help="at most this many templates, one per person")] = 1000,
    exclude_identity: Annotated[
        list[str] | None, typer.Option(help="identities to leave out (e.g. those scored)")
    ] = None,
) -> None:
    """Sample a cohort: one template per person, from the enrolled references in storage
    (production: other drivers' references) or from a labelled image set (--images)."""
    from proctor.bootstrap import build_pipeline
    from proctor.calibration.cohort_file import sample_one_per_identity, save_cohort
    from proctor.calibration.runner import embed_labelled, read_images_tsv

    if images is None:
        n = cohort_from_storage(out, size)
        console.print(f"wrote {n} enrolled reference templates to {out}")
        return
    pipe = build_pipeline()
    rows = [
        r for r in read_images_tsv(images, population) if r[1] not in set(exclude_identity or [])
    ]
    data = embed_labelled(pipe, root or images.parent, rows)
    vectors = sample_one_per_identity(data.vectors, data.identities, size)
    save_cohort(out, pipe.model_id, vectors)
    console.print(f"wrote {len(vectors)} templates of {pipe.model_id} to {out}")


def cohort_from_storage(out: Path, size: int, seed: int = 0) -> int:
    """Sample up to ``size`` enrolled reference templates (one per driver) of the configured
    model. The file holds biometric templates: it is written readable by its owner only."""
    import numpy as np

    from proctor.calibration.cohort_file import save_cohort
    from proctor.config import ProctorSettings
    from proctor.embedding.registry import model_spec
    from proctor.storage.uow import open_storage

    s = ProctorSettings()
    model_id = model_spec(s.model_id, s.models_dir).model_id
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    try:
        with storage.uow() as uow:
            keys = uow.templates.reference_keys(model_id)
            rng = np.random.default_rng(seed)
            chosen = [keys[int(i)] for i in rng.permutation(len(keys))[: max(size, 0)]]
            vectors = [t.vector for k in sorted(chosen) if (t := uow.templates.get(k))]
    finally:
        storage.engine.dispose()
    if len(vectors) < 2:
        raise typer.BadParameter(
            f"only {len(vectors)} enrolled references of {model_id}: a cohort needs more"
        )
    save_cohort(out, model_id, np.vstack(vectors))
    out.chmod(0o600)
    return len(vectors)
