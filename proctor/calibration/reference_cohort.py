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

from proctor.matching.cohort import Cohort, sample_per_subject, snorm_pair

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LabelledCohort:
    cohort: Cohort
    identities: npt.NDArray[np.str_]

    def exclude(self, identity: str) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = self.identities == identity
        return mask

    def score(self, reference: FloatArray, probe: FloatArray, reference_identity: str) -> float:
        d = float(np.linalg.norm(reference - probe))
        return snorm_pair(d, reference, probe, self.cohort, self.exclude(reference_identity))


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
    """z of each (reference index, probe index) pair."""
    out = np.empty(len(pairs))
    for n, (a, b) in enumerate(pairs):
        out[n] = lc.score(vectors[a], vectors[b], identities[a])
    return out
