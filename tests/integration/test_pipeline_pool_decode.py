"""PipelinePool: the pre-claim decode's pixels travel explicitly to the comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.errors import ImageError
from proctor.pipeline import Pipeline
from proctor.pipeline_pool import PipelinePool
from proctor.types import DecodedImage

pytestmark = [pytest.mark.model]


def test_checked_pixels_are_measured_without_a_second_decode(
    pipeline: Pipeline, portraits: Path
) -> None:
    pool = PipelinePool([pipeline])
    template = pipeline.enroll([(portraits / "obama.jpg").read_bytes()])
    probe = (portraits / "obama2.jpg").read_bytes()
    plain = pool.measure(template, probe)

    decoded = pool.check_image(probe)
    assert isinstance(decoded, DecodedImage) and decoded.source is probe
    reused = pool.measure(template, decoded)
    assert reused.reference_l2 == pytest.approx(plain.reference_l2, abs=1e-9)
    assert reused.pixel_sha256 == plain.pixel_sha256
    assert reused.timings_ms["decode"] == decoded.decode_ms  # the check's decode, reported

    # the pool keeps nothing between calls: other bytes are decoded afresh
    other = pool.measure(template, (portraits / "obama3.jpg").read_bytes())
    assert other.pixel_sha256 != plain.pixel_sha256
    assert not any(k.startswith("_checked") for k in vars(pool))

    with pytest.raises(ImageError):
        pool.check_image(b"\xff\xd8\xff" + b"\x00" * 64)
