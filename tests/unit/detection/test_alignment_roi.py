"""The alignment square: MediaPipe's detection square moved to the mesh's own (pure)."""

from __future__ import annotations

import math

import pytest

from proctor.landmarks.facemesh import roi_from_detection
from proctor.landmarks.mesh_align import ROI_SIZE_FIT, ROI_UP_FIT, alignment_roi
from proctor.types import BBox, Detection


def _det(angle_deg: float) -> Detection:
    a = math.radians(angle_deg)
    eyes = ((100.0, 100.0), (100.0 + 40.0 * math.cos(a), 100.0 + 40.0 * math.sin(a)))
    return Detection(
        BBox(80, 80, 180, 180), 0.9, keypoints=eyes, raw_box=(80.0, 80.0, 180.0, 180.0)
    )


@pytest.mark.parametrize("angle", [0.0, 15.0, -30.0])
def test_the_square_grows_and_moves_towards_the_top_of_the_face(angle: float) -> None:
    det = _det(angle)
    base, fit = roi_from_detection(det), alignment_roi(det)
    assert fit.size == pytest.approx(base.size * ROI_SIZE_FIT)
    assert fit.angle == base.angle
    _, v = base.axes()  # v points from the forehead to the chin
    shift = ((fit.cx - base.cx) * v[0] + (fit.cy - base.cy) * v[1]) / base.size
    assert shift == pytest.approx(-ROI_UP_FIT)
    u, _ = base.axes()
    assert (fit.cx - base.cx) * u[0] + (fit.cy - base.cy) * u[1] == pytest.approx(0.0, abs=1e-9)


def test_a_box_without_keypoints_keeps_mediapipes_square() -> None:
    det = Detection(BBox(80, 80, 180, 180), 0.9)
    assert alignment_roi(det) == roi_from_detection(det)
