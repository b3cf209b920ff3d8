"""The fast detector path (320 px working copy, scaling up only when needed)
against full-size HOG with upsampling (face_recognition's default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.bench.pairs import read_pairs
from proctor.detection.dlib_hog import DlibHogDetector, HogPolicy, _iou
from proctor.detection.select import extra_people, primary_face
from proctor.errors import ImageError
from proctor.imaging.decode import decode_image
from proctor.quality.policy import QualityPolicy
from proctor.types import RGBImage

pytestmark = [pytest.mark.model, pytest.mark.data, pytest.mark.slow]

FULL_SIZE = HogPolicy(working_max_side_px=0, upsample=1, retry_upsample=1)


def _frames(face_data: Path, size: str, step: int) -> list[RGBImage]:
    d = face_data / "frames" / size
    files = sorted(d.glob("*.jpg"))[::step]
    if not files:
        pytest.skip(f"no frames in {d}")
    return [decode_image(f.read_bytes()).rgb for f in files]


EXTRA_RATIO = QualityPolicy.snapshot().extra_face_width_ratio


def _agreement(images: list[RGBImage]) -> tuple[int, int]:
    """Frames where the fast path reaches the same primary face as full-size HOG.

    When full-size HOG sees a second person large enough to reject the frame as
    ``multiple_faces``, "the primary face" is not defined by size alone (two
    near-equal faces); there the paths agree when the fast path rejects it too.
    """
    fast, full = DlibHogDetector(), DlibHogDetector(FULL_SIZE)
    same = total = 0
    for img in images:
        full_dets = full.detect(img)
        ref = primary_face(full_dets)
        if ref is None:
            continue
        total += 1
        dets = fast.detect(img)
        got = primary_face(dets)
        if got is None:
            continue
        if _iou(got.bbox, ref.bbox) >= 0.5:
            same += 1
        elif extra_people(full_dets, ref, EXTRA_RATIO):
            more = fast.detect_down_to(img, int(got.bbox.width * EXTRA_RATIO), dets)
            same += bool(extra_people(more, got, EXTRA_RATIO))
    return same, total


@pytest.mark.parametrize(
    ("size", "step"),
    [
        ("640x480", 1),
        # full-size HOG with upsampling costs ~0.3 s per 1280×720 frame: every 2nd
        # here, all of them under -m benchmark
        ("1280x720", 2),
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
    # a huge image is never searched above max_search_side_px (no multi-second HOG)
    assert p.attempts(6000) == [(320, 0), (640, 0), (1280, 0), (1280, 1)]


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
