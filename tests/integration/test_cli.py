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
