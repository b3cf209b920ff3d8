"""The ``proctor`` command line: verify, enroll, bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from proctor.admin_cli import audit_app, purge_app
from proctor.calibrate_cli import calibrate, cohort_app
from proctor.cli_console import make_console, print_error
from proctor.demo.cli import demo_app
from proctor.errors import ProctorError
from proctor.models_cli import models_app
from proctor.serve_cli import mount as mount_service

app = typer.Typer(no_args_is_help=True, add_completion=False, help="proctor identity core")
bench_app = typer.Typer(
    no_args_is_help=True, help="CPU benchmarks, side by side with face_recognition"
)
app.add_typer(bench_app, name="bench")
app.add_typer(models_app, name="models")
app.add_typer(audit_app, name="audit")
app.add_typer(purge_app, name="purge")
app.command("calibrate")(calibrate)
mount_service(app, bench_app)
bench_app.command("liveness")(__import__("proctor.bench.liveness", fromlist=["_"]).liveness)
app.add_typer(cohort_app, name="cohort")
app.add_typer(demo_app, name="demo")
app.command("enroll")(__import__("proctor.reference_cli", fromlist=["_"]).enroll)
__import__("proctor.review_cli", fromlist=["_"]).mount(app, bench_app)
__import__("proctor.notifications_cli", fromlist=["_"]).mount(app)
__import__("proctor.cohort_cli", fromlist=["_"]).mount(cohort_app, bench_app)

console = make_console()

EXIT_MATCH, EXIT_NO_MATCH, EXIT_REJECTED, EXIT_UNCERTAIN = 0, 1, 2, 3


def _pipeline() -> Any:
    from proctor.bootstrap import build_pipeline

    return build_pipeline()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from exc


def _emit_error(err: ProctorError, as_json: bool, where: str) -> None:
    payload = {"verdict": "rejected", "error": err.to_dict(), "input": where}
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        console.print(f"[red]rejected[/red] {where}: {err.code} ({err.message})")


@app.command()
def verify(
    reference: Annotated[Path, typer.Argument(help="real-name reference photo")],
    probe: Annotated[Path, typer.Argument(help="snapshot to check")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Compare PROBE with REFERENCE as an entry capture, decided with the shipped operating
    policy. Exit 0 match, 1 no match, 2 rejected input, 3 uncertain (manual review)."""
    from proctor.config import ProctorSettings
    from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
    from proctor.operating_policy import load_operating_policy

    ref_bytes, probe_bytes = _read(reference), _read(probe)
    pipe = _pipeline()
    try:
        template = pipe.enroll([ref_bytes])
    except ProctorError as err:
        _emit_error(err, as_json, "reference")
        raise typer.Exit(EXIT_REJECTED) from None
    try:
        policy = load_operating_policy(ProctorSettings(), pipe.model_id)
        result = pipe.measure(template, probe_bytes)
    except ProctorError as err:
        _emit_error(err, as_json, "probe")
        raise typer.Exit(EXIT_REJECTED) from None
    decision = decide_capture(CaptureMeasurements.of_face(result), CaptureContext(), policy)
    verdict = str(decision.verdict)
    payload = {
        "verdict": verdict,
        "reasons": list(decision.reasons),
        "distance": result.reference_l2,
        "threshold": decision.threshold,
        "thresholds": dict(decision.thresholds),
        "policy_id": decision.policy_id,
        "model_id": result.model_id,
        "quality_reasons": list(result.quality_reasons),
        "face_count": result.face_count,
        "bbox_xyxy": list(result.bbox.as_tuple()) if result.bbox else None,
        "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
    }
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        colour = {"match": "green", "no_match": "yellow"}.get(verdict, "red")
        dist = "n/a" if result.reference_l2 is None else f"{result.reference_l2:.4f}"
        limits = " ".join(f"{k}={v:.4f}" for k, v in decision.thresholds.items()) or "-"
        console.print(
            f"[{colour}]{verdict}[/{colour}] distance={dist} thresholds: {limits} "
            f"model={result.model_id} policy={decision.policy_id} "
            f"reasons={','.join(decision.reasons) or '-'}"
        )
        console.print(
            "timings ms: " + " ".join(f"{k}={v:.1f}" for k, v in result.timings_ms.items())
        )
    exits = {"match": EXIT_MATCH, "no_match": EXIT_NO_MATCH, "uncertain": EXIT_UNCERTAIN}
    code = exits.get(verdict, EXIT_REJECTED)
    raise typer.Exit(code)


