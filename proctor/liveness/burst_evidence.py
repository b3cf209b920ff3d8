"""Issue 20 evidence measured on a burst's tracked frames (an adapter: uses OpenCV).

``BurstAnalyzer.judge_frames`` calls ``measure_evidence`` once it has tracked the face:

- the skin's and the background's colour on every tracked frame (``colour_sample``),
  which the session measures against the challenge's screen-light code
  (``proctor.liveness.light_code.measure_light_code``);
- the frame-to-frame jumps of the landmarks and of a grey thumbnail of the background
  (``proctor.liveness.continuity.measure_continuity``).

It only measures: ``proctor.decision.capture.decide_capture`` applies the limits of the
``OperatingPolicy``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from proctor.liveness.continuity import (
    ContinuityMeasures,
    face_mask_on_thumb,
    measure_continuity,
)
from proctor.liveness.geometry import Points
from proctor.liveness.light_code import ColourSample, colour_sample
from proctor.types import RGBImage

# Grey thumbnail of every tracked frame for the continuity check's background jumps.
THUMB_SIZE = (48, 36)


@lru_cache(maxsize=16)
def area_weights(n_in: int, n_out: int) -> npt.NDArray[np.float32]:
    """(n_out × n_in) box-filter weights: output pixel i averages the input span
    [i·s, (i+1)·s), s = n_in / n_out, partial pixels weighted by their overlap (what
    OpenCV's ``INTER_AREA`` computes when shrinking)."""
    s = n_in / n_out
    w = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        a, b = i * s, (i + 1) * s
        for j in range(int(a), min(n_in, math.ceil(b))):
            w[i, j] = min(b, j + 1.0) - max(a, float(j))
    out: npt.NDArray[np.float32] = (w / s).astype(np.float32)
    return out


def grey_thumbnail(rgb: RGBImage) -> npt.NDArray[np.uint8]:
    """The frame in grey, box-shrunk to ``THUMB_SIZE``: two small matrix products.

    Within one grey level of ``cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)``
    (float rounding), and of the RGB-then-grey thumbnail this replaced; OpenCV's area
    resize costs ~0.6–1 ms a frame on a non-integer ratio here, ~20 ms of a 30-frame burst.
    """
    h, w = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = area_weights(h, THUMB_SIZE[1]) @ grey @ area_weights(w, THUMB_SIZE[0]).T
    return np.asarray(np.clip(np.rint(small), 0, 255), dtype=np.uint8)


def thumbnails(
    frames: Sequence[RGBImage], idx: Sequence[int], pts: Sequence[Points]
) -> tuple[list[npt.NDArray[np.uint8]], list[npt.NDArray[np.bool_]]]:
    """Grey thumbnails of the tracked frames and the face's box on each."""
    thumbs: list[npt.NDArray[np.uint8]] = []
    masks: list[npt.NDArray[np.bool_]] = []
    for i, p in zip(idx, pts, strict=True):
        rgb = frames[i]
        thumbs.append(grey_thumbnail(rgb))
        masks.append(face_mask_on_thumb(p, rgb.shape[:2], (THUMB_SIZE[1], THUMB_SIZE[0])))
    return thumbs, masks


def measure_evidence(
    frames: Sequence[RGBImage], idx: Sequence[int], pts: Sequence[Points]
) -> tuple[tuple[ColourSample, ...], ContinuityMeasures]:
    """(colour of each tracked frame, the burst's continuity jumps)."""
    colours = tuple(colour_sample(frames[i], p) for i, p in zip(idx, pts, strict=True))
    thumbs, masks = thumbnails(frames, idx, pts)
    return colours, measure_continuity(pts, thumbs, masks)
