"""The iris model's eye crops (pure geometry): MediaPipe's square, mirrored for one eye."""

from __future__ import annotations

import math

import numpy as np

from proctor.landmarks.iris import EYE_CONTOUR_FROM_MESH, INPUT_PX, ROI_SCALE, eye_crop


def _mesh(
    left: tuple[tuple[float, float], tuple[float, float]],
    right: tuple[tuple[float, float], tuple[float, float]],
) -> np.ndarray:
    m = np.zeros((468, 3))
    (m[33, :2], m[133, :2]), (m[362, :2], m[263, :2]) = left, right
    return m


def _to_crop(to_frame: np.ndarray, xy: np.ndarray) -> np.ndarray:
    a, t = to_frame[:, :2], to_frame[:, 2]
    return np.linalg.solve(a, xy - t)


def test_the_square_is_centred_on_the_eye_and_scaled_from_its_corners() -> None:
    mesh = _mesh(((100.0, 200.0), (140.0, 200.0)), ((200.0, 200.0), (240.0, 200.0)))
    c = eye_crop(mesh, 0)
    # the corners' midpoint is the crop's centre; each corner 32 / 2.3 px from it
    assert np.allclose(_to_crop(c.to_frame, np.array([120.0, 200.0])), [32.0, 32.0])
    half = INPUT_PX / 2.0 / ROI_SCALE
    assert np.allclose(_to_crop(c.to_frame, np.array([100.0, 200.0])), [32.0 - half, 32.0])
    assert np.allclose(_to_crop(c.to_frame, np.array([140.0, 200.0])), [32.0 + half, 32.0])


def test_the_other_eye_is_mirrored() -> None:
    mesh = _mesh(((100.0, 200.0), (140.0, 200.0)), ((200.0, 200.0), (240.0, 200.0)))
    c = eye_crop(mesh, 1)
    half = INPUT_PX / 2.0 / ROI_SCALE
    # its outer corner (263, the image's right) lands where the model expects an outer
    # corner: on the crop's left, as 33 does for the model's own eye
    assert np.allclose(_to_crop(c.to_frame, np.array([240.0, 200.0])), [32.0 - half, 32.0])
    assert np.allclose(_to_crop(c.to_frame, np.array([200.0, 200.0])), [32.0 + half, 32.0])
    # and the lid mapping starts at each eye's outer corner
    assert EYE_CONTOUR_FROM_MESH[0][0] == 33 and EYE_CONTOUR_FROM_MESH[1][0] == 263


def test_the_square_turns_with_the_eye() -> None:
    angle = math.radians(20.0)
    a = np.array([100.0, 200.0])
    b = a + 40.0 * np.array([math.cos(angle), math.sin(angle)])
    mesh = _mesh((tuple(a), tuple(b)), ((300.0, 200.0), (340.0, 200.0)))  # type: ignore[arg-type]
    c = eye_crop(mesh, 0)
    pa, pb = _to_crop(c.to_frame, a), _to_crop(c.to_frame, b)
    assert abs(pa[1] - pb[1]) < 1e-9  # level in the crop
    assert pb[0] > pa[0]