def _write_json(out: Path | None, data: dict[str, Any]) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@bench_app.command("speed")
def bench_speed(
    images: Annotated[Path, typer.Option("--images", help="folder of JPEG/PNG/WebP frames")],
    json_out: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    limit: Annotated[int | None, typer.Option(help="use the first N images")] = None,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline")] = True,
    burst: Annotated[
        Path | None,
        typer.Option(help="also time liveness bursts (30 frames / 2 s) cut from this clip"),
    ] = None,
) -> None:
    """Per-stage median and p95 on one core, and the ratio against face_recognition."""
    from proctor.bench.speed import list_images, run_speed

    files = list_images(images, limit)
    if not files:
        raise typer.BadParameter(f"no images in {images}")
    res = run_speed(_pipeline(), files, baseline=baseline)
    table = Table(
        title=f"proctor bench speed: {res['images']} images, core {res['core']}, "
        f"detector {res['detector']}"
    )
    cols = ("stage", "ours median ms", "ours p95 ms", "face_rec. median ms", "face_rec. p95 ms")
    for col in cols:
        table.add_column(col, justify="right")
    base = res.get("baseline_stages", {})
    base_of = {
        "decode": "decode",
        "detect": "detect",
        "embed": "landmarks+embed",
        "compare": "compare",
    }
    for stage, st in res["stages"].items():
        b = base.get(base_of.get(stage, ""), {})
        table.add_row(
            stage,
            f"{st['median']:.2f}",
            f"{st['p95']:.2f}",
            f"{b['median']:.2f}" if b else "",
            f"{b['p95']:.2f}" if b else "",
        )
    table.add_row(
        "[b]pipeline[/b]",
        f"{res['pipeline_ms_median']:.2f}",
        f"{res['pipeline_ms_p95']:.2f}",
        f"{res['baseline_ms_median']:.2f}" if "baseline_ms_median" in res else "",
        f"{res['baseline_ms_p95']:.2f}" if "baseline_ms_p95" in res else "",
    )
    console.print(table)
    console.print(
        f"detector {res['detector']}: pipeline p95 {res['pipeline_ms_p95']:.2f} ms = "
        f"{res['pipeline_p95_over_median']:.2f}× its median"
    )
    if "ratio" in res:
        console.print(
            f"ratio (face_recognition ÷ ours, medians): [b]{res['ratio']:.2f}×[/b] pipeline, "
            f"{res['embed_ratio']:.2f}× landmarks+embed; faces found: ours {res['faces_found']}, "
            f"face_recognition {res['baseline_faces_found']}"
        )
    e = res["embedding"]
    console.print(
        f"embedding ({e['runtime']}): {e['gflop_per_face']:.3f} GFLOP/face, "
        f"{e['achieved_gflops']:.1f} GFLOP/s achieved vs {e['matmul_ceiling_gflops']:.1f} "
        f"GFLOP/s float32 matmul on this core = {100 * e['fraction_of_ceiling']:.0f}%"
    )
    tp = res["throughput_img_s"]
    console.print(
        f"peak RSS {res['peak_rss_mb']:.0f} MB; throughput "
        + ", ".join(f"{w} worker(s) {v:.1f} img/s" for w, v in tp.items())
    )
    if burst is not None:
        from proctor.bench.burst_speed import run_burst_speed

        b = run_burst_speed(_pipeline(), burst)
        res["burst"] = b
        console.print(
            f"liveness burst ({b['frames_per_burst']} frames, {b['bursts']} bursts): median "
            f"{b['burst_ms_median']:.0f} ms vs {b['snapshot_ms_median']:.0f} ms per snapshot "
            f"= {b['burst_in_snapshots']:.1f} snapshots (p95 {b['burst_ms_p95']:.0f} ms, "
            f"landmarks {b['landmarks']}); stages {b['burst_stage_ms_median']}"
        )
    _write_json(json_out, res)
    if json_out is not None:
        from proctor.bench.chart import write_stage_chart

        png = write_stage_chart(res, json_out.with_suffix(".png"))
        console.print(f"wrote {json_out} and {png}")


