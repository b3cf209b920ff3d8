"""Resizing helpers for working copies."""

from __future__ import annotations

import cv2
import numpy as np

from proctor.types import RGBImage


def downscale(img: RGBImage, max_side_px: int) -> tuple[RGBImage, float]:
    """Copy with longer side ≤ ``max_side_px``, and the factor back to the original."""
    h, w = img.shape[:2]
    side = max(h, w)
    if max_side_px <= 0 or side <= max_side_px:
        return img, 1.0
    scale = max_side_px / side
    size = (round(w * scale), round(h * scale))
    small = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return small, side / max_side_px


def encode_jpeg(img: RGBImage, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def mirrored_jpeg(data: bytes, quality: int = 95) -> bytes | None:
    """The photo flipped left-right, as JPEG (the mirrored reference of issue 17); None when
    ``data`` is not an image OpenCV decodes. Only used on already-accepted references."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    ok, buf = cv2.imencode(
        ".jpg", np.ascontiguousarray(bgr[:, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    return bytes(buf.tobytes()) if ok else None
