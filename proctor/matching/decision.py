"""Distances between templates of one model (measurements; decisions live in
``proctor.decision.capture``)."""

from __future__ import annotations

import numpy as np

from proctor.errors import ContractMismatch
from proctor.matching.cohort import CohortStats
from proctor.types import Embedding, Template


def l2_distance(a: Embedding, b: Embedding) -> float:
    if a.shape != b.shape:
        raise ContractMismatch(
            "embeddings differ in dimension", details={"a": a.shape, "b": b.shape}
        )
    d = float(np.linalg.norm(a - b))
    if not np.isfinite(d):
        raise ValueError("non-finite embedding distance")
    return d


def template_distance(probe: Template, reference: Template) -> float:
    """L2 between templates of the same model; different models are never compared."""
    if probe.model_id != reference.model_id:
        raise ContractMismatch(
            "templates from different models are never compared",
            details={"probe": probe.model_id, "reference": reference.model_id},
        )
    return l2_distance(probe.vector, reference.vector)


def reference_stats(reference: Template) -> CohortStats | None:
    if reference.cohort_mean_l2 is None or reference.cohort_std_l2 is None:
        return None
    return CohortStats(reference.cohort_mean_l2, reference.cohort_std_l2, 0)
