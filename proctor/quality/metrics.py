"""Measure face quality: size, cut-off, exposure, sharpness, yaw from 5 landmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from proctor.quality.policy import QualityMetrics
from proctor.types import BBox, RGBImage

_SHARPNESS_SIDE_PX = 128


def outside_fraction(box: BBox, width: int, height: int) -> float:
    ix = max(0, min(box.x2, width) - max(box.x1, 0))
    iy = max(0, min(box.y2, height) - max(box.y1, 0))
    return 1.0 - (ix * iy) / box.area


def face_region(image: RGBImage, box: BBox) -> RGBImage:
    h, w = image.shape[:2]
    return image[max(box.y1, 0) : min(box.y2, h), max(box.x1, 0) : min(box.x2, w)]


def brightness_and_sharpness(image: RGBImage, box: BBox) -> tuple[float, float]:
    crop = face_region(image, box)
    if crop.size == 0:
        return 0.0, 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    norm = cv2.resize(gray, (_SHARPNESS_SIDE_PX, _SHARPNESS_SIDE_PX), interpolation=cv2.INTER_AREA)
    lap = cv2.Laplacian(norm, cv2.CV_64F)
    return float(gray.mean()), float(lap.var())


def yaw_from_landmarks(points: Sequence[tuple[float, float]]) -> float:
    """Signed yaw estimate in degrees from dlib's 5 points (eyes 0-1 and 2-3, nose 4).

    The nose tip's offset from the eye midpoint along the eye axis, relative to
    the eye distance, grows with sin(yaw); ~0.5 × eye distance of nose depth
    makes an offset ratio r correspond to asin(2r).
    """
    if len(points) < 5:
        return 0.0
    p = np.asarray(points[:5], dtype=np.float64)
    right, left, nose = p[0:2].mean(axis=0), p[2:4].mean(axis=0), p[4]
    axis = left - right
    dist = float(np.hypot(*axis))
    if dist < 1e-6:
        return 90.0
    ratio = float(np.dot(nose - (left + right) / 2.0, axis / dist)) / dist
    return math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * ratio))))


def measure(
    image: RGBImage,
    box: BBox,
    landmarks: Sequence[tuple[float, float]],
    extra_faces: int,
) -> QualityMetrics:
    h, w = image.shape[:2]
    bright, sharp = brightness_and_sharpness(image, box)
    return QualityMetrics(
        face_width_px=box.width,
        outside_fraction=outside_fraction(box, w, h),
        brightness_mean=bright,
        sharpness_lapvar=sharp,
        yaw_deg=yaw_from_landmarks(landmarks),
        extra_faces=extra_faces,
    )
