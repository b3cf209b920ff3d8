"""QualityPolicy and assess_quality: metrics in, reason codes out. Pure core."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class QualityReason(StrEnum):
    """Stable, public reason codes. Never rename them."""

    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_CUT_OFF = "face_cut_off"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    BLURRY = "blurry"
    HEAD_TURNED = "head_turned"


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    face_width_px: int
    outside_fraction: float  # share of the face box lying outside the image
    brightness_mean: float  # 0..255, face region, gray
    sharpness_lapvar: float  # variance of the Laplacian on a normalised face crop
    yaw_deg: float  # signed estimate from the 5 landmarks
    extra_faces: int  # other faces large enough to be another person


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    min_face_px: int
    max_outside_fraction: float
    min_brightness: float
    max_brightness: float
    min_sharpness_lapvar: float
    max_abs_yaw_deg: float
    extra_face_width_ratio: float

    @classmethod
    def snapshot(cls) -> QualityPolicy:
        """Live webcam captures during study and exam."""
        return cls(
            min_face_px=60,
            max_outside_fraction=0.15,
            min_brightness=40.0,
            max_brightness=225.0,
            min_sharpness_lapvar=15.0,
            max_abs_yaw_deg=35.0,
            extra_face_width_ratio=0.5,
        )

    @classmethod
    def reference(cls) -> QualityPolicy:
        """Real-name reference photos: stricter on every axis."""
        return cls(
            min_face_px=80,
            max_outside_fraction=0.05,
            min_brightness=50.0,
            max_brightness=215.0,
            min_sharpness_lapvar=25.0,
            max_abs_yaw_deg=25.0,
            extra_face_width_ratio=0.35,
        )

    @classmethod
    def permissive(cls) -> QualityPolicy:
        """No gating: used by accuracy benchmarks that measure the algorithm alone."""
        return cls(0, 1.0, 0.0, 256.0, 0.0, 180.0, 10.0)


@dataclass(frozen=True, slots=True)
class QualityReport:
    reasons: tuple[QualityReason, ...]
    metrics: QualityMetrics | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons


def assess_quality(m: QualityMetrics, policy: QualityPolicy) -> QualityReport:
    """Every reason that applies, in a fixed order."""
    r: list[QualityReason] = []
    if m.extra_faces > 0:
        r.append(QualityReason.MULTIPLE_FACES)
    if m.face_width_px < policy.min_face_px:
        r.append(QualityReason.FACE_TOO_SMALL)
    if m.outside_fraction > policy.max_outside_fraction:
        r.append(QualityReason.FACE_CUT_OFF)
    if m.brightness_mean < policy.min_brightness:
        r.append(QualityReason.TOO_DARK)
    if m.brightness_mean > policy.max_brightness:
        r.append(QualityReason.TOO_BRIGHT)
    if m.sharpness_lapvar < policy.min_sharpness_lapvar:
        r.append(QualityReason.BLURRY)
    if abs(m.yaw_deg) > policy.max_abs_yaw_deg:
        r.append(QualityReason.HEAD_TURNED)
    return QualityReport(tuple(r), m)
