"""bytes → RGBImage, safely.

Order of checks: empty → byte cap → magic bytes → header dimensions, pixel cap,
decoded-memory budget and JPEG scan count (before any pixel is decoded) → decode →
depth/channel normalisation → EXIF orientation applied once. The result is a fresh
contiguous array: no metadata or trailing bytes of the input survive.

Memory: the budget bounds the decoder's own buffer (pixels × channels × bytes per
sample, from the header); conversions to 8-bit RGB happen in place where they can,
so the peak is about the budget plus one RGB copy. Refusals of oversized images are
logged as security events (codes and sizes only, never content).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from proctor.errors import CorruptImage, EmptyImage, ImageTooLarge
from proctor.imaging.header import ImageHeader, read_header, sniff_format
from proctor.types import RGBImage

__all__ = ["DecodeLimits", "DecodedImage", "decode_image", "pixel_sha256", "sniff_format"]

log = logging.getLogger("proctor.imaging")


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 16_000_000
    min_side_px: int = 8
    # The decoder's output buffer: a 4K (3840×2160) 8-bit RGB frame. Larger webcams do
    # not exist in this service; 8-bit RGBA or 16-bit PNGs get proportionally fewer pixels.
    # Measured (tests/security): 16 MP RGBA PNG took 1.2 s and +166 MB before this cap.
    max_decoded_bytes: int = 3840 * 2160 * 3
    # Progressive JPEGs use ~10 scans; each extra scan is a pass over every coefficient.
    max_jpeg_scans: int = 64


@dataclass(frozen=True, slots=True)
class DecodedImage:
    rgb: RGBImage
    format: str
    orientation: int


# EXIF orientation → operations on the stored pixels that give the upright view.
# OpenCV ≥ 4.11 decodes straight to RGB; None on older builds (BGR, swapped after).
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)

_ORIENT_OPS: dict[int, tuple[int | None, int | None]] = {
    # orientation: (flip code or None, rotate code or None)
    1: (None, None),
    2: (1, None),
    3: (None, cv2.ROTATE_180),
    4: (0, None),
    5: (1, cv2.ROTATE_90_COUNTERCLOCKWISE),
    6: (None, cv2.ROTATE_90_CLOCKWISE),
    7: (1, cv2.ROTATE_90_CLOCKWISE),
    8: (None, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> DecodedImage:
    limits = limits or DecodeLimits()
    if not data:
        raise EmptyImage("no image bytes received")
    if len(data) > limits.max_bytes:
        raise _refused(
            ImageTooLarge(
                "image file is too large",
                details={"bytes": len(data), "max_bytes": limits.max_bytes},
            )
        )
    sniff_format(data)
    header = read_header(data)
    _check_dimensions(header, limits)
    if not header.has_data:
        raise CorruptImage(f"{header.format} has no image data")
    buf = np.frombuffer(data, dtype=np.uint8)
    # Without alpha or deep samples the decoder writes 8-bit RGB directly (OpenCV ≥ 4.11:
    # no second buffer, no channel swap; older ones write BGR, swapped in place below);
    # IMREAD_COLOR would apply EXIF orientation itself, hence IGNORE_ORIENTATION.
    simple = not header.has_alpha and header.sample_bytes == 1
    direct_rgb = simple and _IMREAD_RGB is not None
    if simple and _IMREAD_RGB is not None:
        flags = _IMREAD_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    elif simple:
        flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    else:
        flags = cv2.IMREAD_UNCHANGED
    try:
        raw = cv2.imdecode(buf, flags)
    except cv2.error as exc:
        raise CorruptImage(f"{header.format} data could not be decoded") from exc
    if raw is None or raw.size == 0:
        raise CorruptImage(f"{header.format} data could not be decoded")
    if header.format == "jpeg" and _jpeg_truncated(data):
        raise CorruptImage("JPEG data is truncated")
    rgb = _u8(raw) if direct_rgb and raw.ndim == 3 and raw.shape[2] == 3 else _to_rgb8(raw)
    del raw
    rgb = _apply_orientation(rgb, header.orientation)
    if rgb.shape[0] < limits.min_side_px or rgb.shape[1] < limits.min_side_px:
        raise EmptyImage("image is too small to contain a face", details={"shape": rgb.shape})
    return DecodedImage(np.ascontiguousarray(rgb), header.format, header.orientation)


def pixel_sha256(rgb: RGBImage) -> str:
    """Hash of the decoded pixels and their shape: equal for re-encoded-identical frames.

    Hashes the array's buffer in place (no ``tobytes`` copy of the frame)."""
    h = hashlib.sha256(str(rgb.shape).encode())
    h.update(np.ascontiguousarray(rgb).data.cast("B"))
    return h.hexdigest()


