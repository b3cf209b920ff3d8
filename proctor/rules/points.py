"""Point reductions: removed = min(award, cap left this cycle, current points), never negative."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from proctor.rules.policy import CapOverflow, PointsPolicy
from proctor.rules.reasons import Reason


class Mode(StrEnum):
    ONLINE = "online"
    ONSITE = "onsite"
    PUBLIC_WELFARE = "public_welfare"


def award_points(mode: Mode, policy: PointsPolicy) -> int:
    """Points one completed activity is worth (163 第27条)."""
    return {
        Mode.ONLINE: policy.online_award_points,
        Mode.ONSITE: policy.onsite_award_points,
        Mode.PUBLIC_WELFARE: policy.public_welfare_award_points,
    }[mode]


@dataclass(frozen=True, slots=True)
class Reduction:
    removed_points: int
    points_after: int
    reduced_after_points: int
    reasons: tuple[Reason, ...] = ()


def reduce_points(
    award: int, current_points: int, reduced_this_cycle: int, policy: PointsPolicy
) -> Reduction:
    """Apply one award against the current score and the per-cycle cap (163 第25条).

    With ``cap_overflow = refuse`` an award that does not fit under the cap removes nothing.
    """
    if min(award, current_points, reduced_this_cycle) < 0:
        raise ValueError("award, points and reduced total must not be negative")
    cap_left = max(0, policy.cycle_cap_points - reduced_this_cycle)
    reasons: list[Reason] = []
    if current_points == 0:
        reasons.append(Reason.NO_POINTS_TO_REDUCE)
    if cap_left == 0:
        reasons.append(Reason.CYCLE_CAP_REACHED)
    elif award > cap_left:
        reasons.append(Reason.CYCLE_CAP_EXCEEDED)
    removed = min(award, cap_left, current_points)
    if policy.cap_overflow is CapOverflow.REFUSE and award > cap_left:
        removed = 0
    return Reduction(
        removed_points=removed,
        points_after=current_points - removed,
        reduced_after_points=reduced_this_cycle + removed,
        reasons=tuple(reasons),
    )
