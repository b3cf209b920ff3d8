"""MatchPolicy and decide_match: distance in, verdict with reasons out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from proctor.errors import ContractMismatch
from proctor.types import Embedding, Template, Verdict


class MatchReason(StrEnum):
    FACE_MISMATCH = "face_mismatch"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    model_id: str
    threshold_l2: float

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold_l2 < 2.0:
            raise ValueError("threshold_l2 must lie in (0, 2)")


@dataclass(frozen=True, slots=True)
class MatchResult:
    verdict: Verdict
    distance: float
    threshold: float
    reasons: tuple[str, ...]


def l2_distance(a: Embedding, b: Embedding) -> float:
    if a.shape != b.shape:
        raise ContractMismatch(
            "embeddings differ in dimension", details={"a": a.shape, "b": b.shape}
        )
    d = float(np.linalg.norm(a - b))
    if not np.isfinite(d):
        raise ValueError("non-finite embedding distance")
    return d


def decide_match(probe: Template, reference: Template, policy: MatchPolicy) -> MatchResult:
    """Compare templates of the same model; different models are never compared."""
    if probe.model_id != reference.model_id or reference.model_id != policy.model_id:
        raise ContractMismatch(
            "templates from different models are never compared",
            details={"probe": probe.model_id, "reference": reference.model_id},
        )
    d = l2_distance(probe.vector, reference.vector)
    if d <= policy.threshold_l2:
        return MatchResult(Verdict.MATCH, d, policy.threshold_l2, ())
    return MatchResult(Verdict.NO_MATCH, d, policy.threshold_l2, (MatchReason.FACE_MISMATCH.value,))