def _refused(exc: ImageTooLarge) -> ImageTooLarge:
    """Log a refused oversized image as a security event (numbers only)."""
    log.warning("security_event image_refused code=%s details=%s", exc.code, exc.details)
    return exc


def _check_dimensions(header: ImageHeader, limits: DecodeLimits) -> None:
    if header.width <= 0 or header.height <= 0:
        raise CorruptImage("image header declares zero size")
    size = {"format": header.format, "width": header.width, "height": header.height}
    pixels = header.width * header.height
    if pixels > limits.max_pixels:
        raise _refused(
            ImageTooLarge(
                "image has too many pixels", details={**size, "max_pixels": limits.max_pixels}
            )
        )
    if max(header.decoded_bytes, pixels * 3) > limits.max_decoded_bytes:
        raise _refused(
            ImageTooLarge(
                "image would decode to too much memory",
                details={
                    **size,
                    "decoded_bytes": header.decoded_bytes,
                    "max_decoded_bytes": limits.max_decoded_bytes,
                },
            )
        )
    if header.scans > limits.max_jpeg_scans:
        raise _refused(
            ImageTooLarge(
                "JPEG has too many scans",
                details={**size, "scans": header.scans, "max_scans": limits.max_jpeg_scans},
            )
        )


def _jpeg_truncated(data: bytes) -> bool:
    # A complete JPEG has an EOI marker after its last start-of-scan; bytes after
    # EOI are tolerated and dropped (the pixels are rebuilt anyway).
    # The usual file ends with EOI: then any SOS (found near the start) lies before it,
    # and the two scans over the entropy-coded data below are not needed.
    if data.endswith(b"\xff\xd9") and data.find(b"\xff\xda", 0, len(data) - 2) >= 0:
        return False
    last_sos = data.rfind(b"\xff\xda")
    return last_sos < 0 or data.find(b"\xff\xd9", last_sos) < 0


def _u8(a: object) -> RGBImage:
    return np.asarray(a, dtype=np.uint8)


def _to_rgb8(raw: np.ndarray) -> RGBImage:
    """8-bit RGB; the decoder's 8-bit BGR buffer is converted in place (no copy)."""
    if raw.dtype == np.uint8 and raw.ndim == 3 and raw.shape[2] == 3:
        return _u8(cv2.cvtColor(raw, cv2.COLOR_BGR2RGB, dst=raw))
    if raw.dtype == np.uint16:
        np.right_shift(raw, 8, out=raw)
        img = raw.astype(np.uint8)
    elif raw.dtype != np.uint8:
        f = raw.astype(np.float64)
        span = float(f.max() - f.min()) or 1.0
        img = ((f - f.min()) * (255.0 / span)).astype(np.uint8)
    else:
        img = raw
    if img.ndim == 2:
        return _u8(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))
    channels = img.shape[2]
    if channels == 1:
        return _u8(cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB))
    if channels == 4:
        img = _composite_on_white(img)
    elif channels != 3:
        raise CorruptImage(f"unsupported channel count {channels}")
    return _u8(cv2.cvtColor(img, cv2.COLOR_BGR2RGB, dst=img))  # img is a fresh buffer here


def _composite_on_white(bgra: np.ndarray, band_rows: int = 256) -> np.ndarray:
    """Alpha over white in integer arithmetic, in row bands to bound temporary memory."""
    out = np.empty((*bgra.shape[:2], 3), np.uint8)
    for y in range(0, bgra.shape[0], band_rows):
        band = bgra[y : y + band_rows].astype(np.uint16)
        a = band[:, :, 3:4]
        out[y : y + band_rows] = ((band[:, :, :3] * a + 255 * (255 - a) + 127) // 255).astype(
            np.uint8
        )
    return out


def _apply_orientation(img: RGBImage, orientation: int) -> RGBImage:
    flip, rotate = _ORIENT_OPS.get(orientation, (None, None))
    if flip is not None:
        img = _u8(cv2.flip(img, flip))
    if rotate is not None:
        img = _u8(cv2.rotate(img, rotate))
    return img
