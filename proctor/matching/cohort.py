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
    cohort_id: str = ""  # content digest (cohort_digest) unless given

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] < 2:
            raise ValueError("a cohort needs at least two templates")
        if not np.all(np.isfinite(v)):
            raise ValueError("cohort templates must be finite")
        object.__setattr__(self, "vectors", v)
        object.__setattr__(self, "top_k", max(2, min(self.top_k, v.shape[0])))
        if not self.cohort_id:
            object.__setattr__(self, "cohort_id", cohort_digest(self.model_id, v))

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

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


# ---- the production cohort: other drivers' references (issue 21) --------------------------------

SELF_EPS = 1e-9  # a cohort row this close to the reference *is* the reference (leave-self-out)


def leave_self_out(distances: FloatArray, eps: float = SELF_EPS) -> npt.NDArray[np.bool_]:
    """Boolean mask of cohort rows that are not the reference itself.

    The service's cohort is drawn from every enrolled reference, so the driver's own
    reference is usually in it. Left in, it is the nearest row to the reference (at
    distance 0) and near the driver's genuine probe too: both sides' statistics would be
    pulled towards the driver and the genuine z-score down. Rows at distance 0 from the
    reference are dropped from both sides.
    """
    keep: npt.NDArray[np.bool_] = distances > eps
    return keep


def snorm_pair(
    distance: float,
    reference: FloatArray,
    probe: FloatArray,
    cohort: Cohort,
    exclude: npt.NDArray[np.bool_] | None = None,
) -> float:
    """Adaptive symmetric s-norm of one comparison against ``cohort``, the reference's own
    row left out (``exclude`` marks further rows to leave out, e.g. the reference's
    identity in a benchmark where it has other photos)."""
    ref_stats, probe_stats = pair_stats(reference, probe, cohort, exclude)
    return snorm(distance, ref_stats, probe_stats)


def pair_stats(
    reference: FloatArray,
    probe: FloatArray,
    cohort: Cohort,
    exclude: npt.NDArray[np.bool_] | None = None,
) -> tuple[CohortStats, CohortStats]:
    """Both sides' cohort statistics over the same rows: the reference's own left out."""
    d_ref = cohort_distances(np.asarray(reference, np.float64), cohort.vectors)
    d_probe = cohort_distances(np.asarray(probe, np.float64), cohort.vectors)
    keep = leave_self_out(d_ref)
    if exclude is not None:
        keep &= ~exclude
    if int(keep.sum()) < 2:
        raise ValueError("a cohort needs at least two templates besides the reference")
    return (
        stats_from_distances(d_ref[keep], cohort.top_k),
        stats_from_distances(d_probe[keep], cohort.top_k),
    )


def cohort_digest(model_id: str, vectors: FloatArray) -> str:
    """Content id of a cohort: sha256 over the model id and the float64 rows (first 16 hex)."""
    import hashlib

    h = hashlib.sha256(model_id.encode())
    h.update(np.ascontiguousarray(vectors, dtype="<f8").tobytes())
    return h.hexdigest()[:16]


def sample_per_subject(
    subjects: list[str], size: int, seed: int, exclude: frozenset[str] = frozenset()
) -> list[int]:
    """Indices of at most ``size`` entries, one per subject, drawn with a seeded permutation
    (subjects in ``exclude`` never); returned in subject order so the cohort id is stable."""
    rng = np.random.default_rng(seed)
    first: dict[str, int] = {}
    for i in rng.permutation(len(subjects)):
        s = subjects[int(i)]
        if s not in exclude:
            first.setdefault(s, int(i))
    chosen = list(first.items())[: max(size, 0)]
    return [i for _, i in sorted(chosen)]
