"""Composition root: settings → policies → real adapters."""

from __future__ import annotations

from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline, build_verifier


def build_pipeline(settings: ProctorSettings | None = None) -> Pipeline:
    s = settings or ProctorSettings()
    return build_verifier(
        s.model_id,
        s.pipeline_config(),
        threshold_l2=s.threshold_l2,
        working_max_side_px=s.detect_working_side_px,
        models_dir=s.models_dir,
    )
