"""``proctor demo walkthrough --base-url URL``: the README's flow against a running server."""

from __future__ import annotations

import os
from typing import Annotated

import typer

demo_app = typer.Typer(no_args_is_help=True, help="demo tooling")


@demo_app.command("walkthrough")
def walkthrough(
    base_url: Annotated[str, typer.Option(help="the running service")] = "http://127.0.0.1:8000",
    driver: Annotated[str, typer.Option(help="driver id to use")] = "alice",
    curl: Annotated[bool, typer.Option(help="print every request")] = False,
) -> None:
    """Consent, enrolment, apply, study with captures, exam, −1 point, a proxy's session, flag,
    review, blacklist, appeal. Exit 0 only when the point is removed and the proxied driver is
    blacklisted. Needs PROCTOR_TOKEN_SECRET (the server's), and a server started with
    PROCTOR_DEV_CLOCK=true PROCTOR_LIVENESS_BURSTS=false."""
    from proctor.demo.walkthrough import main

    secret = os.environ.get("PROCTOR_TOKEN_SECRET")
    if not secret:
        typer.echo("PROCTOR_TOKEN_SECRET must be the server's token secret", err=True)
        raise typer.Exit(2)
    raise typer.Exit(main(base_url, secret, driver, curl))
