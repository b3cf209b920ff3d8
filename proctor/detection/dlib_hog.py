"""dlib's HOG detector on a downscaled working copy.

The only module that converts dlib rectangles (inclusive right/bottom) into BBox.
"""

from __future__ import annotations

from dataclasses import dataclass

import dlib

from proctor.imaging.transform import downscale
from proctor.types import BBox, Detection, RGBImage

# Smallest face (px) HOG finds at upsample 0; each upsample halves it.
HOG_MIN_FACE_PX = 80


@dataclass(frozen=True, slots=True)
class HogPolicy:
    working_max_side_px: int = 480
    upsample: int = 0
    retry_upsample: int = 1
    adjust_threshold: float = 0.0


def rect_to_bbox(rect: dlib.rectangle, factor: float = 1.0) -> BBox:
    box = BBox(int(rect.left()), int(rect.top()), int(rect.right()) + 1, int(rect.bottom()) + 1)
    return box if factor == 1.0 else box.scaled(factor)


def bbox_to_rect(box: BBox) -> dlib.rectangle:
    return dlib.rectangle(box.x1, box.y1, box.x2 - 1, box.y2 - 1)


class DlibHogDetector:
    """HOG on a working copy; retries with upsampling (and at full size) only when empty."""

    def __init__(self, policy: HogPolicy | None = None) -> None:
        self.policy = policy or HogPolicy()
        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: RGBImage) -> list[Detection]:
        p = self.policy
        work, factor = downscale(image, p.working_max_side_px)
        attempts = [(work, factor, p.upsample), (work, factor, p.retry_upsample)]
        if factor > 1.0:
            attempts.append((image, 1.0, p.retry_upsample))
        for img, f, up in attempts:
            found = self._run(img, f, up)
            if found:
                return found
        return []

    def detect_down_to(
        self, image: RGBImage, min_face_px: int, found: list[Detection]
    ) -> list[Detection]:
        """Make sure faces of ``min_face_px`` (original px) could have been found.

        The working copy misses faces below ~HOG_MIN_FACE_PX × factor; when the
        caller needs smaller ones (a second person beside the driver), search
        again with upsampling, and at full size if needed, and merge.
        """
        p = self.policy
        side = max(image.shape[:2])
        _, factor = downscale(image, p.working_max_side_px)
        if min_face_px / factor >= HOG_MIN_FACE_PX >> p.upsample:
            return found
        # Smallest copy on which a face of min_face_px reaches HOG's minimum.
        needed_side = -(-side * (HOG_MIN_FACE_PX >> p.upsample) // max(min_face_px, 1))
        if needed_side <= side:
            copy, f = downscale(image, needed_side)
            extra = self._run(copy, f, p.upsample)
        else:
            extra = self._run(image, 1.0, p.retry_upsample)
        merged = list(found)
        for d in extra:
            if all(_iou(d.bbox, m.bbox) < 0.3 for m in merged):
                merged.append(d)
        return merged

    def _run(self, img: RGBImage, factor: float, upsample: int) -> list[Detection]:
        rects, scores, _ = self._detector.run(img, upsample, self.policy.adjust_threshold)
        return [
            Detection(rect_to_bbox(r, factor), float(s), upsample)
            for r, s in zip(rects, scores, strict=True)
        ]


def _iou(a: BBox, b: BBox) -> float:
    ix = max(0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    return inter / (a.area + b.area - inter)
