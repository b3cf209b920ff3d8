"""``proctor serve``, ``proctor token issue`` and ``proctor bench load``.

Mounted on the main command line by :func:`mount`. ``serve`` execs uvicorn
as its own program (loading ``api.main:create_app``), so ``proctor`` never imports the
web stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

token_app = typer.Typer(no_args_is_help=True, help="issue signed API tokens (dev/ops)")


def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers_note: Annotated[
        bool, typer.Option("--log-access/--no-log-access", help="uvicorn access log")
    ] = True,
) -> None:
    """Start the HTTP service (settings from PROCTOR_* environment variables)."""
    import os
    import sys

    from proctor.config import ProctorSettings

    if ProctorSettings().dev_clock and host not in ("127.0.0.1", "::1", "localhost"):
        typer.echo("PROCTOR_DEV_CLOCK is for demos and tests on loopback only", err=True)
        raise typer.Exit(2)
    from proctor.serve_guard import DevTokensOnPublicBind, refuse_public_dev_tokens

    try:
        refuse_public_dev_tokens(ProctorSettings().dev_token_endpoint, host)
    except DevTokensOnPublicBind as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    os.environ["PROCTOR_BIND_HOST"] = host
    # uvicorn runs as its own program: proctor never imports the web stack (import-linter).
    argv = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
    argv += ["--host", host, "--port", str(port), "--timeout-graceful-shutdown", "10"]
    if not workers_note:
        argv.append("--no-access-log")
    os.execv(sys.executable, argv)


@token_app.command("issue")
def issue(
    sub: Annotated[str, typer.Option("--sub", help="subject: driver id or staff id")],
    role: Annotated[str, typer.Option("--role", help="driver|reviewer|adjudicator|auditor|admin")],
    ttl_s: Annotated[int, typer.Option("--ttl", help="lifetime in seconds")] = 3600,
) -> None:
    """Print a token signed with PROCTOR_TOKEN_SECRET (needs the secret: an operator tool)."""
    from proctor.config import ProctorSettings

    settings = ProctorSettings()
    if settings.token_secret is None:
        raise typer.BadParameter("set PROCTOR_TOKEN_SECRET to the service's secret")
    from proctor.tokens import issue_token

    typer.echo(issue_token(settings.token_secret.get_secret_value().encode(), sub, role, ttl_s))


def load(
    url: Annotated[str, typer.Option(help="base URL of a running service")] = (
        "http://127.0.0.1:8000"
    ),
    sessions: Annotated[int, typer.Option(help="concurrent simulated drivers")] = 4,
    duration: Annotated[float, typer.Option(help="seconds to run")] = 30.0,
    images: Annotated[Path, typer.Option(help="folder with obama*.jpg")] = Path(
        "fixtures/images/downloaded"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    overhead: Annotated[
        Path | None,
        typer.Option(
            help="a webcam clip (or a folder of JPEG frames): medians of the HTTP snapshot "
            "path, the same use case in-process and the bare pipeline, instead of load"
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="snapshots for --overhead")] = 60,
    bursts: Annotated[
        bool,
        typer.Option(
            "--bursts",
            help="answer action challenges with real blink bursts from the labelled clips "
            "(start the server with PROCTOR_LIVENESS_ACTIONS=blink PROCTOR_LIVENESS_MAX_ACTIONS=1)",
        ),
    ] = False,
) -> None:
    """Drive simulated study/exam sessions with real snapshots against a running server."""
    import json

    from proctor.bench.load import LoadConfig, run_load, run_overhead

    if overhead is not None:
        report = run_overhead(url, overhead, samples)
    else:
        report = run_load(LoadConfig(url, sessions, duration, images, bursts))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for k, v in report.items():
        typer.echo(f"{k:>24}: {v}")


def mount(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``serve``, ``token issue`` and ``bench load`` to the main command line."""
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")
    bench_app.command("load")(load)
