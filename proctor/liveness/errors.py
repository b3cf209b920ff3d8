"""Burst upload errors with stable codes (pure core).

They subclass the image errors, so a burst that cannot be used is handled like
an unusable snapshot: a failed attempt whose reason is the code::

    ImageError
    ├── ImageTooLarge
    │   └── BurstTooLarge (burst_too_large): too many bytes, frames, pixels or seconds
    ├── CorruptImage
    │   └── CorruptVideo (corrupt_video): the clip does not decode
    ├── UnsupportedFormat
    │   └── UnsupportedVideo (unsupported_video): not WebM/Matroska or MP4/QuickTime
    └── EmptyImage
        └── EmptyBurst (empty_burst): no frame at all
"""

from __future__ import annotations

from proctor.errors import CorruptImage, EmptyImage, ImageTooLarge, UnsupportedFormat


class BurstTooLarge(ImageTooLarge):
    code = "burst_too_large"


class CorruptVideo(CorruptImage):
    code = "corrupt_video"


class UnsupportedVideo(UnsupportedFormat):
    code = "unsupported_video"


class EmptyBurst(EmptyImage):
    code = "empty_burst"
