"""Canonical value types shared by the core and the adapters.

Boxes are ``BBox(x1, y1, x2, y2)`` in integer pixels of the *original* image,
x2/y2 exclusive. Images are numpy arrays tagged by alias: ``RGBImage`` is
HxWx3 uint8 in RGB order. Colour conversion happens in ``proctor.imaging`` only.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

RGBImage: TypeAlias = npt.NDArray[np.uint8]
GrayImage: TypeAlias = npt.NDArray[np.uint8]
Embedding: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BBox:
    """Axis-aligned box ``(x1, y1, x2, y2)``, integer pixels, x2/y2 exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int

    def __post_init__(self) -> None:
        if self.x2 <= self.x1 or self.y2 <= self.y1:
            raise ValueError(f"degenerate box {self.as_tuple()}")

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)

    def scaled(self, factor: float) -> BBox:
        """Box multiplied by ``factor`` (e.g. from a working copy back to the original)."""
        return BBox(
            round(self.x1 * factor),
            round(self.y1 * factor),
            max(round(self.x2 * factor), round(self.x1 * factor) + 1),
            max(round(self.y2 * factor), round(self.y1 * factor) + 1),
        )


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected face: box in original coordinates and the detector's score."""

    bbox: BBox
    score: float
    upsample: int = 0
    # Original pixels per pixel of the copy it was found on (1.0: full size).
    scale: float = 1.0
    # Detector keypoints in original pixels (BlazeFace: right eye, left eye, nose tip,
    # mouth centre, right ear, left ear; empty for HOG) and the detector's own box
    # (x1, y1, x2, y2, float px) when ``bbox`` is mapped to another convention.
    keypoints: tuple[tuple[float, float], ...] = ()
    raw_box: tuple[float, float, float, float] | None = None


class Verdict(StrEnum):
    """Values are persisted and public: never rename them."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNCERTAIN = "uncertain"  # between the calibrated zones: manual review, not a strike
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """A reference or probe embedding, always tagged with the model that made it."""

    model_id: str
    vector: Embedding
    source_count: int = 1
    jitters: int = 1
    # 64-bit perceptual hashes of the aligned reference chips, for replay checks.
    perceptual_hashes: tuple[int, ...] = ()
    # Cohort statistics (top-k mean and spread of L2 distances to other people),
    # computed at enrollment when a cohort is configured; used by s-norm.
    cohort_mean_l2: float | None = None
    cohort_std_l2: float | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.vector, dtype=np.float64)
        if v.ndim != 1 or not np.all(np.isfinite(v)):
            raise ValueError("template vector must be a finite 1-D array")
        object.__setattr__(self, "vector", v)

    def to_bytes(self) -> bytes:
        """``PTv1`` header (dim, cohort mean, cohort std; NaN when absent) + float64 vector."""
        mean = math.nan if self.cohort_mean_l2 is None else self.cohort_mean_l2
        std = math.nan if self.cohort_std_l2 is None else self.cohort_std_l2
        header = _TEMPLATE_MAGIC + struct.pack("<Idd", self.vector.size, mean, std)
        return header + self.vector.astype("<f8").tobytes()

    @classmethod
    def from_bytes(
        cls, model_id: str, raw: bytes, source_count: int = 1, jitters: int = 1
    ) -> Template:
        """Inverse of ``to_bytes``; also reads a bare float64 vector (no header)."""
        mean = std = None
        if raw[:4] == _TEMPLATE_MAGIC:
            dim, m, sd = struct.unpack("<Idd", raw[4:24])
            raw = raw[24:]
            if len(raw) != 8 * dim:
                raise ValueError("template bytes do not match their declared size")
            mean = None if math.isnan(m) else m
            std = None if math.isnan(sd) else sd
        vec = np.frombuffer(raw, dtype="<f8").copy()
        return cls(
            model_id,
            vec,
            source_count=source_count,
            jitters=jitters,
            cohort_mean_l2=mean,
            cohort_std_l2=std,
        )


_TEMPLATE_MAGIC = b"PTv1"


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An upload's pixels, decoded once (before its challenge is claimed) and handed
    explicitly to the comparison, so the bytes are not decoded a second time."""

    source: bytes = field(repr=False)
    rgb: RGBImage = field(repr=False)
    decode_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class FaceMeasurement:
    """What the pipeline measured on one probe image against a reference template.

    Measurements only: no verdict. ``quality_reasons`` holds the face stage's codes
    (``no_face``, ``multiple_faces``, quality codes); when it is non-empty nothing was
    embedded and the distances are None. ``pixel_sha256`` and ``perceptual_hash``
    describe the decoded pixels for replay checks; ``face_crop_jpeg`` is the evidence
    crop (never logged). The decision is ``proctor.decision.capture.decide_capture``'s.
    """

    model_id: str
    quality_reasons: tuple[str, ...] = ()
    reference_l2: float | None = None
    # Cohort-normalised similarity (s-norm z), when a cohort is in use.
    reference_z: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    face_count: int = 0
    bbox: BBox | None = None
    pixel_sha256: str = ""
    perceptual_hash: int = 0
    face_crop_jpeg: bytes | None = field(default=None, repr=False)
    # The probe's own template (for session anchoring); biometric: never logged or stored
    # outside the encrypted template store.
    probe: Template | None = field(default=None, repr=False)
