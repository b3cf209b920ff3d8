"""The whole-series measures equal the per-frame ones (float rounding only)."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.liveness import geometry as g


def _frames(n: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 40.0, (68, 2)) + 300.0
    return np.stack([base + rng.normal(0.0, 3.0, (68, 2)) for _ in range(n)])


@pytest.mark.parametrize(
    ("one", "many"),
    [
        (g.eye_aspect_ratio, g.eye_aspect_ratios),
        (g.mouth_aspect_ratio, g.mouth_aspect_ratios),
        (g.yaw_deg, g.yaw_degs),
        (g.nose_bridge_ratio, g.nose_bridge_ratios),
        (g.interocular_px, g.interocular_pxs),
    ],
)
def test_frame_measures(one: object, many: object) -> None:
    pts = _frames()
    pts[3] = pts[3][0]  # a degenerate frame: every point in one place
    expected = np.array([one(p) for p in pts])  # type: ignore[operator]
    np.testing.assert_allclose(many(pts), expected, rtol=1e-12, atol=1e-12)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("one", "many"),
    [
        (g.similarity_residual_iod, g.similarity_residuals_iod),
        (g.homography_residual_iod, g.homography_residuals_iod),
    ],
)
def test_motion_residuals(one: object, many: object) -> None:
    pts = _frames(seed=1)
    first = pts[0]
    expected = np.array([one(first, p) for p in pts[1:]])  # type: ignore[operator]
    np.testing.assert_allclose(many(first, pts[1:]), expected, rtol=1e-9, atol=1e-12)  # type: ignore[operator]
    assert many(first, pts[:0]).shape == (0,)  # type: ignore[operator]


def test_stack_rejects_other_shapes() -> None:
    with pytest.raises(ValueError, match="68"):
        g.stack_points(np.zeros((3, 5, 2)))
