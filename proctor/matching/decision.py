"""MatchPolicy and decide_match: distance in, verdict with reasons out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from proctor.errors import ContractMismatch
from proctor.matching.cohort import CohortStats, snorm
from proctor.types import Embedding, Template, Verdict


class MatchReason(StrEnum):
    FACE_MISMATCH = "face_mismatch"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Raw L2 threshold, and the s-norm threshold used when both sides carry cohort stats.

    Both come from the model registry / operating points, never from code.
    """

    model_id: str
    threshold_l2: float
    snorm_threshold: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold_l2 < 2.0:
            raise ValueError("threshold_l2 must lie in (0, 2)")


@dataclass(frozen=True, slots=True)
class MatchResult:
    verdict: Verdict
    distance: float
    threshold: float
    reasons: tuple[str, ...]
    score: float | None = None  # s-norm z when normalised
    score_threshold: float | None = None


def l2_distance(a: Embedding, b: Embedding) -> float:
    if a.shape != b.shape:
        raise ContractMismatch(
            "embeddings differ in dimension", details={"a": a.shape, "b": b.shape}
        )
    d = float(np.linalg.norm(a - b))
    if not np.isfinite(d):
        raise ValueError("non-finite embedding distance")
    return d


def reference_stats(reference: Template) -> CohortStats | None:
    if reference.cohort_mean_l2 is None or reference.cohort_std_l2 is None:
        return None
    return CohortStats(reference.cohort_mean_l2, reference.cohort_std_l2, 0)


def decide_match(
    probe: Template,
    reference: Template,
    policy: MatchPolicy,
    probe_stats: CohortStats | None = None,
) -> MatchResult:
    """Compare templates of the same model; different models are never compared.

    With an s-norm threshold and cohort statistics for both sides, the verdict
    follows the normalised score; otherwise the raw L2 distance.
    """
    if probe.model_id != reference.model_id or reference.model_id != policy.model_id:
        raise ContractMismatch(
            "templates from different models are never compared",
            details={"probe": probe.model_id, "reference": reference.model_id},
        )
    d = l2_distance(probe.vector, reference.vector)
    ref_stats = reference_stats(reference)
    if policy.snorm_threshold is not None and ref_stats is not None and probe_stats is not None:
        z = snorm(d, ref_stats, probe_stats)
        ok = z >= policy.snorm_threshold
        return MatchResult(
            Verdict.MATCH if ok else Verdict.NO_MATCH,
            d,
            policy.threshold_l2,
            () if ok else (MatchReason.FACE_MISMATCH.value,),
            z,
            policy.snorm_threshold,
        )
    if d <= policy.threshold_l2:
        return MatchResult(Verdict.MATCH, d, policy.threshold_l2, ())
    return MatchResult(Verdict.NO_MATCH, d, policy.threshold_l2, (MatchReason.FACE_MISMATCH.value,))
