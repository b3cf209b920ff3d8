"""The service's cohort rule (pure): leave-self-out, one per subject, content id; two references."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.matching.cohort import (
    Cohort,
    cohort_digest,
    pair_stats,
    sample_per_subject,
    snorm,
    snorm_pair,
)
from proctor.matching.references import TwoReferenceRule, combine_distances, combine_scores


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 128))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_references_own_row_is_left_out_of_both_sides() -> None:
    rng = np.random.default_rng(0)
    others = _unit(rng, 40)
    ref = _unit(rng, 1)[0]
    probe = ref + rng.normal(scale=0.02, size=128)
    d = float(np.linalg.norm(ref - probe))
    without = snorm_pair(d, ref, probe, Cohort("m", others, 10))
    with_self = snorm_pair(d, ref, probe, Cohort("m", np.vstack([others, ref]), 10))
    assert with_self == pytest.approx(without)
    # left in, the reference's own row (distance 0) would drag the genuine z down
    full = Cohort("m", np.vstack([others, ref]), 10)
    assert snorm(d, full.stats(ref), full.stats(probe)) < without


def test_exclude_mask_leaves_out_rows_of_the_reference_identity() -> None:
    rng = np.random.default_rng(1)
    cohort = Cohort("m", _unit(rng, 30), 5)
    ref, probe = _unit(rng, 2)
    mask = np.zeros(30, dtype=bool)
    mask[:10] = True
    r1, p1 = pair_stats(ref, probe, cohort, mask)
    r2, p2 = pair_stats(ref, probe, Cohort("m", cohort.vectors[10:], 5))
    assert (r1.mean_l2, p1.std_l2) == pytest.approx((r2.mean_l2, p2.std_l2))


def test_one_row_per_subject_seeded_and_exclusions() -> None:
    subjects = ["a", "a", "b", "c", "c", "c", "d"]
    idx = sample_per_subject(subjects, 10, seed=0)
    assert sorted(subjects[i] for i in idx) == ["a", "b", "c", "d"]
    assert idx == sample_per_subject(subjects, 10, seed=0)
    assert len(sample_per_subject(subjects, 2, seed=0)) == 2
    assert "b" not in {subjects[i] for i in sample_per_subject(subjects, 9, 0, frozenset("b"))}


def test_cohort_id_is_a_content_digest() -> None:
    v = _unit(np.random.default_rng(2), 5)
    assert Cohort("m", v).cohort_id == cohort_digest("m", v)
    assert Cohort("m", v).cohort_id != Cohort("m", v[:4]).cohort_id
    assert Cohort("m", v).cohort_id != Cohort("other", v).cohort_id
    with pytest.raises(ValueError):
        Cohort("m", np.full((3, 4), np.nan))


def test_two_reference_rules() -> None:
    assert combine_distances(0.5, None) == 0.5  # first verification: the authority alone
    assert combine_distances(0.5, 0.3, TwoReferenceRule.MAX) == 0.3
    assert combine_distances(0.5, 0.3) == pytest.approx(0.4)  # shipped: mean
    assert combine_scores(1.0, 2.0, TwoReferenceRule.MAX) == 2.0
    assert combine_scores(1.0, 2.0) == pytest.approx(1.5)
    assert combine_scores(1.0, None, TwoReferenceRule.MAX) == 1.0
