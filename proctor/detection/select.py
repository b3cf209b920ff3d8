"""Choose the primary face and judge whether other faces are other people."""

from __future__ import annotations

from collections.abc import Sequence

from proctor.types import BBox, Detection


def primary_face(detections: Sequence[Detection]) -> Detection | None:
    """The largest face (not the first one found: that costs accuracy, BASELINE.md)."""
    if not detections:
        return None
    return max(detections, key=lambda d: (d.bbox.area, d.score))


def extra_people(
    detections: Sequence[Detection], primary: Detection, min_width_ratio: float
) -> list[Detection]:
    """Other faces at least ``min_width_ratio`` of the primary face's width."""
    limit = primary.bbox.width * min_width_ratio
    return [d for d in detections if d is not primary and d.bbox.width >= limit]


def iou(a: BBox, b: BBox) -> float:
    """Intersection over union of two boxes."""
    ix = max(0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    return inter / (a.area + b.area - inter)
