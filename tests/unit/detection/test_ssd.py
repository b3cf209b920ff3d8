"""BlazeFace decoding (pure numpy): anchors, box/keypoint decoding, weighted NMS;
and the FaceMesh → dlib point layouts and head pose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from proctor.detection.ssd import FULL_RANGE, SHORT_RANGE, RawFaces, decode, weighted_nms
from proctor.landmarks.align import DLIB5_FROM_MESH, five_points_from_mesh
from proctor.landmarks.ibug68 import IBUG68_FROM_MESH, head_pose_deg, to_ibug68


def test_anchor_layouts_match_the_models_outputs() -> None:
    short, full = SHORT_RANGE.anchors(), FULL_RANGE.anchors()
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # 16×16 grid, 2 anchors a cell, then 8×8 with 6 (three stride-16 layers × 2).
    assert np.allclose(short[0], short[1]) and np.allclose(short[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(short[512], [0.5 / 8, 0.5 / 8]) and np.allclose(short[512], short[517])
    assert not np.allclose(short[517], short[518])
    assert np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    assert short.min() > 0 and short.max() < 1


def _raw(n: int, hits: dict[int, tuple[float, list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    reg = np.zeros((1, n, 16), np.float32)
    logits = np.full((1, n, 1), -10.0, np.float32)
    for i, (logit, values) in hits.items():
        logits[0, i, 0] = logit
        reg[0, i, : len(values)] = values
    return reg, logits


def test_decode_offsets_are_input_pixels_from_the_anchor_centre() -> None:
    anchors = SHORT_RANGE.anchors()
    # Anchor 0 sits at (4, 4) px of the 128 px input; a 32 px box 12 px right of it.
    values = [12.0, 0.0, 32.0, 32.0] + [float(v) for v in range(12)]
    reg, logits = _raw(896, {0: (3.0, values)})
    faces = decode(reg, logits, SHORT_RANGE, anchors)
    assert len(faces) == 1
    assert faces.scores[0] == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert np.allclose(faces.boxes[0] * 128, [0.0, -12.0, 32.0, 20.0], atol=1e-4)
    assert np.allclose(faces.keypoints[0, 1] * 128, [4 + 2.0, 4 + 3.0], atol=1e-4)


def test_decode_drops_candidates_below_the_models_score_and_survives_huge_logits() -> None:
    reg, logits = _raw(896, {3: (-0.2, [0, 0, 10, 10]), 5: (1e6, [0, 0, 10, 10])})
    faces = decode(reg, logits, SHORT_RANGE, SHORT_RANGE.anchors())  # warnings are errors
    assert len(faces) == 1 and faces.scores[0] == pytest.approx(1.0)


def _faces(boxes: list[list[float]], scores: list[float]) -> RawFaces:
    b = np.asarray(boxes, np.float32)
    kp = np.repeat(((b[:, :2] + b[:, 2:]) / 2)[:, None, :], 6, axis=1)
    return RawFaces(b, kp, np.asarray(scores, np.float32))


def test_weighted_nms_blends_a_cluster_and_keeps_separate_faces() -> None:
    faces = _faces(
        [[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]], [0.9, 0.6, 0.7]
    )
    out = weighted_nms(faces, 0.3)
    assert len(out) == 2
    assert out.scores.tolist() == pytest.approx([0.9, 0.7])
    # Score-weighted: 0.1 + 0.02 × 0.6 / 1.5 = 0.108.
    assert out.boxes[0, 0] == pytest.approx(0.108)
    assert np.allclose(out.boxes[1], [0.6, 0.6, 0.8, 0.8])
    empty = RawFaces(
        np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32)
    )
    assert len(weighted_nms(empty, 0.3)) == 0


def test_point_layouts_are_complete_and_in_range() -> None:
    assert len(IBUG68_FROM_MESH) == 68 and len(set(IBUG68_FROM_MESH)) == 68
    assert all(0 <= i < 468 for i in IBUG68_FROM_MESH)
    mesh = np.arange(468 * 3, dtype=np.float64).reshape(468, 3)
    assert np.array_equal(to_ibug68(mesh)[36], mesh[33, :2])
    assert np.array_equal(five_points_from_mesh(mesh), mesh[list(DLIB5_FROM_MESH), :2])


def _head(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """A mesh whose four axis points (eye corners, forehead, chin) sit on a turned head.

    Camera frame: x right, y down, z away from the camera. Turning right (positive yaw)
    takes the image-right eye corner away from the camera."""
    mesh = np.zeros((468, 3))
    pts = {33: (-1.0, 0.0, 0.0), 263: (1.0, 0.0, 0.0), 10: (0.0, -1.5, 0.0), 152: (0.0, 1.5, 0.0)}
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    # Tipping down brings the forehead towards the camera (z falls) and the chin away.
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    for i, v in pts.items():
        mesh[i] = rx @ ry @ np.asarray(v)
    return mesh


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (30, 0), (-40, 0), (0, 20), (0, -15)])
def test_head_pose_from_the_mesh_recovers_yaw_and_pitch(yaw: float, pitch: float) -> None:
    got_yaw, got_pitch = head_pose_deg(_head(yaw, pitch))
    assert got_yaw == pytest.approx(yaw, abs=0.5)
    assert got_pitch == pytest.approx(pitch, abs=0.5)
