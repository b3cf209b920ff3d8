"""PipelinePool: the pre-claim decode check's pixels are reused by the same thread's compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.bootstrap import PipelinePool
from proctor.errors import ImageError
from proctor.pipeline import Pipeline

pytestmark = [pytest.mark.model]


def test_checked_pixels_are_compared_once_and_released(pipeline: Pipeline, portraits: Path) -> None:
    pool = PipelinePool([pipeline])
    template = pipeline.enroll([(portraits / "obama.jpg").read_bytes()])
    probe = (portraits / "obama2.jpg").read_bytes()
    plain = pool.verify(template, probe)

    pool.check_image(probe)
    reused = pool.verify(template, probe)
    assert reused.distance == pytest.approx(plain.distance, abs=1e-9)
    assert reused.pixel_sha256 == plain.pixel_sha256 and reused.verdict is plain.verdict
    assert "decode" in reused.timings_ms  # the check's decode time is reported with it

    # a different upload object is decoded afresh, never confused with the checked one
    other = (portraits / "obama3.jpg").read_bytes()
    pool.check_image(probe)
    fresh = pool.verify(template, other)
    assert fresh.pixel_sha256 != plain.pixel_sha256

    pool.check_image(probe)
    pool.release_image()
    assert getattr(pool._checked, "image", None) is None

    with pytest.raises(ImageError):
        pool.check_image(b"\xff\xd8\xff" + b"\x00" * 64)
    assert getattr(pool._checked, "image", None) is None
