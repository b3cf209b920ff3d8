"""The README walkthrough, executable (issue 18 item 7): ``proctor serve`` started on a free
port, ``proctor demo walkthrough --base-url`` run against it; it must exit 0 (point removed,
proxied driver blacklisted). The README's curl block is checked against the routes it calls.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import IMAGES

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "walkthrough-secret-0123456789abcdef"
ID = re.compile(r"^(\$\w+|[A-Z]+|[0-9a-f]{8,}|\d+|alice)$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def route(method: str, path: str) -> tuple[str, str]:
    path = path.split("?", 1)[0]
    parts = ["{id}" if ID.match(p) else p for p in path.split("/")]
    return method, "/".join(parts)


def readme_routes() -> set[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## HTTP service: a curl session", 1)[1].split("```sh", 1)[1]
    block = block.split("```", 1)[0].replace("\\\n", " ")
    found = set()
    for line in block.splitlines():
        line = line.split(" #", 1)[0]
        for m in re.finditer(r"\$B(/[^\s\"');]*)", line):
            if "curl" not in line:
                continue
            explicit = re.search(r"-X (\w+)", line)
            posting = " -d " in line or "--data-binary" in line
            method = explicit.group(1) if explicit else ("POST" if posting else "GET")
            found.add(route(method, m.group(1).rstrip('"')))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> object:
    if not (IMAGES / "obama.jpg").exists():
        pytest.skip("fixture portraits missing (python -m proctor.fixtures_setup)")
    port = _free_port()
    env = {
        **os.environ,
        "PROCTOR_DATA_DIR": str(tmp_path_factory.mktemp("walk")),
        "PROCTOR_TOKEN_SECRET": SECRET,
        "PROCTOR_DEV_CLOCK": "true",
        "PROCTOR_LIVENESS_BURSTS": "false",
        "PROCTOR_CPU_WORKERS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROCTOR_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "proctor.cli", "serve", "--port", str(port), "--no-log-access"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("proctor serve did not become ready")
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_walkthrough_exits_zero_and_the_readme_shows_its_routes(server: str) -> None:
    env = {**os.environ, "PROCTOR_TOKEN_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "proctor.cli", "demo", "walkthrough", "--base-url", server]
    done = subprocess.run(
        [*cmd, "--curl"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"ok": true' in done.stdout
    lines = re.findall(r"^(GET|POST|PUT) (\S+) -> \d+$", done.stdout, re.MULTILINE)
    called = {route(m, p) for m, p in lines}
    documented = readme_routes()
    assert called - documented == set(), f"README lacks {sorted(called - documented)}"
    assert documented - called == set(), f"README has more: {sorted(documented - called)}"
