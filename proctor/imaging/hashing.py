"""Image fingerprints for replay checks: 64-bit difference hash (dHash)."""

from __future__ import annotations

import cv2
import numpy as np

from proctor.types import RGBImage


def dhash64(image: RGBImage) -> int:
    """Difference hash: 8x8 horizontal gradient signs of a 9x8 gray thumbnail."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value
