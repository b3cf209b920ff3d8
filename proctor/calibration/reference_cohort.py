"""The shipped cohort rule applied to labelled dev data (calibration and benchmarks).

The service's cohort is one reference per enrolled driver, and each comparison leaves the
reference's own row out (``proctor.matching.cohort.snorm_pair``). On a labelled set the
"enrolled drivers" are its identities: one image per identity (seeded), pooled over every
population the service serves (one cohort for all), and each comparison leaves out the
rows of the *reference's identity* (that person's only row in production). The scores
come from ``snorm_pair``, the production function itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from proctor.matching.cohort import MIN_STD, Cohort, sample_per_subject, snorm_pair

FloatArray = npt.NDArray[np.float64]
CHUNK = 20_000  # pairs scored at once (bounded memory on LFW's 300k impostor pairs)


@dataclass(frozen=True, slots=True)
class LabelledCohort:
    cohort: Cohort
    identities: npt.NDArray[np.str_]

    def exclude(self, *identities: str) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = np.isin(self.identities, [i for i in identities if i])
        return mask

    def score(
        self,
        reference: FloatArray,
        probe: FloatArray,
        reference_identity: str,
        probe_identity: str = "",
    ) -> float:
        """z with both people's rows left out. Production leaves out the reference's row
        only; leaving out the probe's person too (a proxy who is an enrolled driver) keeps
        the impostor's z from being pulled down by his own row: the conservative side."""
        d = float(np.linalg.norm(reference - probe))
        mask = self.exclude(reference_identity, probe_identity)
        return snorm_pair(d, reference, probe, self.cohort, mask)


def labelled_cohort(
    model_id: str,
    vectors: FloatArray,
    identities: Sequence[str],
    *,
    size: int,
    top_k: int,
    seed: int = 0,
) -> LabelledCohort:
    idx = sample_per_subject(list(identities), size, seed)
    ids = np.asarray([identities[i] for i in idx])
    return LabelledCohort(Cohort(model_id, np.asarray(vectors)[idx], top_k), ids)


def score_index_pairs(
    lc: LabelledCohort,
    vectors: FloatArray,
    identities: Sequence[str],
    pairs: npt.NDArray[np.int64],
) -> FloatArray:
    """z of each (reference index, probe index) pair, as ``LabelledCohort.score`` gives it,
    vectorised: each image's ``top_k + 2`` nearest rows are kept once, and each pair drops
    the (at most two: one row per person) rows of its two people before taking ``top_k``."""
    k = lc.cohort.top_k
    rows = lc.cohort.vectors
    keep = min(k + 2, rows.shape[0])
    d_all = pairwise(vectors, rows)
    near = np.argsort(d_all, axis=1)[:, :keep]
    near_d = np.take_along_axis(d_all, near, axis=1)
    _, codes = np.unique(
        np.concatenate([lc.identities, np.asarray(identities)]), return_inverse=True
    )
    row_code = codes[: len(lc.identities)]
    img_code = codes[len(lc.identities) :]
    near_code = row_code[near]

    def side(
        idx: npt.NDArray[np.int64], ex_a: npt.NDArray[np.int64], ex_b: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        ok = (near_code[idx] != ex_a) & (near_code[idx] != ex_b)
        take = ok & (np.cumsum(ok, axis=1) <= k)
        n = take.sum(axis=1)
        if np.any(n < 2):
            raise ValueError("a cohort needs at least two templates besides the pair's people")
        vals = np.where(take, near_d[idx], 0.0)
        mean = vals.sum(axis=1) / n
        var = np.where(take, (near_d[idx] - mean[:, None]) ** 2, 0.0).sum(axis=1) / n
        return mean, np.maximum(np.sqrt(var), MIN_STD)

    out: FloatArray = np.empty(len(pairs))
    for lo in range(0, len(pairs), CHUNK):
        a, b = pairs[lo : lo + CHUNK, 0], pairs[lo : lo + CHUNK, 1]
        ex_a, ex_b = img_code[a][:, None], img_code[b][:, None]
        dist = np.linalg.norm(vectors[a] - vectors[b], axis=1)
        ma, sa = side(a, ex_a, ex_b)
        mb, sb = side(b, ex_a, ex_b)
        out[lo : lo + CHUNK] = 0.5 * ((ma - dist) / sa + (mb - dist) / sb)
    return out


def pairwise(a: FloatArray, b: FloatArray) -> FloatArray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    out: FloatArray = np.sqrt(np.maximum(sq, 0.0))
    return out
