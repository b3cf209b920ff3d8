"""Consoles and error output of the ``proctor`` command line.

Piped or redirected output is not wrapped at 80 columns (Rich's default when there is
no terminal): lines keep their length so that scripts can parse them. Bad input never
shows a Python traceback: one line on stderr, or with ``--json`` one JSON error object
``{"error": {"code", "message", "details"}}`` on stdout, and exit status 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

PIPED_WIDTH = 4096  # wide enough that no line of ours is wrapped


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)


def print_error(code: str, message: str, details: dict[str, Any] | None = None) -> None:
    """The error as JSON on stdout (``--json`` given) or as one line on stderr."""
    if "--json" in sys.argv[1:]:
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error {code}: {message}\n")
