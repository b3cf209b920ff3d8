"""``proctor bench fairness`` on a synthetic world with known answers: two populations, one
configuration; counts, rates and the FNMR ratio follow from the scores."""

from __future__ import annotations

import numpy as np

from proctor.bench.fairness import fairness
from proctor.calibration.reference_cohort import labelled_cohort
from proctor.calibration.runner import LabelledSet
from proctor.decision.policy import OperatingPolicy, ZonePolicy


def _population(rng: np.random.Generator, prefix: str, people: int, spread: float) -> LabelledSet:
    centres = rng.normal(size=(people, 16))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vecs, ids = [], []
    for i, c in enumerate(centres):
        for _ in range(3):
            vecs.append(c + spread * rng.normal(size=16))
            ids.append(f"{prefix}{i}")
    return LabelledSet([""] * len(ids), ids, np.asarray(vecs), [])


def test_one_configuration_two_populations() -> None:
    from proctor.calibration.core import build_pairs
    from proctor.calibration.reference_cohort import score_index_pairs

    rng = np.random.default_rng(0)
    sets = {
        "asian-dev": _population(rng, "a", 30, 0.2),
        "lfw-dev": _population(rng, "l", 30, 0.3),  # looser people: more genuine refusals
    }
    pool = np.vstack([s.vectors for s in sets.values()])
    ids = [i for s in sets.values() for i in s.identities]
    cohort = labelled_cohort("m", pool, ids, size=60, top_k=10)
    policy = OperatingPolicy("m", ZonePolicy(0.4, 0.5, 3.0, 2.0)).with_cohort("c")
    out = fairness(sets, cohort, policy, n_boot=50)
    assert out["limits"] == {"accept_z": 2.0, "match_z": 3.0}
    rates = {}
    for pop, data in sets.items():
        body = out["populations"][pop]
        pairs = build_pairs(data.identities, 5, 0)
        gen = score_index_pairs(cohort, data.vectors, data.identities, pairs.genuine)
        imp = score_index_pairs(cohort, data.vectors, data.identities, pairs.impostor)
        assert body["genuine_pairs"] == 90 and body["impostor_pairs"] == 90 * 89 // 2 - 90
        for name, t in out["limits"].items():
            assert body[name]["fnmr"]["count"] == int((gen < t).sum())
            assert body[name]["fmr"]["count"] == int((imp >= t).sum())
            lo, hi = body[name]["fmr"]["ci95_wilson"]
            assert lo <= body[name]["fmr"]["rate"] <= hi
        rates[pop] = body["accept_z"]["fnmr"]["rate"]
    assert rates["lfw-dev"] > rates["asian-dev"] > 0
    ratio = out["populations"]["lfw-dev"]["accept_z"]["fnmr_ratio_to_asian-dev"]
    assert ratio["ratio"] == rates["lfw-dev"] / rates["asian-dev"]
