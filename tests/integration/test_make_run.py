"""``make run PORT=…`` (and ``PORT=… make run``) serves on that port (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_make_run_honours_port(how: str) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = dict(os.environ)
    args = ["make", "-n", "run"]
    if how == "argument":
        args.append("PORT=8123")
    else:
        env["PORT"] = "8123"
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    serve = [line for line in out.stdout.splitlines() if "proctor serve" in line]
    assert serve and "--port 8123" in serve[-1], out.stdout
