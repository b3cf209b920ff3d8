"""Two references (issue 21 item 4): with a ``live_verified`` reference measured, the
calibrated rule's combined score decides the identity check (entry zones, anchored loose
check) on its own limits, recorded by name; without one the authority photo decides alone.
Limits here are made up: the rule, not the calibration, is under test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import (
    AnchorPolicy,
    OperatingPolicy,
    SnormPolicy,
    TwoReferencePolicy,
    ZonePolicy,
)
from proctor.matching.cohort import Cohort, snorm_pair
from proctor.matching.references import score_live_reference
from proctor.types import Template, Verdict

TWO = TwoReferencePolicy("mean", 0.40, 0.44, 0.48, 2.5, 2.0, 1.5)
POLICY = OperatingPolicy(
    "m",
    ZonePolicy(0.41, 0.45, 2.72, 2.00),
    AnchorPolicy(0.444, 0.497, reference_loose_z=1.43),
    snorm=SnormPolicy("references", "snorm_references", top_k=5, min_size=10, size=10),
    two_references=TWO,
)
ENTRY = CaptureContext()
ANCHORED = CaptureContext(anchored=True)


def entry(ref_z: float, live_z: float | None, ref_l2: float = 0.5) -> CaptureMeasurements:
    live_l2 = None if live_z is None else 0.3
    return CaptureMeasurements(
        model_id="m",
        reference_l2=ref_l2,
        reference_z=ref_z,
        live_reference_l2=live_l2,
        live_reference_z=live_z,
    )


def test_without_a_live_reference_the_authority_photo_decides_alone() -> None:
    d = decide_capture(entry(1.0, None), ENTRY, POLICY)
    assert d.verdict is Verdict.NO_MATCH
    assert "reference_match_z" in d.thresholds
    assert not any(k.startswith("two_reference") for k in d.thresholds)


def test_a_capture_closer_to_the_live_reference_passes_on_the_mean_rule() -> None:
    # authority alone: z 2.2 is uncertain (2.0 <= z < 2.72); with the live one: mean 3.1
    alone = decide_capture(entry(2.2, None), ENTRY, POLICY)
    assert alone.verdict is Verdict.UNCERTAIN
    both = decide_capture(entry(2.2, 4.0), ENTRY, POLICY)
    assert both.verdict is Verdict.MATCH and both.passed
    assert both.thresholds["two_reference_match_z"] == 2.5
    assert both.distances["two_reference_z"] == pytest.approx(3.1)
    assert both.distances["live_reference_z"] == 4.0
    assert "reference_match_z" not in both.thresholds  # the authority's zones did not decide


def test_a_proxy_far_from_both_references_fails_and_is_flagged() -> None:
    m = replace(entry(-1.0, -0.5, ref_l2=0.9), live_reference_l2=0.85)
    d = decide_capture(m, ENTRY, POLICY)
    assert d.verdict is Verdict.NO_MATCH
    assert "proxy_face" in d.flags
    assert d.threshold == TWO.no_match_l2


def test_max_rule_takes_the_better_reference() -> None:
    p = replace(POLICY, two_references=replace(TWO, rule="max"))
    assert decide_capture(entry(0.0, 2.6), ENTRY, p).verdict is Verdict.MATCH
    assert decide_capture(entry(0.0, 2.6), ENTRY, POLICY).verdict is Verdict.NO_MATCH


def test_raw_fallback_uses_the_combined_distance() -> None:
    raw = replace(POLICY, snorm=None)
    m = CaptureMeasurements(model_id="m", reference_l2=0.46, live_reference_l2=0.30)
    d = decide_capture(m, ENTRY, raw)  # mean 0.38 <= 0.40
    assert d.verdict is Verdict.MATCH
    assert d.distances["two_reference_l2"] == pytest.approx(0.38)
    assert "two_reference_z" not in d.distances


def test_anchored_loose_check_is_on_the_combined_score() -> None:
    m = replace(entry(1.0, 2.2), anchor_l2=0.2)  # authority alone 1.0 < 1.43; mean 1.6 >= 1.5
    assert decide_capture(replace(m, live_reference_l2=None), ANCHORED, POLICY).verdict is (
        Verdict.NO_MATCH
    )
    d = decide_capture(m, ANCHORED, POLICY)
    assert d.verdict is Verdict.MATCH
    assert d.thresholds["two_reference_loose_z"] == 1.5 and "anchor_l2" in d.thresholds
    assert "two_reference_match_z" not in d.thresholds


def test_the_rule_is_part_of_the_policy() -> None:
    assert POLICY.by_kind()["two_references"]["two_reference_match_z"] == 2.5
    others = [
        replace(POLICY, two_references=None),
        replace(POLICY, two_references=replace(TWO, rule="max")),
    ]
    assert all(o.policy_id != POLICY.policy_id for o in others)
    with pytest.raises(ValueError):
        TwoReferencePolicy("median", 0.4, 0.44, 0.48)
    with pytest.raises(ValueError):
        TwoReferencePolicy("mean", 0.4, 0.44, 0.48, 2.0, None, 1.0)


def test_live_score_leaves_the_drivers_own_rows_out() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(20, 8))
    auth, live = rows[0], rows[0] + 0.05 * rng.normal(size=8)
    probe = live + 0.05 * rng.normal(size=8)
    cohort = Cohort("m", rows, top_k=5)  # holds the driver's authority photo (row 0)
    d, z = score_live_reference(
        Template("m", probe), Template("m", live), Template("m", auth), cohort
    )
    assert d == pytest.approx(float(np.linalg.norm(probe - live)))
    assert z == pytest.approx(snorm_pair(d, live, probe, Cohort("m", rows[1:], top_k=5)))
    assert (
        score_live_reference(Template("m", probe), Template("m", live), Template("m", auth), None)[
            1
        ]
        is None
    )
