"""Helpers for tests on the real models: the registry's single-threshold policy, and one
face measurement decided on its own (no anchor, replay or liveness)."""

from __future__ import annotations

from proctor.decision.capture import (
    CaptureContext,
    CaptureDecision,
    CaptureMeasurements,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.types import FaceMeasurement


def decide_alone(face: FaceMeasurement, policy: OperatingPolicy | None = None) -> CaptureDecision:
    """``decide_capture`` on one face measurement with nothing else measured (no anchor,
    replay or liveness), by default at the model's registry threshold."""
    chosen = policy or registry_policy(face.model_id)
    return decide_capture(CaptureMeasurements.of_face(face), CaptureContext(), chosen)


def registry_policy(model_id: str | None = None) -> OperatingPolicy:
    """The model's single registry threshold, zones and anchoring off (real-model tests of
    other rules; the shipped policy is ``proctor.operating_policy.load_operating_policy``)."""
    from proctor.embedding.registry import model_spec

    spec = model_spec(model_id)
    return OperatingPolicy.single_threshold(spec.model_id, spec.threshold_l2)
