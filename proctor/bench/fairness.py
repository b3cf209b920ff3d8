"""`proctor bench fairness`: one shipped configuration, two dev populations (issue 21 item 5).

Every same- and cross-identity pair of each population (at most ``max_per_identity``
images per person, as in calibration) is scored under the shipped cohort rule (one image
per person pooled over the populations served, both people's rows left out) and judged
at the policy's entry limits on the s-norm z: *accepted* at the no-match limit (the FMR 1%
point; a score between the limits is a manual check, not a refusal) and *matched* at the
match limit. FMR and FNMR per population with Wilson 95% intervals (pairs of one person are
not independent: optimistic) and a subject bootstrap; the FNMR ratio (other population ÷
East-Asian, the population the limits were calibrated on) with its bootstrap interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from proctor.bench.sessions import wilson
from proctor.calibration.reference_cohort import LabelledCohort, score_index_pairs
from proctor.decision.policy import OperatingPolicy
from proctor.pipeline import Pipeline

BASE_POPULATION = "asian-dev"


def _subject_boot(
    hits: np.ndarray, subjects: np.ndarray, rng: np.random.Generator, n_boot: int
) -> np.ndarray:
    names, codes = np.unique(subjects, return_inverse=True)
    k = np.bincount(codes, weights=hits.astype(np.float64), minlength=len(names))
    n = np.bincount(codes, minlength=len(names)).astype(np.float64)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    rates: np.ndarray = k[draws].sum(axis=1) / np.maximum(n[draws].sum(axis=1), 1.0)
    return rates


def _rate(hits: np.ndarray, boot: np.ndarray) -> dict[str, Any]:
    k, n = int(hits.sum()), int(hits.size)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {
        "count": k,
        "of": n,
        "rate": k / n if n else 0.0,
        "ci95_wilson": list(wilson(k, n)),
        "ci95_subject_bootstrap": [round(float(lo), 4), round(float(hi), 4)],
    }


def fairness(
    sets: dict[str, Any],
    cohort: LabelledCohort,
    policy: OperatingPolicy,
    *,
    max_per_identity: int = 5,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """``sets``: population → ``LabelledSet``; the first limits are the policy's entry z."""
    from proctor.calibration.core import build_pairs

    z = policy.reference
    if z.match_z is None or z.no_match_z is None:
        raise ValueError("fairness is measured on the s-norm configuration (no z limits)")
    limits = {"accept_z": z.no_match_z, "match_z": z.match_z}
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"policy_id": policy.policy_id, "limits": limits, "populations": {}}
    boots: dict[str, dict[str, np.ndarray]] = {}
    for pop, data in sets.items():
        pairs = build_pairs(data.identities, max_per_identity, seed)
        gen = score_index_pairs(cohort, data.vectors, data.identities, pairs.genuine)
        imp = score_index_pairs(cohort, data.vectors, data.identities, pairs.impostor)
        gs = np.asarray(pairs.identity[pairs.genuine[:, 0]])
        is_ = np.asarray(pairs.identity[pairs.impostor[:, 0]])
        body: dict[str, Any] = {"genuine_pairs": int(gen.size), "impostor_pairs": int(imp.size)}
        boots[pop] = {}
        for name, t in limits.items():
            fnm, fm = gen < t, imp >= t
            b_fnm = _subject_boot(fnm, gs, rng, n_boot)
            b_fm = _subject_boot(fm, is_, rng, n_boot)
            boots[pop][name] = b_fnm
            body[name] = {"fmr": _rate(fm, b_fm), "fnmr": _rate(fnm, b_fnm)}
        out["populations"][pop] = body
    base = out["populations"].get(BASE_POPULATION)
    if base is not None:
        for pop, body in out["populations"].items():
            if pop == BASE_POPULATION:
                continue
            for name in limits:
                b = base[name]["fnmr"]["rate"]
                ratio = body[name]["fnmr"]["rate"] / b if b else None
                rb = boots[pop][name] / np.maximum(boots[BASE_POPULATION][name], 1e-12)
                lo, hi = np.percentile(rb, [2.5, 97.5])
                body[name]["fnmr_ratio_to_" + BASE_POPULATION] = {
                    "ratio": ratio,
                    "ci95_bootstrap": [round(float(lo), 3), round(float(hi), 3)],
                }
    return out


def run_fairness(pipe: Pipeline, images_tsv: Path, populations: tuple[str, ...]) -> dict[str, Any]:
    from proctor.bench.policy import bench_cohort, bench_policy, describe
    from proctor.calibration.runner import embed_labelled, read_images_tsv
    from proctor.config import ProctorSettings

    settings = ProctorSettings()
    cohort = bench_cohort(settings, pipe, images_tsv)
    if cohort is None:
        raise ValueError("s-norm is off or not calibrated: nothing to measure")
    policy = bench_policy(settings, pipe, cohort)
    sets = {
        pop: embed_labelled(pipe, images_tsv.parent, read_images_tsv(images_tsv, pop))
        for pop in populations
    }
    return {"policy": describe(settings, pipe, cohort)} | fairness(sets, cohort, policy)
