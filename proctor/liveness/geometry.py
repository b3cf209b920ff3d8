"""Measures over dlib's 68 face landmarks (pure core: numpy only).

Points are ``(x, y)`` in image pixels, shape ``(68, 2)``, in dlib's iBUG-300W
order: jaw 0–16, brows 17–26, nose 27–35, right eye 36–41 (the driver's right,
on the image's left), left eye 42–47, outer lips 48–59, inner lips 60–67.

- ``eye_aspect_ratio``: Soukupová & Čech (2016), mean over both eyes;
  ~0.25–0.35 open, < ~0.15 closed.
- ``mouth_aspect_ratio``: mean inner-lip opening over inner-lip width;
  ~0 closed, > ~0.5 wide open.
- ``yaw_deg``: signed head yaw from where the nose tip sits between the two
  sides of the jaw, measured along the eye axis; positive when the nose moves
  towards the image's right edge (the driver turns to their own left in an
  unmirrored frame). An estimate, good for *changes* of ±10–40°, not absolute pose.
- ``motion_residuals``: how well a similarity and a homography explain the
  motion of the rigid points between two frames (see ``proctor.liveness.judge``).
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Points: TypeAlias = npt.NDArray[np.float64]
"""(68, 2) float landmarks of one frame."""

N_POINTS = 68
RIGHT_EYE = (36, 37, 38, 39, 40, 41)
LEFT_EYE = (42, 43, 44, 45, 46, 47)
# Points that move with the skull: jaw line, brows, nose, eye corners. Eyelids and
# lips are left out because a blink or an open mouth moves them on a real face.
RIGID = (*range(0, 17), *range(17, 27), *range(27, 36), 36, 39, 42, 45)
_RIGID = list(RIGID)


def as_points(points: object) -> Points:
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (N_POINTS, 2) or not np.all(np.isfinite(p)):
        raise ValueError(f"expected 68 finite (x, y) landmarks, got shape {p.shape}")
    return p


def _d(p: Points, i: int, j: int) -> float:
    return float(np.hypot(*(p[i] - p[j])))


def _ear(p: Points, eye: tuple[int, ...]) -> float:
    p1, p2, p3, p4, p5, p6 = eye
    width = _d(p, p1, p4)
    if width < 1e-6:
        return 0.0
    return (_d(p, p2, p6) + _d(p, p3, p5)) / (2.0 * width)


def eye_aspect_ratio(points: Points) -> float:
    """Mean eye aspect ratio of both eyes."""
    return (_ear(points, RIGHT_EYE) + _ear(points, LEFT_EYE)) / 2.0


def mouth_aspect_ratio(points: Points) -> float:
    """Mean inner-lip opening (61–67, 62–66, 63–65) over inner-lip width (60–64)."""
    width = _d(points, 60, 64)
    if width < 1e-6:
        return 0.0
    opening = (_d(points, 61, 67) + _d(points, 62, 66) + _d(points, 63, 65)) / 3.0
    return opening / width


def nose_bridge_ratio(points: Points) -> float:
    """Nose bridge length (27–30) over the inter-ocular distance: shrinks with pitch."""
    iod = interocular_px(points)
    return _d(points, 27, 30) / iod if iod > 1e-6 else 0.0


def interocular_px(points: Points) -> float:
    """Distance between the eye centres, the scale every length is normalised by."""
    right = points[list(RIGHT_EYE)].mean(axis=0)
    left = points[list(LEFT_EYE)].mean(axis=0)
    return float(np.hypot(*(left - right)))


def yaw_deg(points: Points) -> float:
    """Signed yaw estimate in degrees (positive: nose towards the image's right)."""
    right = points[list(RIGHT_EYE)].mean(axis=0)
    left = points[list(LEFT_EYE)].mean(axis=0)
    axis = left - right
    norm = float(np.hypot(*axis))
    if norm < 1e-6:
        return 0.0
    u = axis / norm
    nose = float(np.dot(points[30], u))
    a = float(np.dot(points[1], u))
    b = float(np.dot(points[15], u))
    span = b - a
    if abs(span) < 1e-6:
        return 0.0
    # 0 when the nose is midway between the jaw sides, ±1 when it reaches one side.
    r = (2.0 * nose - a - b) / span
    return math.degrees(math.asin(max(-1.0, min(1.0, r))))


# ---- motion models ----------------------------------------------------------------------


def similarity_fit(src: Points, dst: Points) -> Points:
    """src moved by the least-squares similarity (Umeyama) onto dst."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    var_s = float((s**2).sum() / len(src))
    scale = float(np.trace(np.diag(sig) @ sign)) / var_s if var_s > 0 else 1.0
    pred: Points = scale * (s @ rot.T) + mu_d
    return pred


def _similarity_residual(src: Points, dst: Points) -> float:
    """RMS residual (px) of the least-squares similarity (Umeyama) mapping src onto dst."""
    pred = similarity_fit(src, dst)
    return float(np.sqrt(((pred - dst) ** 2).sum(axis=1).mean()))


def _normalising(p: Points) -> npt.NDArray[np.float64]:
    mu = p.mean(axis=0)
    spread = float(np.sqrt(((p - mu) ** 2).sum(axis=1).mean())) or 1.0
    k = math.sqrt(2.0) / spread
    return np.array([[k, 0.0, -k * mu[0]], [0.0, k, -k * mu[1]], [0.0, 0.0, 1.0]])


def fit_homography(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """Least-squares 3×3 homography (normalised DLT) mapping src (N×2) onto dst, N ≥ 4."""
    if len(src) < 4:
        raise ValueError("a homography needs at least 4 points")
    ts, td = _normalising(src), _normalising(dst)
    hs = np.c_[src, np.ones(len(src))] @ ts.T
    hd = np.c_[dst, np.ones(len(dst))] @ td.T
    # Two DLT rows per point, built at once: [0, -z·p, v·p] and [z·p, 0, -u·p], p = (x, y, w).
    rows = np.zeros((2 * len(src), 9), dtype=np.float64)
    u, v, z = hd[:, 0:1], hd[:, 1:2], hd[:, 2:3]
    rows[0::2, 3:6] = -z * hs
    rows[0::2, 6:9] = v * hs
    rows[1::2, 0:3] = z * hs
    rows[1::2, 6:9] = -u * hs
    _, _, vt = np.linalg.svd(rows)
    h = vt[-1].reshape(3, 3)
    out: npt.NDArray[np.float64] = np.linalg.inv(td) @ h @ ts
    return out / out[2, 2] if abs(out[2, 2]) > 1e-12 else out


def apply_homography(h: npt.NDArray[np.float64], pts: Points) -> Points:
    hp = np.c_[pts, np.ones(len(pts))] @ h.T
    w = hp[:, 2:3]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    out: Points = hp[:, :2] / w
    return out


def _homography_residual(src: Points, dst: Points) -> float:
    h = fit_homography(src, dst)
    pred = apply_homography(h, src)
    return float(np.sqrt(((pred - dst) ** 2).sum(axis=1).mean()))


def motion_residuals(first: Points, other: Points) -> tuple[float, float]:
    """(similarity, homography) RMS residuals of the rigid points, in inter-ocular units.

    A flat picture moved, scaled or tilted in front of the camera is explained
    by a homography up to landmark noise; a real head turning is not (the nose
    and the jaw line sit at different depths). The similarity residual says
    whether there was any out-of-plane motion to judge at all.
    """
    sim = similarity_residual_iod(first, other)
    return sim, homography_residual_iod(first, other)


def similarity_residual_iod(first: Points, other: Points) -> float:
    """The similarity part of ``motion_residuals``."""
    iod = interocular_px(first)
    if iod < 1e-6:
        return 0.0
    return _similarity_residual(first[_RIGID], other[_RIGID]) / iod


def homography_residual_iod(first: Points, other: Points) -> float:
    """The homography part of ``motion_residuals``."""
    iod = interocular_px(first)
    if iod < 1e-6:
        return 0.0
    return _homography_residual(first[_RIGID], other[_RIGID]) / iod


# ---- whole-series forms ------------------------------------------------------------------
# The same measures over a stack of frames at once, (n, 68, 2) → (n,): a burst's 30 frames
# cost one numpy call per measure instead of thirty (the judge measured ~13 ms a burst
# in per-frame numpy calls). Equal to the per-frame functions within float rounding
# (tests/unit/liveness/test_geometry_series.py).


def stack_points(points: object) -> npt.NDArray[np.float64]:
    """(n, 68, 2) float64 from a sequence of frames' points (n may be 0)."""
    p = np.asarray(points, dtype=np.float64)
    if p.size == 0:
        return np.zeros((0, N_POINTS, 2), np.float64)
    if p.ndim != 3 or p.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"expected (n, 68, 2) landmarks, got shape {p.shape}")
    return p


