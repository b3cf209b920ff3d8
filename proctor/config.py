"""Settings, read once in the composition root (env prefix ``PROCTOR_``).

The core never sees settings: it receives the frozen policies built here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from proctor.imaging.decode import DecodeLimits
from proctor.pipeline import PipelineConfig
from proctor.quality.policy import QualityPolicy


class ProctorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_", env_nested_delimiter="__")

    model_id: str | None = None
    threshold_l2: float | None = None  # overrides the registry's calibrated threshold
    models_dir: Path | None = None
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 16_000_000
    detect_working_side_px: int = 320
    enroll_jitters: int = 1
    snapshot_extra_face_ratio: float = 0.5
    # Cohort s-norm: a file of other people's templates (`proctor cohort build`) and the
    # calibrated operating point (models/operating_points.toml) whose threshold is used.
    cohort_path: Path | None = None
    operating_population: str = "asian-dev"
    operating_target_fmr: str = "0.01"
    reference_extra_face_ratio: float = 0.35

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)

    def pipeline_config(self) -> PipelineConfig:
        from dataclasses import replace

        snap = replace(
            QualityPolicy.snapshot(), extra_face_width_ratio=self.snapshot_extra_face_ratio
        )
        ref = replace(
            QualityPolicy.reference(), extra_face_width_ratio=self.reference_extra_face_ratio
        )
        return PipelineConfig(self.decode_limits(), snap, ref, enroll_jitters=self.enroll_jitters)
