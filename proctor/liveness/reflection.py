"""A physical model of the screen's light on the face, for evidence and tests (pure core).

The shared clips were not recorded under a screen-light code, so a bona fide burst
under a code is *simulated*: each genuine frame is taken as the skin's albedo under
the room's light (white-balanced, ambient = 1), and the code's light is added:

    observed_linear = frame_linear × (1 + k · screen_linear(t − latency))

on the face and head (a feathered ellipse around the landmarks), and with
``k × (d_face / d_background)²`` on everything else. ``k`` is the screen's
illuminance on the face at full white over the room's illuminance:

    k = L_screen · A_screen / d_face² / E_ambient      (a small source facing the face)

``ScreenGeometry`` holds the stated numbers (a 6.1" phone at 400 cd/m², 30 cm from
the face, in a 200 lx room: k ≈ 0.2). A dimmer screen or a brighter room is a smaller
k; ``proctor bench liveness --attacks`` shows the decision as k shrinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from proctor.liveness.light_code import ColourSample, LightCode, linear_to_srgb, srgb_to_linear

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class ScreenGeometry:
    screen_luminance_cd_m2: float = 400.0  # a phone at a usual brightness, full white
    screen_w_m: float = 0.065  # 6.1" screen
    screen_h_m: float = 0.140
    face_distance_m: float = 0.30
    background_distance_m: float = 1.5
    ambient_lux: float = 200.0  # a living room in the evening; offices are 300-500 lx

    @property
    def k(self) -> float:
        illuminance = (
            self.screen_luminance_cd_m2 * self.screen_w_m * self.screen_h_m
        ) / self.face_distance_m**2
        return illuminance / self.ambient_lux

    @property
    def background_ratio(self) -> float:
        return (self.face_distance_m / self.background_distance_m) ** 2


_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float64)).astype(np.float32)
_LEVELS = 4096
_TO_SRGB = np.clip(np.rint(linear_to_srgb(np.linspace(0.0, 1.0, _LEVELS))), 0, 255).astype(np.uint8)


def head_mask(shape: tuple[int, int], points: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """1 on the face and head (an ellipse around the landmarks, forehead included),
    falling to 0 over a quarter of the face's size outside."""
    h, w = shape
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0 - 0.15 * (y2 - y1)
    ax, ay = max(0.65 * (x2 - x1), 1.0), max(0.75 * (y2 - y1), 1.0)
    out = np.zeros((h, w), np.float32)
    xa, xb = max(0, int(cx - 1.25 * ax)), min(w, int(cx + 1.25 * ax) + 1)
    ya, yb = max(0, int(cy - 1.25 * ay)), min(h, int(cy + 1.25 * ay) + 1)
    if xb <= xa or yb <= ya:
        return out
    yy, xx = np.mgrid[ya:yb, xa:xb].astype(np.float32)
    r = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
    out[ya:yb, xa:xb] = np.clip((1.25 - r) / 0.25, 0.0, 1.0)
    return out


def lit(
    rgb: Image,
    points: npt.NDArray[np.float64],
    screen_rgb: tuple[int, int, int],
    k: float,
    background_ratio: float,
) -> Image:
    """One frame under the screen colour ``screen_rgb`` with strength ``k``."""
    lin = _TO_LINEAR[rgb]
    screen = _TO_LINEAR[np.asarray(screen_rgb, dtype=np.uint8)]
    m = head_mask(rgb.shape[:2], points)[..., None]
    strength = np.float32(k) * (
        np.float32(background_ratio) + np.float32(1.0 - background_ratio) * m
    )
    out = lin * (1.0 + strength * screen)
    idx = np.clip(np.rint(out * (_LEVELS - 1)), 0, _LEVELS - 1).astype(np.int32)
    result: Image = _TO_SRGB[idx]
    return result


def lit_burst(
    frames: Sequence[Image],
    points: Sequence[npt.NDArray[np.float64]],
    times_s: Sequence[float],
    code: LightCode,
    k: float,
    background_ratio: float = ScreenGeometry().background_ratio,
    latency_s: float = 0.067,
) -> list[Image]:
    """Every frame lit by the colour the code showed ``latency_s`` before its time."""
    return [
        lit(f, p, code.colour_at(t - latency_s), k, background_ratio)
        for f, p, t in zip(frames, points, times_s, strict=True)
    ]


def lit_sample(
    sample: ColourSample,
    screen_rgb: tuple[int, int, int],
    k: float,
    background_ratio: float = ScreenGeometry().background_ratio,
) -> ColourSample:
    """The same model applied to a frame's measured colours (skin: k, background: k × ratio);
    what ``lit`` then ``colour_sample`` give, without touching the pixels again."""
    screen = srgb_to_linear(np.asarray(screen_rgb, dtype=np.float64))
    face = np.asarray(sample.face) * (1.0 + k * screen)
    bg = None
    if sample.background is not None:
        b = np.asarray(sample.background) * (1.0 + k * background_ratio * screen)
        bg = (float(b[0]), float(b[1]), float(b[2]))
    return ColourSample((float(face[0]), float(face[1]), float(face[2])), bg)


def lit_samples(
    samples: Sequence[ColourSample],
    times_s: Sequence[float],
    code: LightCode,
    k: float,
    background_ratio: float = ScreenGeometry().background_ratio,
    latency_s: float = 0.067,
) -> list[ColourSample]:
    return [
        lit_sample(s, code.colour_at(t - latency_s), k, background_ratio)
        for s, t in zip(samples, times_s, strict=True)
    ]
