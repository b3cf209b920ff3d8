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

from collections.abc import Sequence

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


def thumbnails(
    frames: Sequence[RGBImage], idx: Sequence[int], pts: Sequence[Points]
) -> tuple[list[npt.NDArray[np.uint8]], list[npt.NDArray[np.bool_]]]:
    """Grey thumbnails of the tracked frames and the face's box on each."""
    thumbs: list[npt.NDArray[np.uint8]] = []
    masks: list[npt.NDArray[np.bool_]] = []
    for i, p in zip(idx, pts, strict=True):
        rgb = frames[i]
        small = cv2.resize(rgb, THUMB_SIZE, interpolation=cv2.INTER_AREA)
        thumbs.append(np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8))
        masks.append(face_mask_on_thumb(p, rgb.shape[:2], (THUMB_SIZE[1], THUMB_SIZE[0])))
    return thumbs, masks


def measure_evidence(
    frames: Sequence[RGBImage], idx: Sequence[int], pts: Sequence[Points]
) -> tuple[tuple[ColourSample, ...], ContinuityMeasures]:
    """(colour of each tracked frame, the burst's continuity jumps)."""
    colours = tuple(colour_sample(frames[i], p) for i, p in zip(idx, pts, strict=True))
    thumbs, masks = thumbnails(frames, idx, pts)
    return colours, measure_continuity(pts, thumbs, masks)
