"""Ports the services depend on. Adapters implement them; fakes live in proctor.testing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from proctor.types import DecodedImage, FaceMeasurement, Template


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
