"""Eligibility for 学法减分 (163 第25条, 第26条 and the system rules). Returns every reason.

Stages: ``APPLICATION`` checks everything; ``REDUCTION`` is the re-check at the moment of the
reduction (DOMAIN.md (b) PASSED_PENDING_APPLY): the open-application rule no longer applies, and a
violation processed within the sync window holds the reduction (``data_sync_pending``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from proctor.rules.cycles import Cycle, add_months, cycle_for, cycle_index
from proctor.rules.driver import DriverRecord
from proctor.rules.policy import ProbationEnds, RulesPolicy
from proctor.rules.reasons import Reason
from proctor.rules.timeutil import local_date, require_aware


class Stage(StrEnum):
    APPLICATION = "application"
    REDUCTION = "reduction"


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reasons: tuple[Reason, ...]
    cycle: Cycle


def _recent(dates: Iterable[date], anchor: date, current: int, back: int, pol: RulesPolicy) -> int:
    return sum(1 for d in dates if current - back <= cycle_index(anchor, d, pol.cycle) <= current)


def in_probation(driver: DriverRecord, today: date, policy: RulesPolicy) -> bool:
    """Within 12 months of the first licence or of an added class (162 第76条)."""
    rule = policy.cycle.leap_day_anniversary
    for granted in (driver.first_licence_date, *driver.licence_grant_dates):
        ends = add_months(granted, policy.eligibility.probation_months, rule)
        if policy.eligibility.probation_ends is ProbationEnds.ON_ANNIVERSARY:
            ends = ends + timedelta(days=1)
        if granted <= today < ends:
            return True
    return False


def reduced_in_cycle(driver: DriverRecord, cycle: Cycle) -> int:
    return driver.reduced_between(cycle.start, cycle.clearing_date)


def _art25(driver: DriverRecord, cycle: Cycle, policy: RulesPolicy) -> list[Reason]:
    reasons: list[Reason] = []
    points = driver.accumulated_points
    if points == 0:
        reasons.append(Reason.NO_POINTS_TO_REDUCE)
    if points >= policy.points.full_score_points:
        reasons.append(Reason.SCORE_AT_FULL)
    if reduced_in_cycle(driver, cycle) >= policy.points.cycle_cap_points:
        reasons.append(Reason.CYCLE_CAP_REACHED)
    return reasons


def _art26(driver: DriverRecord, today: date, cycle: Cycle, policy: RulesPolicy) -> list[Reason]:
    elig = policy.eligibility
    anchor = driver.cycle_anchor
    reasons: list[Reason] = []
    for back in range(elig.full_score_education_lookback_previous_cycles + 1):
        idx = cycle.index - back
        count = sum(
            1
            for d in driver.full_score_education_dates
            if cycle_index(anchor, d, policy.cycle) == idx
        )
        if count >= elig.full_score_education_bar_records:
            reasons.append(Reason.FULL_SCORE_EDUCATION_RECORDS)
            break
    back = elig.serious_offence_lookback_previous_cycles
    if _recent(driver.serious_offence_dates, anchor, cycle.index, back, policy):
        reasons.append(Reason.SERIOUS_OFFENCE_RECENT)
    if in_probation(driver, today, policy):
        reasons.append(Reason.LICENCE_IN_PROBATION)
    if driver.licence_review_overdue:
        reasons.append(Reason.LICENCE_REVIEW_OVERDUE)
    if driver.licence_detained:
        reasons.append(Reason.LICENCE_DETAINED)
    if driver.vehicle_inspection_overdue:
        reasons.append(Reason.VEHICLE_INSPECTION_OVERDUE)
    if driver.vehicle_not_deregistered:
        reasons.append(Reason.VEHICLE_NOT_DEREGISTERED)
    back = elig.fraud_lookback_previous_cycles
    if _recent(driver.fraud_record_dates, anchor, cycle.index, back, policy):
        reasons.append(Reason.FRAUD_RECORD_RECENT)
    return reasons


def check_eligibility(
    driver: DriverRecord,
    at: datetime,
    policy: RulesPolicy,
    *,
    has_open_application: bool = False,
    stage: Stage = Stage.APPLICATION,
) -> Eligibility:
    """Check Art 25/26 and the system rules at instant ``at``; collect every reason."""
    require_aware(at, "at")
    today = local_date(at)
    cycle = cycle_for(driver.cycle_anchor, today, policy.cycle)
    if today < driver.cycle_anchor:
        # no scoring cycle has begun (cycle index < 1): nothing can be reduced yet
        return Eligibility(False, (Reason.BEFORE_FIRST_LICENCE,), cycle)
    reasons = _art25(driver, cycle, policy) + _art26(driver, today, cycle, policy)
    if policy.eligibility.pending_violations_block and driver.pending_violation_count > 0:
        reasons.append(Reason.PENDING_VIOLATIONS)
    if (
        stage is Stage.APPLICATION
        and policy.eligibility.one_open_application
        and has_open_application
    ):
        reasons.append(Reason.OPEN_APPLICATION_EXISTS)
    if driver.platform_blacklist_until is not None and today < driver.platform_blacklist_until:
        reasons.append(Reason.PLATFORM_BLACKLISTED)
    processed = driver.last_violation_processed_at
    window = timedelta(hours=policy.eligibility.sync_window_hours)
    if stage is Stage.REDUCTION and processed is not None and at - processed < window:
        reasons.append(Reason.DATA_SYNC_PENDING)
    return Eligibility(not reasons, tuple(reasons), cycle)
