"""Decisions that use the session anchor as well as the reference. Pure core.

The entry capture that passes against the real-name reference becomes the
session *anchor*. Snapshots from one session share camera, light and day, so a
later capture is judged against the anchor at a tight threshold and against the
reference at a looser one; both thresholds are calibrated data
(``models/operating_points.toml``). Reference checks without an anchor use three
zones: ``match``, ``uncertain`` (sent to manual review, not a strike) and
``no_match``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from proctor.types import Verdict


class SessionReason(StrEnum):
    FACE_MISMATCH = "face_mismatch"  # not the anchor's face: a swap after entry
    REFERENCE_MISMATCH = "reference_mismatch"  # anchor ok, reference far off
    UNCERTAIN = "identity_uncertain"  # between the zones: manual review


@dataclass(frozen=True, slots=True)
class ZonePolicy:
    """Reference check: match ≤ match_l2 < uncertain ≤ no_match_l2 < no_match.

    With cohort normalisation the z-score zones are used instead (higher is more alike):
    match ≥ match_z > uncertain ≥ no_match_z > no_match.
    """

    match_l2: float
    no_match_l2: float
    match_z: float | None = None
    no_match_z: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.match_l2 <= self.no_match_l2 < 2:
            raise ValueError("need 0 < match_l2 <= no_match_l2 < 2")
        if (self.match_z is None) != (self.no_match_z is None):
            raise ValueError("give both z-score zone limits or neither")
        if (
            self.match_z is not None
            and self.no_match_z is not None
            and self.match_z < self.no_match_z
        ):
            raise ValueError("need match_z >= no_match_z")


@dataclass(frozen=True, slots=True)
class AnchorPolicy:
    anchor_l2: float  # same-session threshold against the anchor
    reference_loose_l2: float  # the reference must not be clearly someone else
    # The same loose check on the s-norm z (the shipped cohort's EER threshold), used when
    # the comparison was normalised: fair to faces the raw L2 threshold was not fitted to.
    reference_loose_z: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.anchor_l2 < 2 or not 0 < self.reference_loose_l2 < 2:
            raise ValueError("thresholds must lie in (0, 2)")


@dataclass(frozen=True, slots=True)
class SessionDecision:
    verdict: Verdict
    reasons: tuple[str, ...]
    reference_distance: float
    anchor_distance: float | None


def decide_reference(
    distance: float, zones: ZonePolicy, score: float | None = None
) -> SessionDecision:
    """Three zones on the raw distance, or on the normalised ``score`` when both it and
    the z-score zones are given."""
    if score is not None and zones.match_z is not None and zones.no_match_z is not None:
        if score >= zones.match_z:
            return SessionDecision(Verdict.MATCH, (), distance, None)
        if score >= zones.no_match_z:
            reasons = (SessionReason.UNCERTAIN.value,)
            return SessionDecision(Verdict.UNCERTAIN, reasons, distance, None)
        reasons = (SessionReason.FACE_MISMATCH.value,)
        return SessionDecision(Verdict.NO_MATCH, reasons, distance, None)
    if distance <= zones.match_l2:
        return SessionDecision(Verdict.MATCH, (), distance, None)
    if distance <= zones.no_match_l2:
        return SessionDecision(Verdict.UNCERTAIN, (SessionReason.UNCERTAIN.value,), distance, None)
    return SessionDecision(Verdict.NO_MATCH, (SessionReason.FACE_MISMATCH.value,), distance, None)


def decide_with_anchor(
    reference_distance: float,
    anchor_distance: float,
    policy: AnchorPolicy,
    reference_score: float | None = None,
) -> SessionDecision:
    """Both must agree: the anchor's face, and not clearly someone other than the driver
    (on the normalised ``reference_score`` when it and ``reference_loose_z`` are given)."""
    if anchor_distance > policy.anchor_l2:
        reasons: tuple[str, ...] = (SessionReason.FACE_MISMATCH.value,)
        return SessionDecision(Verdict.NO_MATCH, reasons, reference_distance, anchor_distance)
    if reference_score is not None and policy.reference_loose_z is not None:
        far = reference_score < policy.reference_loose_z
    else:
        far = reference_distance > policy.reference_loose_l2
    if far:
        reasons = (SessionReason.REFERENCE_MISMATCH.value,)
        return SessionDecision(Verdict.NO_MATCH, reasons, reference_distance, anchor_distance)
    return SessionDecision(Verdict.MATCH, (), reference_distance, anchor_distance)
