"""The anchored check's loose reference test on the s-norm z when there is one (issue 21)."""

from __future__ import annotations

from proctor.matching.session_decision import AnchorPolicy, decide_with_anchor
from proctor.types import Verdict

POLICY = AnchorPolicy(anchor_l2=0.444, reference_loose_l2=0.497, reference_loose_z=1.43)


def test_a_normalised_reference_score_decides_the_loose_check() -> None:
    # raw distance beyond the loose L2 limit, but the z says "not someone else": pass
    assert decide_with_anchor(0.55, 0.30, POLICY, reference_score=2.0).verdict is Verdict.MATCH
    # raw distance inside the limit, but z far below: reference mismatch
    d = decide_with_anchor(0.45, 0.30, POLICY, reference_score=0.2)
    assert d.verdict is Verdict.NO_MATCH and d.reasons == ("reference_mismatch",)


def test_without_a_score_the_raw_limit_decides_and_the_anchor_always_first() -> None:
    assert decide_with_anchor(0.55, 0.30, POLICY).verdict is Verdict.NO_MATCH
    assert decide_with_anchor(0.45, 0.30, POLICY).verdict is Verdict.MATCH
    far_anchor = decide_with_anchor(0.30, 0.50, POLICY, reference_score=5.0)
    assert far_anchor.reasons == ("face_mismatch",)
