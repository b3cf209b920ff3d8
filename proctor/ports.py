"""Ports the services depend on. Adapters implement them; fakes live in proctor.testing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from proctor.types import DecodedImage, Detection, FaceMeasurement, RGBImage, Template


class FaceDetector(Protocol):
    """Face boxes (with keypoints when the model gives them) in one RGB frame."""

    name: str

    def detect(self, image: RGBImage) -> list[Detection]: ...

    def detect_down_to(
        self, image: RGBImage, min_face_px: int, found: list[Detection]
    ) -> list[Detection]:
        """``found`` plus any face of at least ``min_face_px`` the first pass could miss."""
        ...


class FaceVerifier(Protocol):
    """The whole per-image pipeline: decode, detect, quality, embed, compare. Measures only.

    ``measure`` raises an ``ImageError`` subclass for bytes that are not a usable
    image; every other outcome is a ``FaceMeasurement`` (no verdict: the capture is
    decided by ``proctor.decision.capture.decide_capture``).
    ``enroll`` raises ``EnrollmentRejected`` (details carry per-photo reasons).
    """

    model_id: str

    def enroll(self, photos: Sequence[bytes]) -> Template: ...

    def measure(self, reference: Template, probe: bytes | DecodedImage) -> FaceMeasurement: ...
