"""Review cases as values: kinds, states, due dates in working days, the overdue view. Pure core.

A case comes from a 复核 request (``fuxi``), a flag or an appeal. Its due date is
the N-th working day after the day it was received (``proctor.rules.deadlines``),
ending 24:00 Asia/Shanghai. States are persisted: never rename them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from proctor.rules.calendar import WorkdayCalendar
from proctor.rules.deadlines import Deadline, review_due
from proctor.rules.policy import CalendarPolicy, ReviewPolicy
from proctor.rules.timeutil import local_date


class CaseKind(StrEnum):
    FUXI = "fuxi"
    FLAG = "flag"
    APPEAL = "appeal"


class CaseStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    DECIDED = "decided"


class Recommendation(StrEnum):
    """The batch job's advice to the human reviewer. Persisted: never rename."""

    UPHOLD_MATCH = "uphold_match"  # the driver's own face: the failed check was wrong
    CONFIRM_MISMATCH = "confirm_mismatch"  # another person's face: the failure stands
    NEEDS_HUMAN = "needs_human"  # evidence missing, poor or contradictory


@dataclass(slots=True)
class ReviewCase:
    """One review case. ``due_on`` is the last day (Asia/Shanghai) for the decision."""

    id: str
    kind: CaseKind
    source_id: str
    session_id: str
    driver_id: str
    received_at: datetime
    due_on: date
    due_verified: bool
    evidence_ids: tuple[str, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
    assigned_to: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision: str | None = None  # "pass" | "reject"
    decision_reasons: tuple[str, ...] = ()
    recommendation: str | None = None
    group_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.due_on, self.due_verified)

    def is_overdue(self, now: datetime) -> bool:
        return self.status is not CaseStatus.DECIDED and not self.deadline.is_open_at(now)


def due_for(
    received_at: datetime, calendar: WorkdayCalendar, review: ReviewPolicy, cal: CalendarPolicy
) -> Deadline:
    """The decision deadline of a case received at ``received_at`` (3 working days, GF2020)."""
    return review_due(local_date(received_at), calendar, review, cal)


def overdue(cases: Iterable[ReviewCase], now: datetime) -> list[ReviewCase]:
    """Undecided cases past their deadline, oldest deadline first."""
    late = [c for c in cases if c.is_overdue(now)]
    return sorted(late, key=lambda c: (c.due_on, c.received_at, c.id))
