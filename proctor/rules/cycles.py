"""Scoring cycles (记分周期) counted from the first-licence date (163 第3条).

Cycle ``k`` (0-based) runs from the ``k``-th anniversary of the anchor date (inclusive) to the
``k+1``-th anniversary (exclusive); the exclusive end is the *clearing date*, on which the score is
cleared (163 第15条). An anchor on 29 February has no matching day in common years; by default the
anniversary is the month end, 28 February (民法典 第202条), or 1 March with ``next_day``.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date

from proctor.rules.policy import CyclePolicy, LeapDayAnniversary


@dataclass(frozen=True, slots=True)
class Cycle:
    index: int
    start: date
    clearing_date: date

    def contains(self, day: date) -> bool:
        return self.start <= day < self.clearing_date


def add_months(anchor: date, months: int, leap_rule: LeapDayAnniversary) -> date:
    """``anchor`` plus ``months``; a missing day maps to month end (or the next day)."""
    total = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = _calendar.monthrange(year, month)[1]
    if anchor.day <= last:
        return date(year, month, anchor.day)
    if leap_rule is LeapDayAnniversary.NEXT_DAY:
        return date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, last)


def cycle_start(anchor: date, index: int, policy: CyclePolicy) -> date:
    return add_months(anchor, index * policy.cycle_length_months, policy.leap_day_anniversary)


def cycle_index(anchor: date, day: date, policy: CyclePolicy) -> int:
    """Index of the cycle containing ``day`` (negative before the anchor)."""
    months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    index = months // policy.cycle_length_months + 1
    while cycle_start(anchor, index, policy) > day:
        index -= 1
    return index


def cycle_for(anchor: date, day: date, policy: CyclePolicy) -> Cycle:
    index = cycle_index(anchor, day, policy)
    return Cycle(index, cycle_start(anchor, index, policy), cycle_start(anchor, index + 1, policy))


@dataclass(frozen=True, slots=True)
class ClearingReminder:
    clearing_date: date
    days_left: int
    remind: bool


def clearing_reminder(anchor: date, today: date, policy: CyclePolicy) -> ClearingReminder:
    """Remind when the clearing date is fewer than ``clearing_reminder_days`` days away."""
    clearing = cycle_for(anchor, today, policy).clearing_date
    days_left = (clearing - today).days
    return ClearingReminder(clearing, days_left, days_left < policy.clearing_reminder_days)
