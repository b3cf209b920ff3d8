from __future__ import annotations

import pytest

from proctor.matching.session_decision import (
    AnchorPolicy,
    ZonePolicy,
    decide_reference,
    decide_with_anchor,
)
from proctor.types import Verdict


def test_three_zones_for_reference_checks() -> None:
    z = ZonePolicy(match_l2=0.38, no_match_l2=0.45)
    assert decide_reference(0.38, z).verdict is Verdict.MATCH
    mid = decide_reference(0.40, z)
    assert mid.verdict is Verdict.UNCERTAIN and mid.reasons == ("identity_uncertain",)
    assert decide_reference(0.4501, z).verdict is Verdict.NO_MATCH
    with pytest.raises(ValueError):
        ZonePolicy(0.5, 0.4)


def test_anchor_and_reference_must_both_agree() -> None:
    p = AnchorPolicy(anchor_l2=0.42, reference_loose_l2=0.5)
    ok = decide_with_anchor(0.47, 0.30, p)  # reference alone would be uncertain
    assert ok.verdict is Verdict.MATCH and ok.anchor_distance == 0.30
    swap = decide_with_anchor(0.45, 0.60, p)  # a different face after entry
    assert swap.verdict is Verdict.NO_MATCH and swap.reasons == ("face_mismatch",)
    far = decide_with_anchor(0.70, 0.20, p)  # anchor itself was never the driver
    assert far.verdict is Verdict.NO_MATCH and far.reasons == ("reference_mismatch",)
