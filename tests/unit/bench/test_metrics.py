from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from proctor.bench.accuracy import score_pairs
from proctor.bench.metrics import error_rates, threshold_for_fmr
from proctor.bench.pairs import Pair


def test_rates_on_a_known_split() -> None:
    gen = [0.1, 0.2, 0.3, 0.7]
    imp = [0.4, 0.8, 0.9, 1.0]
    r = error_rates(gen, imp, 0.5)
    assert r.fmr == 0.25 and r.fnmr == 0.25
    assert r.eer == 0.25


@given(st.lists(st.floats(0.0, 2.0), min_size=1, max_size=300), st.sampled_from([0.01, 0.1, 0.5]))
def test_threshold_for_fmr_never_exceeds_target(imp: list[float], target: float) -> None:
    t = threshold_for_fmr(imp, target)
    if t is not None:
        assert float(np.mean(np.asarray(imp) <= t)) <= target + 1e-12


def test_system_figures_count_failed_acquisition() -> None:
    e = {"a": np.zeros(2), "b": np.array([0.1, 0.0]), "c": np.array([2.0, 0.0]), "x": None}
    pairs = [
        Pair("a", "b", True),
        Pair("a", "x", True),
        Pair("a", "c", False),
        Pair("x", "c", False),
    ]
    r = score_pairs(pairs, e, e, 0.5)
    assert r["pairs_scored"] == 2 and r["fta"] == 0.5
    assert r["fnmr"] == 0.0  # algorithm: skipped
    assert r["system"]["fnmr"] == 0.5  # system: the genuine pair with no face is an error
    assert r["system"]["fmr"] == 0.0
