"""``decide_capture``: every capture decision in one pure function (issue 16).

Distances are given exactly, so each case sits on a known side of each threshold.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from proctor.decision.capture import (
    CaptureContext,
    CaptureMeasurements,
    LivenessMeasure,
    decide_capture,
)
from proctor.decision.policy import AnchorPolicy, FlagPolicy, OperatingPolicy, ZonePolicy
from proctor.decision.reasons import CaptureReason
from proctor.errors import ContractMismatch
from proctor.liveness.replay import ReplayMeasures, ReplayPolicy
from proctor.session.states import FailureReason
from proctor.types import Verdict

ZONES = ZonePolicy(match_l2=0.38, no_match_l2=0.45)
ANCHOR = AnchorPolicy(anchor_l2=0.42, reference_loose_l2=0.5)
POLICY = OperatingPolicy("m", ZONES, ANCHOR, FlagPolicy(0.15))
ENTRY = CaptureContext()
LATER = CaptureContext(anchored=True)


def _m(d: float | None = 0.3, **kw: object) -> CaptureMeasurements:
    return CaptureMeasurements(**{"model_id": "m", "reference_l2": d, "face_count": 1, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("d", "verdict", "threshold", "reasons"),
    [(0.30, Verdict.MATCH, 0.38, ()), (0.38, Verdict.MATCH, 0.38, ()),
     (0.40, Verdict.UNCERTAIN, 0.38, ("identity_uncertain",)),
     (0.45, Verdict.UNCERTAIN, 0.38, ("identity_uncertain",)),
     (0.4501, Verdict.NO_MATCH, 0.45, ("face_mismatch",))],
)  # fmt: skip
def test_entry_three_zones_and_the_thresholds_that_decided(
    d: float, verdict: Verdict, threshold: float, reasons: tuple[str, ...]
) -> None:
    out = decide_capture(_m(d), ENTRY, POLICY)
    assert (out.verdict, out.threshold, out.reasons, out.distance) == (
        verdict,
        threshold,
        reasons,
        d,
    )
    assert out.kind == "entry" and out.policy_id == POLICY.policy_id
    assert out.thresholds == {"reference_match_l2": 0.38, "reference_no_match_l2": 0.45}
    assert out.passed is (verdict is Verdict.MATCH)
    assert out.uncertain is (verdict is Verdict.UNCERTAIN)


def test_entry_zones_on_the_normalised_score_when_both_are_there() -> None:
    zones = ZonePolicy(0.40, 0.45, match_z=3.0, no_match_z=1.5)
    p = OperatingPolicy("m", zones)
    assert decide_capture(_m(0.60, reference_z=3.2), ENTRY, p).verdict is Verdict.MATCH
    assert decide_capture(_m(0.30, reference_z=2.0), ENTRY, p).verdict is Verdict.UNCERTAIN
    out = decide_capture(_m(0.30, reference_z=1.0), ENTRY, p)
    assert out.verdict is Verdict.NO_MATCH and out.thresholds["reference_no_match_z"] == 1.5
    assert out.distances == {"reference_l2": 0.30, "reference_z": 1.0}
    # without a score the raw zones decide
    assert decide_capture(_m(0.60), ENTRY, p).verdict is Verdict.NO_MATCH
    with pytest.raises(ValueError):
        ZonePolicy(0.40, 0.45, match_z=1.0, no_match_z=2.0)
    with pytest.raises(ValueError):
        ZonePolicy(0.5, 0.4)


def test_anchored_capture_needs_anchor_and_loose_reference() -> None:
    ok = decide_capture(_m(0.47, anchor_l2=0.30), LATER, POLICY)  # alone: uncertain
    assert ok.passed and ok.kind == "anchored" and (ok.distance, ok.threshold) == (0.30, 0.42)
    assert ok.thresholds == {"anchor_l2": 0.42, "reference_loose_l2": 0.5}
    swap = decide_capture(_m(0.30, anchor_l2=0.60), LATER, POLICY)  # another face after entry
    assert swap.verdict is Verdict.NO_MATCH and swap.reasons == ("face_mismatch",)
    assert "proxy_face" in swap.flags and (swap.distance, swap.threshold) == (0.60, 0.42)
    far = decide_capture(_m(0.70, anchor_l2=0.20), LATER, POLICY)  # anchor never the driver
    assert far.reasons == ("reference_mismatch",) and far.threshold == 0.5
    assert far.flags == ()
    # no anchor part in the policy: the same capture is an entry-style reference check
    plain = decide_capture(_m(0.47, anchor_l2=0.30), LATER, replace(POLICY, anchor=None))
    assert plain.kind == "entry" and plain.verdict is Verdict.NO_MATCH


def test_face_stage_rejections_come_first_and_carry_no_thresholds() -> None:
    out = decide_capture(_m(None, quality_reasons=("blurry",)), ENTRY, POLICY)
    assert out.verdict is Verdict.REJECTED and out.reasons == ("blurry",) and not out.thresholds
    two = decide_capture(_m(None, quality_reasons=("multiple_faces",), face_count=2), ENTRY, POLICY)
    assert two.reasons == ("multiple_faces",) and two.flags == ("extra_people",)
    bad = decide_capture(CaptureMeasurements(image_error="corrupt_image"), ENTRY, POLICY)
    assert bad.verdict is Verdict.REJECTED and bad.reasons == ("corrupt_image",)


def test_proxy_face_at_entry_only_well_past_the_no_match_limit() -> None:
    far = decide_capture(_m(0.61), ENTRY, POLICY)  # >= 0.45 + 0.15
    assert "proxy_face" in far.flags and far.thresholds["proxy_margin_l2"] == 0.15
    near = decide_capture(_m(0.55), ENTRY, POLICY)
    assert near.reasons == ("face_mismatch",) and near.flags == ()


def test_replay_fails_and_a_near_duplicate_only_flags() -> None:
    exact = decide_capture(
        _m(0.3, replay=ReplayMeasures(exact=True, nearest_bits=0)), ENTRY, POLICY
    )
    assert not exact.passed and exact.verdict is Verdict.REJECTED
    assert exact.reasons == ("replay",) and exact.flags == ("replay",)
    limit = POLICY.replay.near_duplicate_max_hamming_bits
    assert exact.thresholds["replay_near_bits"] == limit
    near = decide_capture(_m(0.3, replay=ReplayMeasures(nearest_bits=limit)), ENTRY, POLICY)
    assert near.passed and near.flags == ("replay_suspected",)
    assert near.distances["replay_nearest_bits"] == limit
    # one bit further than the policy's limit: nothing to flag, no replay threshold recorded
    far = decide_capture(_m(0.3, replay=ReplayMeasures(nearest_bits=limit + 1)), ENTRY, POLICY)
    assert far.flags == () and "replay_near_bits" not in far.thresholds
    # the limit comes from the policy, not from the measurement
    looser = replace(POLICY, replay=ReplayPolicy(limit + 1))
    assert decide_capture(
        _m(0.3, replay=ReplayMeasures(nearest_bits=limit + 1)), ENTRY, looser
    ).flags
    # a copy of a reference photo's pixels is near whatever the limit
    ref = ReplayMeasures(reference_exact=True, nearest_bits=30, nearest_reference_bits=30)
    assert decide_capture(_m(0.3, replay=ref), ENTRY, POLICY).flags == ("replay_suspected",)
    uncertain_replay = decide_capture(_m(0.40, replay=ReplayMeasures(exact=True)), ENTRY, POLICY)
    assert not uncertain_replay.uncertain and uncertain_replay.reasons[0] == "replay"


def test_failed_liveness_is_rejected_with_its_reasons_first() -> None:
    live = LivenessMeasure(False, ("action_missing",))
    out = decide_capture(_m(0.3, liveness=live), ENTRY, POLICY)
    assert out.verdict is Verdict.REJECTED and out.reasons == ("action_missing",)
    assert out.flags == ("spoof_suspected",) and out.thresholds  # identity was still judged
    poor = LivenessMeasure(False, ("too_few_frames",))
    no_face = CaptureMeasurements(quality_reasons=("no_face",), liveness=poor)
    out = decide_capture(no_face, ENTRY, POLICY)
    assert out.reasons == ("too_few_frames", "no_face") and out.flags == ()  # not spoof evidence
    ok = decide_capture(
        _m(0.3, liveness=LivenessMeasure(True, ("liveness_passed",))), ENTRY, POLICY
    )
    assert ok.passed and ok.verdict is Verdict.MATCH


def test_a_policy_decides_only_its_own_models_captures() -> None:
    with pytest.raises(ContractMismatch):
        decide_capture(CaptureMeasurements(model_id="other", reference_l2=0.1), ENTRY, POLICY)


def test_policy_id_names_the_thresholds() -> None:
    same = OperatingPolicy("m", ZONES, ANCHOR, FlagPolicy(0.15))
    assert same.policy_id == POLICY.policy_id and POLICY.policy_id.startswith("m@")
    moved = OperatingPolicy("m", ZonePolicy(0.38, 0.46), ANCHOR)
    assert moved.policy_id != POLICY.policy_id
    assert POLICY.by_kind()["anchored"] == {"anchor_l2": 0.42, "reference_loose_l2": 0.5}


def test_one_reason_vocabulary() -> None:
    assert FailureReason is CaptureReason
    assert CaptureReason.FACE_MISMATCH.value == "face_mismatch"