def _dn(p: npt.NDArray[np.float64], i: int, j: int) -> npt.NDArray[np.float64]:
    diff = p[:, i] - p[:, j]
    out: npt.NDArray[np.float64] = np.hypot(diff[:, 0], diff[:, 1])
    return out


def _ears(p: npt.NDArray[np.float64], eye: tuple[int, ...]) -> npt.NDArray[np.float64]:
    p1, p2, p3, p4, p5, p6 = eye
    width = _dn(p, p1, p4)
    ok = width >= 1e-6
    out = np.zeros(len(p), np.float64)
    out[ok] = (_dn(p, p2, p6)[ok] + _dn(p, p3, p5)[ok]) / (2.0 * width[ok])
    return out


def eye_aspect_ratios(points: object) -> npt.NDArray[np.float64]:
    """``eye_aspect_ratio`` of every frame."""
    p = stack_points(points)
    out: npt.NDArray[np.float64] = (_ears(p, RIGHT_EYE) + _ears(p, LEFT_EYE)) / 2.0
    return out


def mouth_aspect_ratios(points: object) -> npt.NDArray[np.float64]:
    """``mouth_aspect_ratio`` of every frame."""
    p = stack_points(points)
    width = _dn(p, 60, 64)
    ok = width >= 1e-6
    opening = (_dn(p, 61, 67) + _dn(p, 62, 66) + _dn(p, 63, 65)) / 3.0
    out = np.zeros(len(p), np.float64)
    out[ok] = opening[ok] / width[ok]
    return out


