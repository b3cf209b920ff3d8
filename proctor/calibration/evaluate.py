"""Raw versus cohort-normalised scores on the same pairs, leave-identities-out.

Identities are split into ``folds`` by a seeded shuffle. The pairs scored are
those whose two images both lie in one fold, and the cohort for that fold is
every image of the *other* folds: no scored identity is ever in its own cohort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from proctor.calibration.core import build_pairs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ScoredPairs:
    raw_genuine: FloatArray  # similarity = −L2
    raw_impostor: FloatArray
    norm_genuine: FloatArray  # s-norm z
    norm_impostor: FloatArray
    genuine_subjects: IntArray
    impostor_subjects: IntArray
    cohort_sizes: tuple[int, ...]


def pairwise_l2(a: FloatArray, b: FloatArray) -> FloatArray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    out: FloatArray = np.sqrt(np.maximum(sq, 0.0))
    return out


def score_leave_identities_out(
    vectors: FloatArray,
    identities: Sequence[str],
    *,
    folds: int = 3,
    top_k: int = 100,
    max_per_identity: int = 5,
    seed: int = 0,
) -> ScoredPairs:
    pairs = build_pairs(identities, max_per_identity, seed)
    ident = pairs.identity
    n_ids = int(ident.max()) + 1
    rng = np.random.default_rng(seed)
    fold_of_id = rng.permutation(n_ids) % folds
    fold = fold_of_id[ident]
    mean = np.zeros(len(vectors))
    std = np.ones(len(vectors))
    sizes: list[int] = []
    for f in range(folds):
        members = np.flatnonzero(fold == f)
        cohort = np.flatnonzero(fold != f)
        sizes.append(int(cohort.size))
        d = pairwise_l2(vectors[members], vectors[cohort])
        k = max(2, min(top_k, cohort.size))
        near = np.partition(d, k - 1, axis=1)[:, :k]
        mean[members] = near.mean(1)
        std[members] = np.maximum(near.std(1), 1e-6)

    def scores(p: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
        p = p[fold[p[:, 0]] == fold[p[:, 1]]]
        a, b = p[:, 0], p[:, 1]
        dist = np.sqrt(((vectors[a] - vectors[b]) ** 2).sum(1))
        z = 0.5 * ((mean[a] - dist) / std[a] + (mean[b] - dist) / std[b])
        return -dist, z, ident[a]

    rg, ng, sg = scores(pairs.genuine)
    ri, ni, si = scores(pairs.impostor)
    return ScoredPairs(rg, ri, ng, ni, sg, si, tuple(sizes))
