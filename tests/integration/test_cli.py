"""`proctor verify` exit codes and JSON, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def _verify(ref: Path, probe: Path) -> tuple[int, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "proctor", "verify", str(ref), str(probe), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def test_verify_exit_codes(portraits: Path, generated: Path) -> None:
    code, body = _verify(portraits / "obama.jpg", portraits / "obama2.jpg")
    assert (code, body["verdict"]) == (0, "match")
    code, body = _verify(portraits / "obama.jpg", portraits / "biden.jpg")
    assert (code, body["verdict"]) == (1, "no_match")
    code, body = _verify(portraits / "obama.jpg", generated / "two_faces.jpg")
    assert (code, body["verdict"], body["reasons"]) == (2, "rejected", ["multiple_faces"])
    code, body = _verify(portraits / "obama.jpg", generated / "huge_header.png")
    assert code == 2
    assert body["error"]["code"] == "image_too_large"  # type: ignore[index]


def _run(*args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PROCTOR_TOKEN_SECRET"}
    if secret is not None:
        env["PROCTOR_TOKEN_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "proctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "secret", "needle"),
    [
        (("token", "issue", "--sub", "a", "--role", "pilot"), "0123456789abcdef0", "pilot"),
        (("token", "issue", "--sub", "a", "--role", "driver"), "short", "16 bytes"),
        (("token", "issue", "--sub", "a", "--role", "driver"), "", "16 bytes"),
        (("verify", "/no/such/ref.jpg", "/no/such/probe.jpg"), None, "cannot read"),
        (("no-such-command",), None, "no-such-command"),
    ],
)
def test_bad_input_is_one_error_line_never_a_traceback(
    args: tuple[str, ...], secret: str | None, needle: str
) -> None:
    out = _run(*args, secret=secret)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error bad_input:") and needle in lines[0]


def test_json_errors_are_json(portraits: Path) -> None:
    out = _run("verify", "/no/such/ref.jpg", str(portraits / "obama2.jpg"), "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    body = json.loads(out.stdout)
    assert body["error"]["code"] == "bad_input" and "cannot read" in body["error"]["message"]


def test_piped_output_is_not_wrapped_and_names_the_policy(portraits: Path) -> None:
    out = _run("verify", str(portraits / "obama.jpg"), str(portraits / "obama2.jpg"))
    first = out.stdout.splitlines()[0]
    assert len(first) > 80 and "reference_match_l2=" in first and "policy=" in first
    code, body = _verify(portraits / "obama.jpg", portraits / "obama2.jpg")
    assert code == 0 and body["thresholds"]
    assert str(body["policy_id"]).startswith("dlib_resnet_v1_q8@")
