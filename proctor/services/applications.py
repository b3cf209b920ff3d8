"""The 学法减分 application driven by the service, end to end (issue 18).

The :class:`~proctor.rules.application.Application` aggregate is stored with its row
(``details["aggregate"]``, see :mod:`proctor.rules.codec`) and every change goes through
:class:`Lifecycle`: load (row locked), act, save. Saving audits every state transition and writes
one outbox row (``NotificationEvent``) per event the driver must hear about; the notification
dispatcher (issue 18, the other half) renders and delivers them. Outbox kinds:

=====================  =========================================================
``application_approved`` / ``application_rejected``   申请审核结果 (reasons on refusal)
``study_completed``       学习完成 (with the exam deadline)
``exam_unlocked``         可以考试 (attempts left, exam deadline)
``study_session_voided`` / ``study_voided``           学习作废 (one session / the window)
``exam_result``           考试结果 (passed true/false/invalid, retakes left)
``points_reduced``        减分结果 (removed, points after)
``review_accepted``       复核受理 (due date, ``pending_calendar`` when the year is unknown)
``review_result``         复核结果
``deadline_near``         清分日期提醒 (clearing date, days left)
``application_voided``    the application ended without a reduction (reasons)
=====================  =========================================================

Links between an application and its sessions are kept beside the aggregate
(``details["links"]``): the study sessions opened under it and the exam session of each attempt.
Study time is credited from the linked study sessions (``sync``): a completed session is one
segment from its passed entry check to its completion; a terminated session credits nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from proctor.errors import ProctorError
from proctor.rules import Application, ApplicationState, RulesPolicy, WorkdayCalendar
from proctor.rules.application import ReductionStatus
from proctor.rules.codec import from_dict, to_dict
from proctor.rules.cycles import clearing_reminder
from proctor.rules.driver import DriverRecord
from proctor.rules.errors import ActionRefused, IllegalApplicationTransition
from proctor.rules.events import EventKind, RuleEvent
from proctor.rules.exam import ExamOutcome
from proctor.rules.reasons import Reason
from proctor.rules.states import ACTIVE
from proctor.rules.study import StudySegment, study_complete
from proctor.rules.timeutil import local_date
from proctor.services.common import NotFound
from proctor.services.ports import ApplicationRecord, NotificationEvent, RecordsUnitOfWork
from proctor.session.states import SessionKind, SessionState

S = ApplicationState
SYSTEM = "system"
log = logging.getLogger("proctor.applications")


class ApplicationRequired(ProctorError):
    """No application in a state that allows this session (details: ``reasons``)."""

    code = "application_required"


class StudyNotAllowed(ProctorError):
    """A study session outside an approved application's window (details: ``reasons``)."""

    code = "study_not_allowed"


class ExamNotAllowed(ProctorError):
    """An exam without an unlocked application (details: ``reasons``, ``state``)."""

    code = "exam_not_allowed"


class LifecycleUnitOfWork(RecordsUnitOfWork, Protocol):
    """The records unit of work, with the application repository's write methods."""

    def __enter__(self) -> LifecycleUnitOfWork: ...


@dataclass(slots=True)
class TickReport:
    """What one ``tick`` did: counts by what happened, and the operator's calendar alert."""

    at: datetime
    examined: int = 0
    transitions: dict[str, int] = field(default_factory=dict)
    reductions: int = 0
    reminders: int = 0
    calendar_resolved: int = 0
    pending_calendar: int = 0
    errors: int = 0

    def count(self, to: str) -> None:
        self.transitions[to] = self.transitions.get(to, 0) + 1


@dataclass(slots=True)
class Loaded:
    app: Application
    record: ApplicationRecord
    links: dict[str, Any]
    seen: int  # history entries already saved


def _links(details: Mapping[str, Any]) -> dict[str, Any]:
    raw = details.get("links") or {}
    return {
        "study_sessions": list(raw.get("study_sessions", ())),
        "exam_sessions": list(raw.get("exam_sessions", ())),
        "credited": list(raw.get("credited", ())),
        "reminded_for": raw.get("reminded_for"),
        "reduction": raw.get("reduction"),
    }