def _eye_centres(p: npt.NDArray[np.float64]) -> tuple[np.ndarray, np.ndarray]:
    return p[:, list(RIGHT_EYE)].mean(axis=1), p[:, list(LEFT_EYE)].mean(axis=1)


def interocular_pxs(points: object) -> npt.NDArray[np.float64]:
    """``interocular_px`` of every frame."""
    right, left = _eye_centres(stack_points(points))
    d = left - right
    out: npt.NDArray[np.float64] = np.hypot(d[:, 0], d[:, 1])
    return out


def nose_bridge_ratios(points: object) -> npt.NDArray[np.float64]:
    """``nose_bridge_ratio`` of every frame."""
    p = stack_points(points)
    iod = interocular_pxs(p)
    ok = iod > 1e-6
    out = np.zeros(len(p), np.float64)
    out[ok] = _dn(p, 27, 30)[ok] / iod[ok]
    return out


def yaw_degs(points: object) -> npt.NDArray[np.float64]:
    """``yaw_deg`` of every frame."""
    p = stack_points(points)
    right, left = _eye_centres(p)
    axis = left - right
    norm = np.hypot(axis[:, 0], axis[:, 1])
    ok = norm >= 1e-6
    u = axis / np.where(ok, norm, 1.0)[:, None]

    def along(i: int) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = p[:, i, 0] * u[:, 0] + p[:, i, 1] * u[:, 1]
        return out

    nose, a, b = along(30), along(1), along(15)
    span = b - a
    ok &= np.abs(span) >= 1e-6
    r = np.clip((2.0 * nose - a - b) / np.where(ok, span, 1.0), -1.0, 1.0)
    out: npt.NDArray[np.float64] = np.where(ok, np.degrees(np.arcsin(r)), 0.0)
    return out


