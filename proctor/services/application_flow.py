"""Use cases over the application lifecycle: sessions under an application, exam results and
their reduction, 复核, the driver's views, and ``tick`` (the time-driven transitions).

``tick(now)`` is a plain method: the scheduler inside ``proctor serve`` (issue 18, scheduler half)
calls it under its lease so one replica runs each tick. Each application is handled in its own
transaction with its row locked, so a tick and a driver's request never interleave on one
application, and a failure on one application does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from proctor.rules.calendar import package_last_year
from proctor.rules.cycles import cycle_for
from proctor.rules.eligibility import reduced_in_cycle
from proctor.rules.states import ACTIVE, ApplicationState
from proctor.rules.timeutil import SHANGHAI
from proctor.services.applications import (
    SYSTEM,
    Lifecycle,
    Loaded,
    TickReport,
    _step,
    driver_record,
    open_kind_refusal,
)
from proctor.services.calendar_watch import CalendarStatus, calendar_status
from proctor.services.common import NotFound
from proctor.services.ports import RecordsUnitOfWork
from proctor.services.records import ApplicationService
from proctor.services.sessions import SessionView
from proctor.session.states import SessionKind

log = logging.getLogger("proctor.applications")
S = ApplicationState
TICK_BATCH = 500


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """What the driver sees of one application (instants in Asia/Shanghai)."""

    application_id: str
    state: str
    reasons: tuple[str, ...]
    created_at: datetime
    study_window: dict[str, Any] | None
    study_minutes_counted: float
    study_minutes_required: int
    exam_deadline: dict[str, Any] | None
    exams_left: int
    review_due: dict[str, Any] | None
    pending_calendar: tuple[str, ...]
    reduction: dict[str, Any] | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordView:
    """The 12123 screen: 累计记分, 本周期已减分数, 清分日期."""

    driver_id: str
    accumulated_points: int
    reduced_this_cycle: int
    cycle_cap_points: int
    cycle_start: date
    clearing_date: date
    open_application_id: str | None


def _local(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).isoformat() if at is not None else None


def _deadline(d: Any) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "last_day": d.last_day.isoformat(),
        "ends_at": _local(d.ends_at),
        "pending_calendar": not d.verified,
    }


class ApplicationFlow(ApplicationService):
    """``ApplicationService`` with the whole lifecycle (see the module docstring)."""

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self._policy, self._calendar)

    # ---- sessions under an application --------------------------------------------------
    def open_session(
        self, driver_id: str, kind: SessionKind, opener: Callable[[], SessionView]
    ) -> SessionView:
        """Open a study session (approved application, inside its window) or an exam attempt
        (study complete, within the exam or retake window); refused with a stable code."""
        now = self._clock.now()
        lc = self.lifecycle
        with self._uow() as uow:
            item = lc.current(uow, driver_id)
            if item is not None:
                self._advance(uow, lc, item, now)
            refusal = open_kind_refusal(kind, item, now)
            if item is not None:
                lc.save(uow, item, SYSTEM, now)
            uow.commit()
        if refusal is not None:
            raise refusal
        assert item is not None
        view = opener()
        with self._uow() as uow:
            linked = lc.lock(uow, item.app.application_id)
            assert linked is not None
            if kind is SessionKind.STUDY:
                linked.links["study_sessions"].append(view.session_id)
            else:
                linked.app.start_exam(now)
                linked.links["exam_sessions"].append(view.session_id)
            lc.save(uow, linked, driver_id, now)
            uow.commit()
        return view

    def exam_finished_in(
        self, uow: RecordsUnitOfWork, driver_id: str, session_id: str, outcome: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """``ExamService.finish`` hook, inside its transaction: the attempt's result on the
        application and, on a pass, the reduction (same transaction as the stored outcome)."""
        lc = self.lifecycle
        item = lc.of_exam(uow, driver_id, session_id)
        if item is None:
            return None
        now = self._clock.now()
        result = lc.settle_exam(uow, item, outcome, now)
        lc.save(uow, item, driver_id, now)
        return {"application_id": item.app.application_id, "point_reduction": result}

    # ---- 复核 -----------------------------------------------------------------------------
    def review_requested(self, driver_id: str, session_id: str) -> dict[str, Any] | None:
        """复核 asked for a face-invalid exam: recorded (once, within 24 h) with its due date;
        a due date in a year the calendar lacks is ``pending_calendar``, never refused."""
        now = self._clock.now()
        lc = self.lifecycle
        with self._uow() as uow:
            item = lc.of_exam(uow, driver_id, session_id)
            if item is None:
                return None
            due = item.app.request_review(now)
            lc.notify(
                uow,
                item.app,
                "review_accepted",
                now,
                due_on=due.last_day.isoformat(),
                pending_calendar=not due.verified,
            )
            lc.save(uow, item, driver_id, now)
            uow.commit()
        if not due.verified:
            log.warning(
                "calendar_pending: 复核 due date of application %s needs a calendar year that "
                "is not known; add it to the override file",
                item.app.application_id,
            )
        return {"due_on": due.last_day.isoformat(), "pending_calendar": not due.verified}

    def review_decided_in(
        self, uow: RecordsUnitOfWork, driver_id: str, session_id: str, upheld: bool
    ) -> dict[str, Any] | None:
        """Review-case hook, inside the decision's transaction: a passed 复核 makes the result
        valid and runs the reduction; a refused one ends the application."""
        lc = self.lifecycle
        item = lc.of_exam(uow, driver_id, session_id)
        if item is None or item.app.state is not S.UNDER_REVIEW:
            return None
        now = self._clock.now()
        item.app.decide_review(upheld, now)
        result = lc.reduce(uow, item, now) if upheld else None
        lc.save(uow, item, SYSTEM, now)
        return {"status": "void", "reasons": ["review_rejected"]} if result is None else result

    # ---- time ---------------------------------------------------------------------------
    def _advance(self, uow: RecordsUnitOfWork, lc: Lifecycle, item: Loaded, now: datetime) -> None:
        """Everything time and finished sessions cause, up to ``now``."""
        lc.auto_review(uow, item, now)
        lc.sync_study(uow, item, now)
        item.app.tick(now)
        if item.app.state is S.PASSED_PENDING_APPLY:  # a held reduction: try again
            lc.reduce(uow, item, now)

    def tick(self, now: datetime | None = None) -> TickReport:
        """Apply the time-driven transitions to every active application: approvals after the
        data-sync hold, study credit and window expiry (voiding), exam and retake windows, the
        24 h 复核 window, held reductions, pending calendar deadlines, clearing reminders."""
        at = now or self._clock.now()
        report = TickReport(at)
        lc = self.lifecycle
        with self._uow() as uow:
            ids = uow.applications.ids_in_states(sorted(s.value for s in ACTIVE), TICK_BATCH)
        for application_id in ids:
            unsettled: tuple[str, str] | None = None
            with _step(report, application_id), self._uow() as uow:
                item = lc.lock(uow, application_id)
                if item is None:
                    continue
                report.examined += 1
                before, pending = item.app.state, item.app.pending_calendar
                snapshot = lc.fingerprint(item)
                self._advance(uow, lc, item, at)
                if item.app.state is not before:
                    report.count(item.app.state.value)
                if item.app.state is S.REDUCED and before is not S.REDUCED:
                    report.reductions += 1
                report.calendar_resolved += len(pending) - len(item.app.pending_calendar)
                report.reminders += int(lc.remind(uow, item, at))
                sid = self._unsettled_exam(uow, item)
                if item.app.events or lc.fingerprint(item) != snapshot:
                    lc.save(uow, item, SYSTEM, at)
                    uow.commit()  # nothing changed: no write (most applications, most ticks)
                unsettled = (sid, item.app.driver_id) if sid is not None else None
            if unsettled is not None and self.finish_exam is not None:
                with _step(report, application_id):
                    self.finish_exam(*unsettled)  # scores it; the hook settles the application
        with self._uow() as uow:
            report.pending_calendar = uow.applications.pending_calendar_count()
        if report.pending_calendar:
            log.warning(
                "calendar_pending: %d application(s) have a deadline in a calendar year that is "
                "not known; add the year to the override file",
                report.pending_calendar,
            )
        return report

    # ExamService.finish, set by the composition root: a face-invalid attempt that the driver
    # never finished is scored by the tick, so its application moves on (复核 window, retake).
    finish_exam: Callable[[str, str], object] | None = None

    @staticmethod
    def _unsettled_exam(uow: RecordsUnitOfWork, item: Loaded) -> str | None:
        """The attempt's exam session when it ended (invalid) without a stored outcome."""
        if item.app.state is not S.EXAM_IN_PROGRESS or not item.links["exam_sessions"]:
            return None
        sid = str(item.links["exam_sessions"][-1])
        s, exam = uow.sessions.get(sid), uow.exams.get(sid)
        if s is None or exam is None or exam.finished_at is not None:
            return None
        return sid if s.state.value == "terminated_invalid" else None

    def pending_calendar(self) -> int:
        with self._uow() as uow:
            return int(uow.applications.pending_calendar_count())

    def calendar_status(self) -> CalendarStatus:
        """Last known calendar year, days left in it, applications waiting for a year."""
        last = getattr(self._calendar, "last_known_year", None)
        known = last if callable(last) else (lambda: package_last_year())
        today = self._clock.now().astimezone(SHANGHAI).date()
        return calendar_status(_Known(known), today, self.pending_calendar())

    # ---- what the driver sees -----------------------------------------------------------
    def view(self, application_id: str, driver_id: str) -> ApplicationView:
        now = self._clock.now()
        lc = self.lifecycle
        with self._uow() as uow:
            record = uow.applications.get(application_id)
            if record is None or record.driver_id != driver_id:
                raise NotFound(details={"application_id": application_id})
            if "aggregate" not in record.details:
                return _legacy_view(record)
            item = lc.lock(uow, application_id)
            assert item is not None
            self._advance(uow, lc, item, now)
            lc.save(uow, item, SYSTEM, now)
            uow.commit()
        app = item.app
        w = app.study_window
        return ApplicationView(
            application_id=app.application_id,
            state=app.state.value,
            reasons=tuple(r.value for r in app.reasons),
            created_at=item.record.created_at,
            study_window=(
                {"opens_at": _local(w.opens_at), **(_deadline(w.deadline) or {})} if w else None
            ),
            study_minutes_counted=round(app.study_seconds / 60, 1),
            study_minutes_required=self._policy.study.required_total_minutes,
            exam_deadline=_deadline(app.exam_deadline),
            exams_left=max(0, app.max_attempts - app.attempts_used) if app.state in ACTIVE else 0,
            review_due=_deadline(app.review_due),
            pending_calendar=app.pending_calendar,
            reduction=item.links.get("reduction"),
            details={
                "cycle_start": app.cycle.start.isoformat(),
                "hold_until": _local(app.hold_until),
            },
        )

    def record_view(self, driver_id: str) -> RecordView:
        now = self._clock.now()
        with self._uow() as uow:
            record, _ = driver_record(uow, driver_id)
            current = next(
                (
                    a.id
                    for a in reversed(uow.applications.for_driver(driver_id))
                    if ApplicationState(a.state) in ACTIVE
                ),
                None,
            )
        cycle = cycle_for(record.cycle_anchor, now.astimezone(SHANGHAI).date(), self._policy.cycle)
        return RecordView(
            driver_id=driver_id,
            accumulated_points=record.accumulated_points,
            reduced_this_cycle=reduced_in_cycle(record, cycle),
            cycle_cap_points=self._policy.points.cycle_cap_points,
            cycle_start=cycle.start,
            clearing_date=cycle.clearing_date,
            open_application_id=current,
        )


@dataclass(frozen=True, slots=True)
class _Known:
    known: Callable[[], int]

    def last_known_year(self) -> int:
        return self.known()


def _legacy_view(record: Any) -> ApplicationView:
    return ApplicationView(
        application_id=record.id,
        state=record.state,
        reasons=tuple(record.reasons),
        created_at=record.created_at,
        study_window=None,
        study_minutes_counted=0.0,
        study_minutes_required=0,
        exam_deadline=None,
        exams_left=0,
        review_due=None,
        pending_calendar=(),
        reduction=None,
        details=dict(record.details),
    )
