"""The fast detector path (320 px working copy, scaling up only when needed)
against full-size HOG with upsampling (face_recognition's default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.bench.pairs import read_pairs
from proctor.detection.dlib_hog import DlibHogDetector, HogPolicy, _iou
from proctor.detection.select import primary_face
from proctor.errors import ImageError
from proctor.imaging.decode import decode_image
from proctor.types import RGBImage

pytestmark = [pytest.mark.model, pytest.mark.data, pytest.mark.slow]

FULL_SIZE = HogPolicy(working_max_side_px=0, upsample=1, retry_upsample=1)


def _frames(face_data: Path, size: str, step: int) -> list[RGBImage]:
    d = face_data / "frames" / size
    files = sorted(d.glob("*.jpg"))[::step]
    if not files:
        pytest.skip(f"no frames in {d}")
    return [decode_image(f.read_bytes()).rgb for f in files]


def _agreement(images: list[RGBImage]) -> tuple[int, int]:
    fast, full = DlibHogDetector(), DlibHogDetector(FULL_SIZE)
    same = total = 0
    for img in images:
        ref = primary_face(full.detect(img))
        if ref is None:
            continue
        total += 1
        got = primary_face(fast.detect(img))
        same += got is not None and _iou(got.bbox, ref.bbox) >= 0.5
    return same, total


@pytest.mark.parametrize(
    ("size", "step"),
    [
        ("640x480", 1),
        # full-size HOG with upsampling costs ~0.3 s per 1280×720 frame: every 2nd
        # here, all of them under -m benchmark
        pytest.param(
            "1280x720",
            2,
            marks=pytest.mark.xfail(
                strict=False,
                reason="open (issue 11): below 97% on this subset; frame000 has two "
                "near-equal faces and the primary choice flips",
            ),
        ),
    ],
)
def test_fast_path_finds_the_same_primary_face(face_data: Path, size: str, step: int) -> None:
    same, total = _agreement(_frames(face_data, size, step))
    assert total >= 20
    assert same / total >= 0.97, (same, total)


@pytest.mark.benchmark
def test_fast_path_on_every_1280_frame(face_data: Path) -> None:
    same, total = _agreement(_frames(face_data, "1280x720", 1))
    assert same / total >= 0.97, (same, total)


def test_policy_scales_up_only_after_the_working_copy() -> None:
    p = HogPolicy()
    assert p.attempts(640) == [(320, 0), (640, 0), (640, 1)]
    assert p.attempts(1280) == [(320, 0), (640, 0), (1280, 0), (1280, 1)]
    assert p.attempts(250) == [(250, 0), (250, 1)]  # small portraits: unchanged


def test_failure_to_acquire_does_not_rise_on_dev_pairs(face_data: Path) -> None:
    """Images with no face found: the fast path against full-size HOG with upsampling."""
    fast, full = DlibHogDetector(), DlibHogDetector(FULL_SIZE)
    missed_fast = missed_full = 0
    for name in ("asian_dev_pairs.tsv", "lfw_dev_pairs.tsv"):
        paths = sorted({x for p in read_pairs(face_data / name) for x in (p.a, p.b)})
        for rel in paths[:: 2 if name.startswith("lfw") else 1]:
            try:
                img = decode_image((face_data / rel).read_bytes()).rgb
            except ImageError:
                continue
            missed_fast += not fast.detect(img)
            missed_full += not full.detect(img)
    assert missed_fast <= missed_full, (missed_fast, missed_full)
