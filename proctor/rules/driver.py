"""The driver's record as the rules see it (a snapshot from the traffic-management system)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from proctor.rules.timeutil import require_aware


@dataclass(frozen=True, slots=True)
class ReductionRecord:
    """A reduction already applied on ``on`` (any mode: online, on-site, public welfare)."""

    on: date
    points: int


@dataclass(frozen=True, slots=True)
class DriverRecord:
    """Everything eligibility needs; dates are Asia/Shanghai calendar dates.

    ``cycle_points`` are the processed points of the current cycle and ``carried_over_points``
    those carried in because a fine was unpaid at the last clearing (163 第15条); both count
    towards the < 12 test and both can be reduced. ``reductions`` are dated so that the 6-point
    cap is counted per cycle. ``licence_grant_dates`` lists later grants of extra licence classes
    (增加准驾车型), each starting its own probation (162 第76条).
    """

    driver_id: str
    first_licence_date: date
    cycle_points: int = 0
    carried_over_points: int = 0
    reductions: tuple[ReductionRecord, ...] = ()
    pending_violation_count: int = 0
    temporary_permit_date: date | None = None
    licence_grant_dates: tuple[date, ...] = ()
    licence_review_overdue: bool = False
    licence_detained: bool = False
    vehicle_inspection_overdue: bool = False
    vehicle_not_deregistered: bool = False
    full_score_education_dates: tuple[date, ...] = ()
    serious_offence_dates: tuple[date, ...] = ()
    fraud_record_dates: tuple[date, ...] = ()
    platform_blacklist_until: date | None = None
    last_violation_processed_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("cycle_points", "carried_over_points", "pending_violation_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if any(r.points < 0 for r in self.reductions):
            raise ValueError("reductions must not be negative")
        if self.last_violation_processed_at is not None:
            # a naive instant cannot be compared with the check's aware one: name the field
            require_aware(self.last_violation_processed_at, "last_violation_processed_at")

    @property
    def accumulated_points(self) -> int:
        return self.cycle_points + self.carried_over_points

    def reduced_between(self, start: date, end: date) -> int:
        """Points reduced on days in [start, end), e.g. one scoring cycle."""
        return sum(r.points for r in self.reductions if start <= r.on < end)

    @property
    def cycle_anchor(self) -> date:
        """Cycles count from the first licence, or an earlier temporary permit (163 第3条)."""
        if self.temporary_permit_date is not None:
            return min(self.temporary_permit_date, self.first_licence_date)
        return self.first_licence_date
