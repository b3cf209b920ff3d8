"""Composition root: settings → policies → real adapters."""

from __future__ import annotations

from dataclasses import replace

from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline, build_verifier


def build_pipeline(settings: ProctorSettings | None = None) -> Pipeline:
    s = settings or ProctorSettings()
    pipe = build_verifier(
        s.model_id,
        s.pipeline_config(),
        threshold_l2=s.threshold_l2,
        working_max_side_px=s.detect_working_side_px,
        models_dir=s.models_dir,
    )
    if s.cohort_path is not None:
        attach_cohort(pipe, s)
    return pipe


def attach_cohort(pipe: Pipeline, s: ProctorSettings) -> None:
    """Turn on s-norm: cohort templates plus the calibrated normalised threshold."""
    from proctor.calibration.cohort_file import load_cohort
    from proctor.calibration.points import load_points, zone_thresholds
    from proctor.embedding.registry import default_models_dir
    from proctor.errors import ModelUnavailable

    assert s.cohort_path is not None
    target = s.operating_target_fmr
    points = load_points(s.models_dir or default_models_dir())
    zones = zone_thresholds(points, pipe.model_id, s.operating_population, target, target)
    if zones is None or zones.match_z is None:
        raise ModelUnavailable(
            f"no s-norm operating point for {pipe.model_id}/{s.operating_population} at FMR "
            f"{target}; run `proctor calibrate`"
        )
    pipe.cohort = load_cohort(s.cohort_path, pipe.model_id, zones.top_k)
    pipe.match_policy = replace(pipe.match_policy, snorm_threshold=zones.match_z)