def driver_record(uow: RecordsUnitOfWork, driver_id: str) -> tuple[DriverRecord, dict[str, Any]]:
    from proctor.services.records import DriverRecordMissing, driver_record_from_json

    body = uow.driver_records.get(driver_id)
    if body is None:
        raise DriverRecordMissing(details={"driver_id": driver_id})
    return driver_record_from_json(driver_id, body), body


def reduced_body(
    body: Mapping[str, Any], record: DriverRecord, removed: int, on: str
) -> dict[str, Any]:
    """The driver's record after ``removed`` points came off on ``on``: the current cycle's
    points first, then carried-over ones; the reduction dated for the per-cycle cap."""
    from_cycle = min(removed, record.cycle_points)
    updated = dict(body)
    updated["cycle_points"] = record.cycle_points - from_cycle
    updated["carried_over_points"] = record.carried_over_points - (removed - from_cycle)
    updated["reductions"] = [*body.get("reductions", ()), {"on": on, "points": removed}]
    return updated


class Lifecycle:
    """Load, act on and save applications inside a caller's unit of work."""

    def __init__(self, policy: RulesPolicy, calendar: WorkdayCalendar) -> None:
        self.policy, self.calendar = policy, calendar

    # ---- persistence --------------------------------------------------------------------
    def new(self, uow: RecordsUnitOfWork, app: Application, at: datetime) -> Loaded:
        record = ApplicationRecord(
            id=app.application_id,
            driver_id=app.driver_id,
            state=app.state.value,
            reasons=tuple(r.value for r in app.reasons),
            created_at=at,
            updated_at=at,
            details={},
        )
        uow.applications.add(record)
        return Loaded(app, record, _links({}), 0)

    def load(self, uow: RecordsUnitOfWork, record: ApplicationRecord) -> Loaded:
        doc = record.details.get("aggregate")
        if not isinstance(doc, dict):
            raise NotFound("the application predates the lifecycle", details={"id": record.id})
        app = from_dict(doc, self.policy, self.calendar)
        return Loaded(app, record, _links(record.details), len(app.history))

    def save(self, uow: RecordsUnitOfWork, item: Loaded, actor: str, at: datetime) -> None:
        app = item.app
        for before, after, when in app.history[item.seen :]:
            uow.audit.append(
                actor=actor,
                action="application_transition",
                subject=app.application_id,
                details={
                    "from": before.value,
                    "to": after.value,
                    "at": when.isoformat(),
                    "reasons": [r.value for r in app.reasons] if after is app.state else [],
                },
                at=at,
            )
        item.seen = len(app.history)
        for event in app.events:
            self.emit(uow, event)
        app.events.clear()
        details = {
            "cycle_start": app.cycle.start.isoformat(),
            "clearing_date": app.cycle.clearing_date.isoformat(),
            "aggregate": to_dict(app),
            "links": item.links,
        }
        record = ApplicationRecord(
            id=app.application_id,
            driver_id=app.driver_id,
            state=app.state.value,
            reasons=tuple(r.value for r in app.reasons),
            created_at=item.record.created_at,
            updated_at=at,
            details=details,
        )
        item.record = record
        uow.applications.save(record, pending_calendar=bool(app.pending_calendar))

    @staticmethod
    def fingerprint(item: Loaded) -> str:
        """What a save would write (the aggregate and its links), to skip saving no change."""
        return json.dumps([to_dict(item.app), item.links], sort_keys=True, default=str)

    @staticmethod
    def emit(uow: RecordsUnitOfWork, event: RuleEvent) -> None:
        payload: dict[str, Any] = {"application_id": event.application_id, **event.details}
        uow.outbox.emit(NotificationEvent(event.kind.value, event.driver_id, event.at, payload))

    @staticmethod
    def notify(
        uow: RecordsUnitOfWork, app: Application, kind: str, at: datetime, **payload: Any
    ) -> None:
        body = {"application_id": app.application_id, **payload}
        uow.outbox.emit(NotificationEvent(kind, app.driver_id, at, body))

    # ---- finding ------------------------------------------------------------------------
    def current(self, uow: RecordsUnitOfWork, driver_id: str) -> Loaded | None:
        """The driver's newest application the lifecycle drives, if it is still active."""
        for record in reversed(uow.applications.for_driver(driver_id)):
            if "aggregate" in record.details and ApplicationState(record.state) in ACTIVE:
                return self.lock(uow, record.id)
        return None

    def lock(self, uow: RecordsUnitOfWork, application_id: str) -> Loaded | None:
        record = uow.applications.get_for_update(application_id)
        if record is None or "aggregate" not in record.details:
            return None
        return self.load(uow, record)

    def of_exam(self, uow: RecordsUnitOfWork, driver_id: str, session_id: str) -> Loaded | None:
        for record in reversed(uow.applications.for_driver(driver_id)):
            if session_id in _links(record.details)["exam_sessions"]:
                return self.lock(uow, record.id)
        return None

    # ---- driving ------------------------------------------------------------------------
    def sync_study(self, uow: RecordsUnitOfWork, item: Loaded, at: datetime) -> None:
        """Credit the linked study sessions that ended; unlock the exam at 30 minutes."""
        app, links = item.app, item.links
        for sid in links["study_sessions"]:
            if sid in links["credited"]:
                continue
            s = uow.sessions.get(sid)
            if s is None or not s.state.terminal:
                continue
            links["credited"].append(sid)
            try:
                if s.state is SessionState.COMPLETED and s.identity_verified_at is not None:
                    assert s.closed_at is not None
                    app.record_segment(StudySegment(s.identity_verified_at, s.closed_at, sid))
                elif s.state is SessionState.TERMINATED_INVALID and s.closed_at is not None:
                    app.terminate_session(sid, s.closed_at)
            except (ActionRefused, IllegalApplicationTransition):
                continue  # the application had moved on: nothing to credit
        if app.state is S.STUDY_OPEN and study_complete(app.study_seconds, self.policy.study):
            try:
                deadline = app.submit_study(at)
            except (ActionRefused, IllegalApplicationTransition):
                return
            self.notify(
                uow,
                app,
                "exam_unlocked",
                at,
                exam_deadline=deadline.last_day.isoformat(),
                pending_calendar=not deadline.verified,
                attempts_left=app.max_attempts - app.attempts_used,
            )

    def reduce(self, uow: RecordsUnitOfWork, item: Loaded, at: datetime) -> dict[str, Any]:
        """In the caller's transaction: re-check eligibility, reduce (cap, never negative) and
        write the driver's record; or hold (data sync pending) or void, with the reasons."""
        app = item.app
        record, body = driver_record(uow, app.driver_id)
        decision = app.apply_reduction(record, at)
        result: dict[str, Any] = {
            "status": decision.status.value,
            "reasons": [r.value for r in decision.reasons],
        }
        if decision.status is ReductionStatus.APPLIED and decision.reduction is not None:
            removed = decision.reduction.removed_points
            uow.driver_records.put(
                app.driver_id, reduced_body(body, record, removed, local_date(at).isoformat())
            )
            result.update(removed_points=removed, points_after=decision.reduction.points_after)
        item.links["reduction"] = result
        return result

    def settle_exam(
        self, uow: RecordsUnitOfWork, item: Loaded, outcome: Mapping[str, Any], at: datetime
    ) -> dict[str, Any] | None:
        """An exam attempt ended: its result, and on a pass the reduction in this transaction.

        A face-invalid attempt whose answers pass is ``result_invalid_auth`` (复核 possible within
        24 h); one that does not pass is an invalid attempt under the rule data.
        """
        app = item.app
        if app.state is not S.EXAM_IN_PROGRESS:
            return None
        scored = ExamOutcome(
            passed=bool(outcome.get("passed")) or _answers_pass(outcome, self.policy),
            correct=int(outcome.get("correct", 0)),
            wrong=int(outcome.get("wrong", 0)),
            questions_used=int(outcome.get("questions_used", 0)),
            ended_early=bool(outcome.get("ended_early")),
        )
        valid = bool(outcome.get("valid", True))
        if not valid and not scored.passed:
            app.invalidate_exam(at)
            return None
        app.finish_exam(scored, at)
        if _state(app) is not S.FINAL_AUTH:
            return None
        app.final_auth(valid, at)
        if _state(app) is S.PASSED_PENDING_APPLY:
            return self.reduce(uow, item, at)
        return None

    def auto_review(self, uow: RecordsUnitOfWork, item: Loaded, at: datetime) -> None:
        if item.app.state is not S.PENDING_APPROVAL:
            return
        hold = item.app.hold_until
        if hold is not None and at < hold:
            return
        record, _ = driver_record(uow, item.app.driver_id)
        item.app.system_review(record, at)

    def remind(self, uow: RecordsUnitOfWork, item: Loaded, at: datetime) -> bool:
        """清分日期提醒: once per clearing date, while the application is active."""
        app = item.app
        if app.state not in ACTIVE:
            return False
        record, _ = driver_record(uow, app.driver_id)
        r = clearing_reminder(record.cycle_anchor, local_date(at), self.policy.cycle)
        if not r.remind or item.links["reminded_for"] == r.clearing_date.isoformat():
            return False
        item.links["reminded_for"] = r.clearing_date.isoformat()
        self.emit(
            uow,
            RuleEvent(
                EventKind.DEADLINE_NEAR,
                app.application_id,
                app.driver_id,
                at,
                {
                    "deadline": "clearing_date",
                    "date": r.clearing_date.isoformat(),
                    "days_left": str(r.days_left),
                },
            ),
        )
        return True