@bench_app.command("accuracy")
def bench_accuracy(
    pairs: Annotated[Path | None, typer.Option("--pairs", help="tab-separated pair list")] = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="image root (default: pair file's folder)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="score face_recognition too")
    ] = False,
    threshold: Annotated[float | None, typer.Option(help="override the registry threshold")] = None,
    ref_jitters: Annotated[int, typer.Option(help="jitters for the reference side")] = 1,
    distances: Annotated[bool, typer.Option(help="include raw distances in the JSON")] = False,
    sessions: Annotated[
        Path | None,
        typer.Option("--sessions", help="images.tsv: simulate 3-strike sessions instead of pairs"),
    ] = None,
    population: Annotated[
        str, typer.Option(help="set column value, with --sessions")
    ] = "asian-dev",
    images: Annotated[
        Path | None,
        typer.Option(help="images.tsv naming the people (cohort; default: next to the pairs)"),
    ] = None,
    rotations: Annotated[
        int,
        typer.Option(
            help="with --sessions: each driver's first N images take turns as reference (0: all)"
        ),
    ] = 1,
    video: Annotated[
        Path | None,
        typer.Option(
            "--video", help="with --sessions: clips folder, sessions with the fused entry burst"
        ),
    ] = None,
    every_proxy: Annotated[
        bool,
        typer.Option(help="with --sessions: every other person plays proxy and swap (slow)"),
    ] = False,
) -> None:
    """FMR, FNMR, EER and FNMR at FMR 1% / 0.1%; algorithm and system figures.

    With ``--sessions``: genuine, proxy and swap sessions played under the shipped rules.
    """
    from proctor.bench.accuracy import run_accuracy, summary

    if sessions is not None:
        from proctor.bench.sessions import run_sessions

        res_s = run_sessions(
            _pipeline(),
            sessions,
            root or sessions.parent,
            population,
            rotations,
            video,
            every_proxy,
        )
        console.print_json(data=res_s)
        _write_json(json_out, res_s)
        return
    if pairs is None:
        raise typer.BadParameter("give --pairs FILE or --sessions images.tsv")

    from proctor.bench.policy import configured_normaliser
    from proctor.config import ProctorSettings

    pipe = _pipeline()
    tsv = images or pairs.parent / "images.tsv"
    normalise, policy, operating = configured_normaliser(
        ProctorSettings(), pipe, tsv if tsv.exists() else None
    )
    res = run_accuracy(
        pairs,
        root,
        pipe,
        threshold=threshold,
        baseline=baseline,
        ref_jitters=ref_jitters,
        normalise=normalise,
        policy=operating,
    )
    res["policy"] = policy
    show = summary(res)
    console.print(f"operating policy {policy['policy_id']}, cohort {policy['cohort']}")
    table = Table(title=f"proctor bench accuracy: {pairs.name}")
    table.add_column("figure")
    table.add_column("ours", justify="right")
    if baseline:
        table.add_column("face_recognition", justify="right")
    rows = [
        ("threshold", "threshold"),
        ("pairs scored", "pairs_scored"),
        ("FTA", "fta"),
        ("FMR (algorithm)", "fmr"),
        ("FNMR (algorithm)", "fnmr"),
        ("accuracy", "accuracy"),
        ("EER", "eer"),
    ]
    for label, key in rows:
        vals = [show[key]] + ([show["baseline"][key]] if baseline else [])
        table.add_row(label, *[_fmt(v) for v in vals])
    for k in ("0.01", "0.001"):
        vals = [show["fnmr_at_fmr"][k]] + ([show["baseline"]["fnmr_at_fmr"][k]] if baseline else [])
        table.add_row(f"FNMR at FMR {k}", *[_fmt(v) for v in vals])
    for k in ("fmr", "fnmr", "accuracy"):
        vals = [show["system"][k]] + ([show["baseline"]["system"][k]] if baseline else [])
        table.add_row(f"{k.upper() if k != 'accuracy' else k} (system)", *[_fmt(v) for v in vals])
    dec = show["decided"]
    table.add_row("FMR (decided, entry zones)", _fmt(dec["fmr"]))
    table.add_row("FNMR (decided: not passed)", _fmt(dec["fnmr"]))
    table.add_row("genuine uncertain (decided)", _fmt(dec["uncertain_genuine"]))
    console.print(table)
    _write_json(json_out, res if distances else show)


@bench_app.command("fairness")
def bench_fairness(
    images: Annotated[Path, typer.Option("--images", help="images.tsv: path, identity, set")],
    population: Annotated[
        list[str] | None, typer.Option("--population", help="set column value; repeatable")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    """FMR and FNMR per population at the one shipped configuration, and their FNMR ratio."""
    from proctor.bench.fairness import run_fairness
    from proctor.bench.policy import DEV_POPULATIONS

    res = run_fairness(_pipeline(), images, tuple(population or DEV_POPULATIONS))
    console.print_json(data=res)
    _write_json(json_out, res)


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def main() -> None:
    """Run the command line; bad input ends with one error line (or JSON), never a traceback."""
    try:
        rc = app(standalone_mode=False, prog_name="proctor")
    except ProctorError as err:  # anything not handled by a command
        print_error(err.code, err.message, err.details)
        sys.exit(EXIT_REJECTED)
    except typer.Abort:
        print_error("aborted", "aborted")
        sys.exit(EXIT_REJECTED)
    except typer.TyperException as err:  # unknown option or command, bad value, missing file
        if type(err).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as before
            getattr(err, "show")()  # noqa: B009
            sys.exit(EXIT_REJECTED)
        fmt = getattr(err, "format_message", None)
        print_error("bad_input", fmt() if callable(fmt) else str(err))
        sys.exit(EXIT_REJECTED)
    except (ValueError, OSError) as err:  # e.g. an unknown role, a short secret
        print_error("bad_input", str(err) or type(err).__name__)
        sys.exit(EXIT_REJECTED)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
