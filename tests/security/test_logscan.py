"""The AL3 scanner has teeth: planted image bytes, base64 images, embeddings and ID numbers
are found; ordinary service log lines are not."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import numpy as np
import pytest

from .logscan import LOG_FILE, scan_text

FACE = Path(__file__).resolve().parents[2] / "fixtures" / "images" / "downloaded" / "obama.jpg"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (repr(b"\xff\xd8\xff\xe0\x00\x10JFIF"), "jpeg magic"),
        ("\xff\xd8\xff\xe0", "jpeg magic"),
        (repr(b"\x89PNG\r\n"), "png magic"),
        ("photo=data:image/jpeg;base64,/9j/4AAQSkZJRg==", "base64 image"),
        ("blob=" + base64.b64encode(bytes(range(256)) * 3).decode(), "long base64 run"),
        (
            str(np.random.default_rng(0).normal(size=128).round(6).tolist()),
            "embedding-like float vector",
        ),
        ("driver id_number=11010519491231002X", "ID number"),
    ],
)
def test_planted_content_is_found(text: str, kind: str) -> None:
    assert kind in {k for _, k, _ in scan_text(text, "t")}


def test_ordinary_log_lines_are_clean() -> None:
    text = (
        "proctor.api INFO request_id=3f2a9c1e0b7d4e5f8a9b0c1d2e3f4a5b status=200 "
        "route=/v1/sessions\n"
        "proctor.imaging WARNING security_event image_refused code=image_too_large "
        "details={'width': 4000, 'height': 4000, 'max_pixels': 16000000}\n"
        "distance=0.4123 threshold=0.43 session=20260301123456789 phone=13800138000\n"
        "id=110105194912310021\n"  # wrong check digit: not an ID number
    )
    assert scan_text(text, "t") == []


def test_the_plugin_sees_this_suites_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A record logged by a proctor logger at INFO reaches the file the scan reads."""
    marker = "al3-plugin-probe-7f3c"
    logging.getLogger("proctor.imaging").info("probe %s", marker)
    for h in logging.getLogger().handlers:
        h.flush()
    assert marker in LOG_FILE.read_text()
    # the face file itself would be caught if it were ever logged
    assert scan_text(repr(FACE.read_bytes()[:64]), "t")
