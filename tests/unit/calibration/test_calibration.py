"""Calibration maths on synthetic scores whose answers are known exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from proctor.calibration.core import (
    build_pairs,
    eer,
    fmr_at,
    fnmr_at,
    operating_points,
    threshold_at_fmr,
)
from proctor.matching.cohort import CohortStats, cohort_stats, snorm


def test_threshold_at_fmr_on_a_known_ladder() -> None:
    imp = np.arange(1000, dtype=np.float64)  # impostor similarities 0..999
    t = threshold_at_fmr(imp, 0.01)  # 10 impostors may pass: 990..999
    assert fmr_at(imp, t) == 0.01
    assert 989 < t <= 990
    assert fmr_at(imp, threshold_at_fmr(imp, 0.001)) == 0.001


@given(
    st.lists(st.floats(-5, 5), min_size=5, max_size=400),
    st.sampled_from([0.1, 0.01, 0.001]),
)
def test_fmr_never_exceeds_target(imp: list[float], target: float) -> None:
    a = np.asarray(imp)
    assert fmr_at(a, threshold_at_fmr(a, target)) <= target


def test_eer_of_separated_and_overlapping_sets() -> None:
    gen = np.array([5.0, 6.0, 7.0, 8.0])
    imp = np.array([1.0, 2.0, 3.0, 4.0])
    assert eer(gen, imp)[0] == 0.0
    gen2 = np.array([1.0, 2.0, 3.0, 4.5])
    imp2 = np.array([0.0, 3.5, 0.5, 0.2])
    assert eer(gen2, imp2)[0] == 0.25


def test_gaussian_operating_point_and_bootstrap_interval() -> None:
    rng = np.random.default_rng(7)
    gen = rng.normal(3.0, 1.0, 20000)
    imp = rng.normal(0.0, 1.0, 200000)
    (op,) = operating_points(
        gen,
        imp,
        [0.01],
        genuine_subjects=rng.integers(0, 200, gen.size),
        impostor_subjects=rng.integers(0, 200, imp.size),
        n_boot=50,
    )
    # Known answer: threshold = Φ⁻¹(0.99) = 2.326; FNMR = Φ(2.326 − 3) = Φ(−0.674) = 0.25.
    assert abs(op.threshold - 2.326) < 0.03
    assert abs(op.fnmr - 0.25) < 0.015
    assert op.fnmr_ci[0] <= op.fnmr <= op.fnmr_ci[1]
    assert fnmr_at(gen, op.threshold) == op.fnmr


def test_pairs_cap_identities_and_split_genuine_from_impostor() -> None:
    ids = ["a"] * 10 + ["b"] * 2 + ["c"]
    p = build_pairs(ids, max_per_identity=3)
    # a: 3 kept → 3 genuine pairs; b: 1 pair; c: none. Impostors: 3·2 + 3·1 + 2·1 = 11.
    assert len(p.genuine) == 4
    assert len(p.impostor) == 11
    assert all(p.identity[a] == p.identity[b] for a, b in p.genuine)
    assert all(p.identity[a] != p.identity[b] for a, b in p.impostor)


def test_snorm_is_symmetric_and_rewards_distance_below_cohort() -> None:
    rng = np.random.default_rng(3)
    cohort = rng.normal(size=(300, 16))
    a, b = rng.normal(size=16), rng.normal(size=16)
    sa, sb = cohort_stats(a, cohort, 50), cohort_stats(b, cohort, 50)
    d = float(np.linalg.norm(a - b))
    assert snorm(d, sa, sb) == snorm(d, sb, sa)
    assert snorm(0.5 * sa.mean_l2, sa, sa) > 0 > snorm(2 * sa.mean_l2, sa, sa)
    s = CohortStats(1.0, 0.1, 10)
    assert abs(snorm(0.8, s, s) - 2.0) < 1e-12  # two spreads closer than the mean
