"""`proctor reverify` and `proctor bench reverify`: batch re-verification of review cases.

Mounted from ``proctor.cli`` with one line. Reads the database and evidence store of
the service settings (``PROCTOR_DATA_DIR`` / ``PROCTOR_DATABASE_URL``); prints the job
summary and, with ``--json``, every case report (distances and reasons, no pixels).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from proctor.cli_console import make_console

console = make_console(stderr=True)


def reverify(
    case: Annotated[list[str] | None, typer.Option("--case", help="case id (repeatable)")] = None,
    since: Annotated[str | None, typer.Option(help="received at or after (ISO datetime)")] = None,
    until: Annotated[str | None, typer.Option(help="received before (ISO datetime)")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="case status")] = None,
    engine: Annotated[str, typer.Option(help="local | ray")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address")] = None,
    workers: Annotated[int, typer.Option(help="worker processes / actors")] = 2,
    jitters: Annotated[int, typer.Option(help="jittered copies per snapshot")] = 5,
    job_id: Annotated[
        str | None, typer.Option("--job-id", help="new job id, or one to resume")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the case reports as JSON")] = False,
) -> None:
    """Re-run every snapshot of the selected cases through the review profile."""
    from proctor.clock import SystemClock
    from proctor.config import ProctorSettings
    from proctor.review.batch import BatchJob, job_output
    from proctor.review.engines import make_engine
    from proctor.review.ports import Selection
    from proctor.review.profile import ReviewProfile
    from proctor.review.zones import review_zones
    from proctor.storage.review_repo import review_uow_factory
    from proctor.storage.uow import open_storage

    s = ProctorSettings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    sel = Selection(
        case_ids=tuple(case or ()),
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        statuses=tuple(status or ()),
    )
    models_dir = str(s.models_dir) if s.models_dir else None
    profile = ReviewProfile(jitters=jitters, models_dir=models_dir)
    eng = make_engine(engine, profile, workers, address)
    with Progress(
        TextColumn("reverify"),
        BarColumn(),
        TaskProgressColumn(),
        console=console,
        disable=as_json and not console.is_terminal,
    ) as bar:
        task = bar.add_task("cases", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        job = BatchJob(
            lambda: review_uow_factory(storage),
            eng,
            SystemClock(),
            review_zones(s.model_id, s.operating_population, models_dir=s.models_dir),
            progress=tick,
        )
        try:
            jid = job.start(sel, job_id)
            state = job.run(jid)
        finally:
            eng.close()
    out = job_output(lambda: review_uow_factory(storage), jid)
    rate = job.images / job.seconds if job.seconds else 0.0
    out["summary"] = {
        **state.summary,
        "this_run": {
            "images": job.images,
            "seconds": round(job.seconds, 3),
            "images_per_s_per_worker": round(rate / eng.workers, 3),
        },
    }
    if as_json:
        print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    else:
        console.print(f"job {jid}: {state.status} {state.done}/{state.total}")
        console.print(json.dumps(out["summary"], ensure_ascii=False, sort_keys=True))


def bench_reverify(
    images: Annotated[Path, typer.Argument(help="folder of face crops or photos (jpg)")],
    workers: Annotated[str, typer.Option(help="comma-separated worker counts")] = "1,2",
    limit: Annotated[int, typer.Option(help="images per run")] = 24,
    jitters: Annotated[int, typer.Option()] = 5,
) -> None:
    """Review-profile throughput in images/s per core at each worker count."""
    from proctor.review.engines import LocalEngine
    from proctor.review.profile import ReviewProfile

    files = sorted(p for p in images.rglob("*.jpg"))[:limit]
    tasks = [(p.name, p.read_bytes()) for p in files]
    base = None
    for n in (int(x) for x in workers.split(",")):
        eng = LocalEngine(ReviewProfile(jitters=jitters), n)
        eng.run(tasks[: n * 2])  # warm every worker
        t0 = time.perf_counter()
        eng.run(tasks)
        dt = time.perf_counter() - t0
        eng.close()
        per_core = len(tasks) / dt / n
        base = base or per_core
        print(
            json.dumps(
                {
                    "workers": n,
                    "images": len(tasks),
                    "seconds": round(dt, 2),
                    "images_per_s": round(len(tasks) / dt, 3),
                    "images_per_s_per_core": round(per_core, 3),
                    "scaling_efficiency": round(per_core / base, 3),
                    "cpus": os.cpu_count(),
                }
            )
        )


def mount(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("reverify")(reverify)
    bench_app.command("reverify")(bench_reverify)
