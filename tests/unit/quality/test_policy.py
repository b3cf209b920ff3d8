from __future__ import annotations

from dataclasses import replace

from proctor.quality.metrics import outside_fraction, yaw_from_landmarks
from proctor.quality.policy import QualityMetrics, QualityPolicy, QualityReason, assess_quality
from proctor.types import BBox

GOOD = QualityMetrics(
    face_width_px=200,
    outside_fraction=0.0,
    brightness_mean=120.0,
    sharpness_lapvar=300.0,
    yaw_deg=3.0,
    extra_faces=0,
)


def test_good_face_passes_both_policies() -> None:
    assert assess_quality(GOOD, QualityPolicy.snapshot()).ok
    assert assess_quality(GOOD, QualityPolicy.reference()).ok


def test_every_reason_is_reported_not_just_the_first() -> None:
    bad = replace(GOOD, face_width_px=20, brightness_mean=10.0, sharpness_lapvar=1.0, extra_faces=1)
    reasons = assess_quality(bad, QualityPolicy.snapshot()).reasons
    assert set(reasons) == {
        QualityReason.MULTIPLE_FACES,
        QualityReason.FACE_TOO_SMALL,
        QualityReason.TOO_DARK,
        QualityReason.BLURRY,
    }


def test_reference_policy_is_stricter_than_snapshot() -> None:
    snap, ref = QualityPolicy.snapshot(), QualityPolicy.reference()
    assert ref.min_face_px >= snap.min_face_px
    assert ref.max_abs_yaw_deg <= snap.max_abs_yaw_deg
    assert ref.min_sharpness_lapvar >= snap.min_sharpness_lapvar
    assert ref.extra_face_width_ratio <= snap.extra_face_width_ratio
    turned = replace(GOOD, yaw_deg=30.0)
    assert assess_quality(turned, snap).ok
    assert assess_quality(turned, ref).reasons == (QualityReason.HEAD_TURNED,)


def test_outside_fraction_and_yaw() -> None:
    assert outside_fraction(BBox(0, 0, 10, 10), 100, 100) == 0.0
    assert outside_fraction(BBox(-5, 0, 5, 10), 100, 100) == 0.5
    frontal = [(10.0, 0.0), (20.0, 0.0), (40.0, 0.0), (30.0, 0.0), (25.0, 20.0)]
    assert abs(yaw_from_landmarks(frontal)) < 1.0
    turned = [(10.0, 0.0), (20.0, 0.0), (40.0, 0.0), (30.0, 0.0), (35.0, 20.0)]
    assert yaw_from_landmarks(turned) > 15.0
