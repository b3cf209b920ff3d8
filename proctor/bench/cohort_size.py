"""How large must the cohort be? The spread of z for fixed pairs under cohort resampling.

For each cohort size n, ``resamples`` cohorts of n identities (one image each, the
shipped rule) are drawn from the pool, leaving out the identities of the scored pairs;
each fixed pair is scored against every one of them. Reported per n: the median and p95
over pairs of the standard deviation of z, and the share of (pair, resample) decisions
at ``z_threshold`` that differ from the pair's majority decision (decision flips).
The service's ``cohort_min_size`` is the smallest n whose flip rate and z spread are
small (models/cards/dlib_resnet_v1.md, "Cohort size").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from proctor.matching.cohort import Cohort, snorm_pair

FloatArray = npt.NDArray[np.float64]


def z_spread(
    model_id: str,
    pool: FloatArray,
    pool_ids: Sequence[str],
    pairs: Sequence[tuple[FloatArray, FloatArray, str, str]],
    sizes: Sequence[int],
    *,
    top_k: int,
    z_threshold: float,
    resamples: int = 20,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``pairs``: (reference, probe, reference identity, probe identity)."""
    rng = np.random.default_rng(seed)
    scored = {i for _, _, a, b in pairs for i in (a, b)}
    first: dict[str, int] = {}
    for i, ident in enumerate(pool_ids):
        if ident not in scored:
            first.setdefault(ident, i)
    rows = np.asarray(sorted(first.values()))
    out: list[dict[str, Any]] = []
    for n in sizes:
        if n > rows.size:
            break
        z = np.empty((len(pairs), resamples))
        for r in range(resamples):
            chosen = rng.choice(rows, n, replace=False)
            cohort = Cohort(model_id, pool[chosen], top_k)
            for p, (ref, probe, _, _) in enumerate(pairs):
                z[p, r] = snorm_pair(float(np.linalg.norm(ref - probe)), ref, probe, cohort)
        sd = z.std(axis=1)
        accept = z >= z_threshold
        majority = accept.mean(axis=1, keepdims=True) >= 0.5
        flips = float((accept != majority).mean())
        out.append(
            {
                "size": int(n),
                "top_k": int(min(top_k, n)),
                "z_sd_median": round(float(np.median(sd)), 4),
                "z_sd_p95": round(float(np.percentile(sd, 95)), 4),
                "decision_flip_rate": round(flips, 4),
                "pairs": len(pairs),
                "resamples": resamples,
            }
        )
    return out