def _state(app: Application) -> ApplicationState:
    """The state now (read through a call: an action has just changed it)."""
    return app.state


def _answers_pass(outcome: Mapping[str, Any], policy: RulesPolicy) -> bool:
    """Did the answers themselves pass (whatever the face checks said)?"""
    exam = policy.exam
    return (
        int(outcome.get("correct", 0)) >= exam.pass_min_correct
        and int(outcome.get("wrong", 0)) < exam.fail_on_wrong_count
    )


@contextmanager
def _step(report: TickReport, application_id: str) -> Iterator[None]:
    """One application's step of a tick: a failure is logged and counted, and the tick goes on
    with the next application (its transaction rolled back)."""
    try:
        yield
    except Exception:
        report.errors += 1
        log.exception("tick: application %s failed", application_id)


def open_kind_refusal(kind: SessionKind, item: Loaded | None, at: datetime) -> ProctorError | None:
    """Why a session of ``kind`` may not open for this application now, or None."""
    if item is None:
        return ApplicationRequired(
            "apply first: sessions belong to an application",
            details={"reasons": ["application_required"]},
        )
    app = item.app
    base = {"application_id": app.application_id, "state": app.state.value}
    if kind is SessionKind.STUDY:
        window = app.study_window
        if app.state is not S.STUDY_OPEN or window is None:
            reasons = [r.value for r in app.reasons] or [Reason.STUDY_WINDOW_NOT_OPEN.value]
            if app.state in (S.STUDY_COMPLETE, S.EXAM_FAILED, S.EXAM_IN_PROGRESS):
                reasons = ["study_complete"]
            return StudyNotAllowed(details={**base, "reasons": reasons})
        if at < window.opens_at:
            return StudyNotAllowed(
                details={
                    **base,
                    "reasons": [Reason.STUDY_WINDOW_NOT_OPEN.value],
                    "opens_at": window.opens_at.isoformat(),
                }
            )
        return None
    if app.state not in (S.STUDY_COMPLETE, S.EXAM_FAILED):
        reasons = [r.value for r in app.reasons]
        if app.state is S.STUDY_OPEN or app.state is S.PENDING_APPROVAL:
            reasons = [Reason.STUDY_TIME_INSUFFICIENT.value]
        return ExamNotAllowed(details={**base, "reasons": reasons or [app.state.value]})
    return None


# (uow, driver id, exam session id, upheld) -> the reduction result, or None outside an application
FuxiDecided = Callable[[RecordsUnitOfWork, str, str, bool], "dict[str, Any] | None"]
