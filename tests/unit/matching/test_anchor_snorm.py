"""The anchored check's loose reference test on the s-norm z when there is one (issue 21),
decided by the one ``decide_capture``."""

from __future__ import annotations

from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import AnchorPolicy, OperatingPolicy, ZonePolicy
from proctor.types import Verdict

ANCHOR = AnchorPolicy(anchor_l2=0.444, reference_loose_l2=0.497, reference_loose_z=1.43)
POLICY = OperatingPolicy("m", ZonePolicy(0.41, 0.45, 2.7, 2.0), ANCHOR)
ANCHORED = CaptureContext(anchored=True)


def _decide(
    d_ref: float, d_anchor: float, z: float | None = None
) -> tuple[Verdict, tuple[str, ...]]:
    m = CaptureMeasurements(reference_l2=d_ref, anchor_l2=d_anchor, reference_z=z)
    d = decide_capture(m, ANCHORED, POLICY)
    assert d.verdict is not None
    return d.verdict, d.reasons


def test_a_normalised_reference_score_decides_the_loose_check() -> None:
    # raw distance beyond the loose L2 limit, but the z says "not someone else": pass
    assert _decide(0.55, 0.30, 2.0)[0] is Verdict.MATCH
    # raw distance inside the limit, but z far below: reference mismatch
    assert _decide(0.45, 0.30, 0.2) == (Verdict.NO_MATCH, ("reference_mismatch",))


def test_the_loose_z_is_recorded_with_the_decision() -> None:
    m = CaptureMeasurements(reference_l2=0.45, anchor_l2=0.30, reference_z=0.2)
    d = decide_capture(m, ANCHORED, POLICY)
    assert d.thresholds["reference_loose_z"] == 1.43 and d.distances["reference_z"] == 0.2
    assert "reference_loose_z" in POLICY.by_kind()["anchored"]


def test_without_a_score_the_raw_limit_decides_and_the_anchor_always_first() -> None:
    assert _decide(0.55, 0.30)[0] is Verdict.NO_MATCH
    assert _decide(0.45, 0.30)[0] is Verdict.MATCH
    assert _decide(0.30, 0.50, 5.0)[1] == ("face_mismatch",)