def _series(first: Points, others: object) -> tuple[npt.NDArray[np.float64], float | None]:
    """(the stacked frames, the first frame's interocular distance); the distance is None
    when there is nothing to fit: no frames, or a degenerate first frame (residuals 0)."""
    o = stack_points(others)
    iod = interocular_px(first)
    return o, (iod if iod >= 1e-6 and len(o) > 0 else None)


def similarity_residuals_iod(first: Points, others: object) -> npt.NDArray[np.float64]:
    """``similarity_residual_iod(first, p)`` for every frame ``p`` of ``others``."""
    o, iod = _series(first, others)
    if iod is None:
        return np.zeros(len(o), np.float64)
    src, dst = first[_RIGID], o[:, _RIGID]
    n = len(src)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=1)
    s, d = src - mu_s, dst - mu_d[:, None]
    cov = np.einsum("mki,kj->mij", d, s) / n
    u, sig, vt = np.linalg.svd(cov)
    flip = np.linalg.det(u) * np.linalg.det(vt) < 0
    sign = np.where(flip, -1.0, 1.0)
    rot = u @ (vt * np.stack([np.ones_like(sign), sign], axis=1)[:, :, None])
    var_s = float((s**2).sum() / n)
    scale = (sig[:, 0] + sig[:, 1] * sign) / var_s if var_s > 0 else np.ones(len(o))
    pred = scale[:, None, None] * (s @ rot.transpose(0, 2, 1)) + mu_d[:, None]
    res = np.sqrt(((pred - dst) ** 2).sum(axis=2).mean(axis=1))
    out: npt.NDArray[np.float64] = res / iod
    return out


def homography_residuals_iod(first: Points, others: object) -> npt.NDArray[np.float64]:
    """``homography_residual_iod(first, p)`` for every frame ``p`` of ``others``."""
    o, iod = _series(first, others)
    if iod is None:
        return np.zeros(len(o), np.float64)
    src, dst = first[_RIGID], o[:, _RIGID]
    n = len(src)
    ts = _normalising(src)
    mu = dst.mean(axis=1)
    spread = np.sqrt(((dst - mu[:, None]) ** 2).sum(axis=2).mean(axis=1))
    k = math.sqrt(2.0) / np.where(spread > 0, spread, 1.0)
    td = np.zeros((len(o), 3, 3))
    td[:, 0, 0] = td[:, 1, 1] = k
    td[:, 0, 2], td[:, 1, 2], td[:, 2, 2] = -k * mu[:, 0], -k * mu[:, 1], 1.0
    hs = np.c_[src, np.ones(n)] @ ts.T
    hd = np.concatenate([dst, np.ones((len(o), n, 1))], axis=2) @ td.transpose(0, 2, 1)
    rows = np.zeros((len(o), 2 * n, 9), dtype=np.float64)
    uu, vv, zz = hd[:, :, 0:1], hd[:, :, 1:2], hd[:, :, 2:3]
    rows[:, 0::2, 3:6] = -zz * hs
    rows[:, 0::2, 6:9] = vv * hs
    rows[:, 1::2, 0:3] = zz * hs
    rows[:, 1::2, 6:9] = -uu * hs
    _, _, vt = np.linalg.svd(rows, full_matrices=False)
    h = np.linalg.inv(td) @ vt[:, -1].reshape(-1, 3, 3) @ ts
    h22 = h[:, 2, 2]
    big = np.abs(h22) > 1e-12
    h = np.where(big[:, None, None], h / np.where(big, h22, 1.0)[:, None, None], h)
    hp = np.c_[src, np.ones(n)] @ h.transpose(0, 2, 1)
    w = hp[:, :, 2:3]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    pred = hp[:, :, :2] / w
    res = np.sqrt(((pred - dst) ** 2).sum(axis=2).mean(axis=1))
    out: npt.NDArray[np.float64] = res / iod
    return out
