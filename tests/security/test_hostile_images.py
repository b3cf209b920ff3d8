"""SECURITY.md I1, I2, I4, I5, I6 at the decode layer: every hostile file is refused with its
stable code (or accepted and rebuilt, for valid images), within 1 s and under 100 MB of
peak RSS growth, and no decoder starts a process. Decoding runs in a subprocess so that
a crash, a hang or a memory blow-up cannot hide inside the test process.

Writes the per-file figures to var/artifacts/security/hostile_images.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from proctor.imaging.decode import decode_image

from .artifacts import write_table
from .corpus import ACCEPTED, Sample, oriented_faces

PROBE = Path(__file__).with_name("decode_probe.py")
MAX_SECONDS = 1.0
MAX_RSS_GROWTH = 100 * 1024 * 1024


def _peak_resettable() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_hostile_files_are_refused_fast_and_small(hostile: list[Sample], hostile_dir: Path) -> None:
    if not _peak_resettable():
        pytest.skip("needs /proc/self/clear_refs (Linux >= 4.0) to measure peak RSS per file")
    run = subprocess.run(
        [sys.executable, str(PROBE), str(hostile_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OPENCV_LOG_LEVEL": "ERROR"},
        check=False,
    )
    assert run.returncode == 0, f"decoder process died: rc={run.returncode}\n{run.stderr[-2000:]}"
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) == len(hostile), "the worker stopped early"
    rows, failures = [], []
    for sample, r in zip(hostile, results, strict=True):
        ms, mb = r["seconds"] * 1000, r["rss_growth"] / 2**20
        ok = (
            r["outcome"] in sample.expect
            and r["stable"]
            and r["seconds"] < MAX_SECONDS
            and r["rss_growth"] < MAX_RSS_GROWTH
            and r["spawns"] == 0
        )
        rows.append(
            (
                sample.row,
                sample.name,
                f"{r['bytes']:,}",
                r["outcome"],
                f"{ms:.1f}",
                f"{mb:.1f}",
                r["spawns"],
                "ok" if ok else "FAIL",
            )
        )
        if not ok:
            failures.append((sample.name, r))
    write_table(
        "hostile_images.md",
        "Hostile images at the decode layer (best of 2 runs; peak RSS growth per file)",
        ("row", "file", "bytes", "outcome", "ms", "peak RSS growth MB", "spawns", "verdict"),
        rows,
    )
    assert not failures, failures
    # the corpus has teeth: every refusal code and every row is exercised
    outcomes = {r["outcome"] for r in results}
    assert outcomes >= {
        ACCEPTED,
        "image_too_large",
        "unsupported_format",
        "corrupt_image",
        "empty_image",
    }


def test_every_exif_orientation_gives_the_upright_pixels() -> None:
    for orientation, (data, upright) in oriented_faces().items():
        out = decode_image(data)
        assert out.orientation == orientation
        assert out.rgb.shape == upright.shape, orientation
        diff = np.abs(out.rgb.astype(np.int16) - upright.astype(np.int16)).mean()
        assert diff < 3.0, (orientation, diff)


@pytest.mark.model
def test_every_exif_orientation_matches_like_the_upright_photo(pipeline: object) -> None:
    """I4: the match distance of each orientation equals the upright file's (± model noise)."""
    from proctor.pipeline import Pipeline

    assert isinstance(pipeline, Pipeline)
    photos = oriented_faces()
    template = pipeline.enroll(
        [
            Path(__file__)
            .resolve()
            .parents[2]
            .joinpath("fixtures/images/downloaded/obama2.jpg")
            .read_bytes()
        ]
    )
    upright = pipeline.measure(template, photos[1][0]).reference_l2
    assert upright is not None
    for orientation, (data, _) in photos.items():
        d = pipeline.measure(template, data).reference_l2
        assert d is not None and abs(d - upright) < 0.02, (orientation, d, upright)
