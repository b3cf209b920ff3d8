"""dlib's HOG detector on a downscaled working copy.

The fast path: HOG first runs on a copy no wider than ``working_max_side_px``
(320 px: a quarter of a 640×480 frame's pixels, finding faces of ≥ 160 px
there); only when nothing is found does it scale up, doubling the copy until
full size, then upsampling at full size (face_recognition's default, which
finds faces down to ~40 px). Boxes are mapped back to original pixels; the
caller computes landmarks on the original image.

The only module that converts dlib rectangles (inclusive right/bottom) into BBox.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from proctor.detection.select import iou
from proctor.imaging.transform import downscale
from proctor.types import BBox, Detection, RGBImage

# Smallest face (px) HOG finds at upsample 0; each upsample halves it.
HOG_MIN_FACE_PX = 80


@dataclass(frozen=True, slots=True)
class HogPolicy:
    """Where HOG looks first and how it scales up when it finds nothing.

    ``working_max_side_px``: longer side of the first working copy (0: full size).
    ``upsample``: dlib upsampling on the working copies.
    ``retry_upsample``: upsampling of the last, full-size attempt.
    ``max_doublings``: how many ×2 larger copies (each at ``upsample``) are tried
    between the working copy and the full-size image.
    ``small_face_px``: a face narrower than this on the copy that found it (HOG's
    window is 80 px) is re-detected by the next, finer attempt.
    ``max_search_side_px``: no copy searched is larger than this (before
    upsampling), so a huge image with no face cannot cost seconds of HOG; faces
    that would need more are too small to verify anyway.
    """

    working_max_side_px: int = 320
    upsample: int = 0
    retry_upsample: int = 1
    adjust_threshold: float = 0.0
    max_doublings: int = 2
    small_face_px: int = 90
    max_search_side_px: int = 1280

    def attempts(self, side_px: int) -> list[tuple[int, int]]:
        """(max side px, upsample) tried in turn on an image whose longer side is ``side_px``."""
        if self.max_search_side_px > 0:
            side_px = min(side_px, self.max_search_side_px)
        out: list[tuple[int, int]] = []
        work = self.working_max_side_px
        if work > 0:
            for _ in range(self.max_doublings + 1):
                if work >= side_px:
                    break
                out.append((work, self.upsample))
                work *= 2
        out.append((side_px, self.upsample))
        if self.retry_upsample != self.upsample:
            out.append((side_px, self.retry_upsample))
        return out


def upscale(img: RGBImage, max_side_px: int) -> tuple[RGBImage, float]:
    """Enlarged copy with longer side ``max_side_px``, and the factor (< 1) back to the original."""
    h, w = img.shape[:2]
    scale = max_side_px / max(h, w)
    size = (round(w * scale), round(h * scale))
    big = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    return big, 1.0 / scale


def rect_to_bbox(rect: dlib.rectangle, factor: float = 1.0) -> BBox:
    box = BBox(int(rect.left()), int(rect.top()), int(rect.right()) + 1, int(rect.bottom()) + 1)
    return box if factor == 1.0 else box.scaled(factor)


def bbox_to_rect(box: BBox) -> dlib.rectangle:
    return dlib.rectangle(box.x1, box.y1, box.x2 - 1, box.y2 - 1)


class DlibHogDetector:
    """HOG on a small working copy; scales up (then upsamples) only when nothing is found."""

    name = "hog"

    def __init__(self, policy: HogPolicy | None = None) -> None:
        self.policy = policy or HogPolicy()
        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: RGBImage) -> list[Detection]:
        """Faces in original pixels; empty when no attempt finds one.

        A face found close to HOG's smallest window on a copy (narrower than
        ``small_face_px`` there) has an unreliable size and may be a weak hit, so
        the next, finer attempt decides when it finds anything.
        """
        side = max(image.shape[:2])
        best: list[Detection] = []
        for max_side, up in self.policy.attempts(side):
            copy, f = downscale(image, max_side) if max_side < side else (image, 1.0)
            found = self._run(copy, f, up)
            if not found:
                continue
            best = found
            widest = max(d.bbox.width for d in found) / f * (1 << up)
            if widest >= self.policy.small_face_px:
                break
        return best

    def detect_down_to(
        self, image: RGBImage, min_face_px: int, found: list[Detection]
    ) -> list[Detection]:
        """Make sure faces of ``min_face_px`` (original px) could have been found.

        The working copy misses faces below ~HOG_MIN_FACE_PX × factor; when the
        caller needs smaller ones (a second person beside the driver), search
        again on the smallest copy where such a face reaches HOG's minimum (an
        enlarged copy when that is bigger than the image), and merge.
        """
        p = self.policy
        side = max(image.shape[:2])
        if found and all(
            min_face_px / d.scale * (1 << d.upsample) >= HOG_MIN_FACE_PX for d in found
        ):
            return found  # the pass that found them could already see faces this small
        _, factor = downscale(image, p.working_max_side_px)
        if min_face_px / factor >= HOG_MIN_FACE_PX >> p.upsample:
            return found
        # Smallest copy on which a face of min_face_px reaches HOG's minimum.
        needed_side = -(-side * (HOG_MIN_FACE_PX >> p.upsample) // max(min_face_px, 1))
        if p.max_search_side_px > 0:
            needed_side = min(needed_side, max(p.max_search_side_px, p.working_max_side_px))
        if found and all(d.upsample == p.upsample for d in found):
            searched_side = round(side / min(d.scale for d in found))
            if needed_side <= searched_side:
                return found  # that copy was already searched: a second pass finds nothing new
        if needed_side <= side:
            copy, f = downscale(image, needed_side)
            extra = self._run(copy, f, p.upsample)
        elif needed_side <= 2 * side:
            copy, f = upscale(image, needed_side)
            extra = self._run(copy, f, p.upsample)
        else:
            extra = self._run(image, 1.0, max(p.retry_upsample, p.upsample + 1))
        merged = list(found)
        for d in extra:
            if all(_iou(d.bbox, m.bbox) < 0.3 for m in merged):
                merged.append(d)
        return merged

    def _run(self, img: RGBImage, factor: float, upsample: int) -> list[Detection]:
        rects, scores, _ = self._detector.run(img, upsample, self.policy.adjust_threshold)
        return [
            Detection(rect_to_bbox(r, factor), float(s), upsample, factor)
            for r, s in zip(rects, scores, strict=True)
        ]


_iou = iou
