"""Ports the services depend on. Adapters implement them; fakes live in proctor.testing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from proctor.types import Detection, Embedding, RGBImage, Template, VerificationResult


class FaceDetector(Protocol):
    def detect(self, image: RGBImage) -> list[Detection]: ...

    def detect_down_to(
        self, image: RGBImage, min_face_px: int, found: list[Detection]
    ) -> list[Detection]:
        """``found`` plus any face of at least ``min_face_px`` the first pass could miss."""
        ...


class FaceEncoder(Protocol):
    model_id: str

    def encode(self, image: RGBImage, detection: Detection, jitters: int = 1) -> Embedding: ...


class FaceVerifier(Protocol):
    """The whole per-image pipeline: decode, detect, quality, embed, compare.

    ``verify`` raises an ``ImageError`` subclass for bytes that are not a usable
    image; every other outcome is a ``VerificationResult``.
    ``enroll`` raises ``EnrollmentRejected`` (details carry per-photo reasons).
    """

    model_id: str

    def enroll(self, photos: Sequence[bytes]) -> Template: ...

    def verify(self, reference: Template, probe: bytes) -> VerificationResult: ...
