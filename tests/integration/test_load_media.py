"""The media of ``proctor bench load`` (issue 5): what its simulated drivers show the camera.

Real pipeline, real clips from PROCTOR_VIDEO_DATA (skipped when absent), real portraits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from proctor.bench.liveness import video_root
from proctor.bench.load_media import BURST_FRAMES, blink_personas, photo_persona
from proctor.imaging.decode import decode_image
from proctor.pipeline import Pipeline
from proctor.testing.real import decide_alone

pytestmark = [pytest.mark.model]


def test_photo_persona_has_four_distinct_snapshots_of_the_enrolled_man(
    pipeline: Pipeline, portraits: Path
) -> None:
    p = photo_persona(portraits)
    template = pipeline.enroll([p.reference])
    assert len({hashlib.sha256(s).digest() for s in p.snapshots}) == len(p.snapshots) == 4
    assert all(decide_alone(pipeline.measure(template, s)).passed for s in p.snapshots)


def test_blink_personas_enrol_and_their_bursts_are_whole(pipeline: Pipeline) -> None:
    root = video_root()
    if not root.is_dir():
        pytest.skip(f"shared video data not found at {root} (set PROCTOR_VIDEO_DATA)")
    personas = blink_personas(pipeline, root)
    assert len(personas) >= 3  # several people, so identities differ across the load
    for p in personas:
        template = pipeline.enroll([p.reference])
        assert len(p.bursts) >= 2  # entry and exam start of one cycle
        assert all(len(b) == BURST_FRAMES for b in p.bursts)
        assert len({hashlib.sha256(b[0]).digest() for b in p.bursts}) == len(p.bursts)
        assert decode_image(p.bursts[0][0]).rgb.ndim == 3
        # the snapshots are other moments of the same person: they match the reference
        matched = sum(decide_alone(pipeline.measure(template, s)).passed for s in p.snapshots)
        assert matched >= len(p.snapshots) - 1, p.name
