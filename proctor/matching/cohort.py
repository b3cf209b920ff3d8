"""Cohort score normalisation (adaptive symmetric s-norm). Pure core: numpy only.

A comparison's raw L2 distance ``d`` is turned into a similarity z-score measured
against how far each side lies from a cohort of *other people's* templates::

    z = ½ · ((μ_ref − d) / σ_ref + (μ_probe − d) / σ_probe)

where μ and σ are the mean and standard deviation of the ``top_k`` smallest
distances from that side to the cohort (adaptive s-norm). Higher z means more
alike. The reference's statistics are computed once at enrollment and stored;
the probe's cost one (cohort × dim) distance computation per snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_STD = 1e-6


@dataclass(frozen=True, slots=True)
class CohortStats:
    mean_l2: float
    std_l2: float
    top_k: int

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean_l2) and np.isfinite(self.std_l2)) or self.std_l2 <= 0:
            raise ValueError("cohort statistics must be finite with a positive spread")


@dataclass(frozen=True, slots=True)
class Cohort:
    """Templates of other people, all from one model."""

    model_id: str
    vectors: FloatArray
    top_k: int = 100

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] < 2:
            raise ValueError("a cohort needs at least two templates")
        object.__setattr__(self, "vectors", v)
        object.__setattr__(self, "top_k", max(2, min(self.top_k, v.shape[0])))

    def stats(self, vector: FloatArray) -> CohortStats:
        return cohort_stats(vector, self.vectors, self.top_k)


def cohort_distances(vector: FloatArray, cohort: FloatArray) -> FloatArray:
    diff = cohort - vector[None, :]
    out: FloatArray = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def stats_from_distances(distances: FloatArray, top_k: int) -> CohortStats:
    k = max(2, min(top_k, distances.shape[0]))
    near = np.partition(distances, k - 1)[:k]
    return CohortStats(float(near.mean()), max(float(near.std()), MIN_STD), k)


def cohort_stats(vector: FloatArray, cohort: FloatArray, top_k: int) -> CohortStats:
    return stats_from_distances(cohort_distances(vector, cohort), top_k)


def snorm(distance: float, ref: CohortStats, probe: CohortStats) -> float:
    """Symmetric normalised similarity: higher is more alike; swapping sides changes nothing."""
    return 0.5 * ((ref.mean_l2 - distance) / ref.std_l2 + (probe.mean_l2 - distance) / probe.std_l2)
