"""Deadlines of the online 学法减分 flow (DOMAIN.md (b) deadline summary).

* study window: calendar days (163 第36条), from the day after approval, ending 24:00 of the last
  day; if that day is not a working day and ``roll_forward_to_workday`` is set, it ends 24:00 of the
  next working day;
* exam window: the N-th working day strictly after the study-completion date, 24:00;
* review decision: the N-th working day strictly after the day the request was received;
* 24 h windows (retake, review request) are elapsed hours, see :mod:`proctor.rules.application`.

Each :class:`Deadline` says whether every calendar answer behind it was verified (a weekday
fallback yields ``verified=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from proctor.rules.calendar import WorkdayCalendar
from proctor.rules.policy import CalendarPolicy, ExamPolicy, ReviewPolicy, StudyPolicy
from proctor.rules.timeutil import end_of_day, local_date, start_of_day


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline: the last day (Asia/Shanghai) and the exclusive instant 24:00 of that day."""

    last_day: date
    verified: bool
    rolled_forward: bool = False

    @property
    def ends_at(self) -> datetime:
        return end_of_day(self.last_day)

    def is_open_at(self, at: datetime) -> bool:
        return at < self.ends_at


@dataclass(frozen=True, slots=True)
class Window:
    """A window [opens_at, deadline.ends_at)."""

    opens_at: datetime
    deadline: Deadline

    def contains(self, at: datetime) -> bool:
        return self.opens_at <= at < self.deadline.ends_at


class _Walker:
    def __init__(self, calendar: WorkdayCalendar, policy: CalendarPolicy) -> None:
        self.calendar = calendar
        self.max_days = policy.max_search_days
        self.verified = True

    def is_workday(self, day: date) -> bool:
        status = self.calendar.day_status(day)
        self.verified = self.verified and status.verified
        return status.is_workday

    def next_workday(self, day: date, *, strictly_after: bool) -> date:
        current = day + timedelta(days=1) if strictly_after else day
        for _ in range(self.max_days):
            if self.is_workday(current):
                return current
            current += timedelta(days=1)
        raise RuntimeError(f"no working day within {self.max_days} days of {day}")


def nth_workday_after(
    calendar: WorkdayCalendar, day: date, n: int, policy: CalendarPolicy
) -> Deadline:
    """The ``n``-th working day strictly after ``day`` (``n`` ≥ 1)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    walker = _Walker(calendar, policy)
    current = day
    for _ in range(n):
        current = walker.next_workday(current, strictly_after=True)
    return Deadline(current, verified=walker.verified)


def study_window(
    approved_at: datetime, calendar: WorkdayCalendar, study: StudyPolicy, cal: CalendarPolicy
) -> Window:
    """The 三日 study window after approval at ``approved_at`` (Art 27, Art 36)."""
    approved_day = local_date(approved_at)
    first_day = approved_day + timedelta(days=study.window_starts_days_after_approval)
    last_day = first_day + timedelta(days=study.window_calendar_days - 1)
    if not study.roll_forward_to_workday:
        return Window(start_of_day(first_day), Deadline(last_day, verified=True))
    walker = _Walker(calendar, cal)
    rolled = walker.next_workday(last_day, strictly_after=False)
    deadline = Deadline(rolled, verified=walker.verified, rolled_forward=rolled != last_day)
    return Window(start_of_day(first_day), deadline)


def exam_deadline(
    study_completed_on: date, calendar: WorkdayCalendar, exam: ExamPolicy, cal: CalendarPolicy
) -> Deadline:
    """Last day to take the exam: the 7th working day after study completion (GF2020)."""
    return nth_workday_after(calendar, study_completed_on, exam.window_working_days, cal)


def review_due(
    received_on: date, calendar: WorkdayCalendar, review: ReviewPolicy, cal: CalendarPolicy
) -> Deadline:
    """Day by which a 复核 must be decided: 3 working days after receipt (GF2020)."""
    return nth_workday_after(calendar, received_on, review.decision_working_days, cal)
