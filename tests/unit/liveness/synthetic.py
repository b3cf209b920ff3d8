"""Synthetic 68-landmark bursts where blink, turn, mouth and flat motion are known exactly.

A frontal 68-point template (inter-ocular units, eye centre at the origin) gets a
heuristic depth per point (nose forward, jaw sides back), is rotated about the
vertical axis and projected with a pinhole camera. ``flat=True`` drops the
depth: the same motion of a printed photo.
"""

from __future__ import annotations

import math

import numpy as np

from proctor.liveness.judge import LandmarkSeries

# fmt: off
TEMPLATE = np.array([
    [-1.217, 0.048], [-1.188, 0.374], [-1.131, 0.709], [-1.073, 1.026], [-0.968, 1.323],
    [-0.786, 1.601], [-0.565, 1.84], [-0.307, 2.003], [-0.01, 2.042], [0.297, 1.965],
    [0.537, 1.764], [0.767, 1.505], [0.939, 1.236], [1.035, 0.949], [1.093, 0.642],
    [1.121, 0.335], [1.141, 0.038], [-0.949, -0.058], [-0.815, -0.23], [-0.604, -0.307],
    [-0.374, -0.297], [-0.163, -0.24], [0.173, -0.249], [0.383, -0.316], [0.594, -0.316],
    [0.796, -0.24], [0.92, -0.086], [0.0, -0.048], [0.01, 0.153], [0.01, 0.355],
    [0.01, 0.556], [-0.297, 0.671], [-0.153, 0.709], [0.0, 0.748], [0.144, 0.7],
    [0.288, 0.661], [-0.69, 0.019], [-0.565, -0.048], [-0.441, -0.048], [-0.307, 0.019],
    [-0.431, 0.029], [-0.565, 0.038], [0.307, 0.019], [0.441, -0.058], [0.565, -0.048],
    [0.69, 0.019], [0.565, 0.029], [0.431, 0.029], [-0.604, 1.035], [-0.403, 0.949],
    [-0.173, 0.93], [-0.01, 0.949], [0.153, 0.92], [0.374, 0.93], [0.565, 0.997],
    [0.383, 1.236], [0.163, 1.361], [-0.01, 1.39], [-0.182, 1.38], [-0.412, 1.275],
    [-0.546, 1.045], [-0.173, 1.0], [-0.01, 1.01], [0.153, 1.0], [0.508, 1.016],
    [0.153, 1.01], [-0.01, 1.02], [-0.173, 1.01],
])
# fmt: on


def _depth() -> np.ndarray:
    x, y = TEMPLATE[:, 0], TEMPLATE[:, 1]
    d = 0.25 - 0.55 * x**2  # a rounded face: sides recede
    d[27:31] = [0.25, 0.4, 0.55, 0.7]  # nose bridge to tip
    d[31:36] = [0.35, 0.42, 0.45, 0.42, 0.35]
    d[36:48] -= 0.1  # eyes sit in their sockets
    d[:17] = 0.3 - 0.9 * (np.abs(x[:17]) / 1.2) ** 2 + 0.1 * (y[:17] / 2.0)
    return d


DEPTH = _depth()


def frame(
    yaw_deg: float = 0.0,
    *,
    eye_open: float = 1.0,
    mouth_open: float = 0.0,
    flat: bool = False,
    shift_px: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    roll_deg: float = 0.0,
    iod_px: float = 60.0,
    camera_iod: float = 6.0,
    noise_px: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Pixel landmarks of one frame. Positive ``yaw_deg`` turns the nose to the image's right."""
    p = TEMPLATE.copy()
    d = np.zeros(68) if flat else DEPTH.copy()
    for top, bottom in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (p[top, 1] + p[bottom, 1]) / 2.0
        half = (p[bottom, 1] - p[top, 1]) / 2.0 * eye_open
        p[top, 1], p[bottom, 1] = mid - half, mid + half
    if mouth_open:
        drop = 0.6 * mouth_open
        p[[65, 66, 67], 1] += drop
        p[55:60, 1] += drop
        p[5:12, 1] += drop * np.array([0.3, 0.6, 0.9, 1.0, 0.9, 0.6, 0.3])
    t = math.radians(yaw_deg)
    x = p[:, 0] * math.cos(t) + d * math.sin(t)
    depth = -p[:, 0] * math.sin(t) + d * math.cos(t)
    z = camera_iod - depth
    u, v = x * camera_iod / z, p[:, 1] * camera_iod / z
    r = math.radians(roll_deg)
    uu = u * math.cos(r) - v * math.sin(r)
    vv = u * math.sin(r) + v * math.cos(r)
    out = np.c_[uu, vv] * iod_px * scale + np.array([320.0, 200.0]) + np.array(shift_px)
    if noise_px and rng is not None:
        out = out + rng.normal(0.0, noise_px, out.shape)
    return out


def series(frames: list[np.ndarray], duration_s: float = 2.0) -> LandmarkSeries:
    n = len(frames)
    times = tuple(duration_s * i / (n - 1) for i in range(n))
    return LandmarkSeries(times, tuple(frames))
