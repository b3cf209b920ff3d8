"""An :class:`~proctor.rules.application.Application` as plain JSON data, and back.

The service stores this document with the application row; events are not part of it (they are
written to the outbox when they happen). Instants are ISO 8601 with their offset, dates ISO.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from proctor.rules.application import Application
from proctor.rules.calendar import WorkdayCalendar
from proctor.rules.cycles import Cycle
from proctor.rules.deadlines import Deadline, Window
from proctor.rules.points import Reduction
from proctor.rules.policy import RulesPolicy
from proctor.rules.reasons import Reason
from proctor.rules.states import ApplicationState
from proctor.rules.study import StudySegment

FORMAT = 1


def _dt(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _pdt(v: Any) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _d(v: date | None) -> str | None:
    return v.isoformat() if v is not None else None


def _pd(v: Any) -> date | None:
    return date.fromisoformat(v) if v else None


def _deadline(d: Deadline | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"last_day": d.last_day.isoformat(), "verified": d.verified, "rolled": d.rolled_forward}


def _pdeadline(v: Any) -> Deadline | None:
    if not v:
        return None
    return Deadline(date.fromisoformat(v["last_day"]), bool(v["verified"]), bool(v["rolled"]))


def to_dict(app: Application) -> dict[str, Any]:
    w = app.study_window
    r = app.reduction
    return {
        "format": FORMAT,
        "application_id": app.application_id,
        "driver_id": app.driver_id,
        "policy_version": app.policy.version,
        "cycle": {
            "index": app.cycle.index,
            "start": app.cycle.start.isoformat(),
            "clearing_date": app.cycle.clearing_date.isoformat(),
        },
        "state": app.state.value,
        "reasons": [x.value for x in app.reasons],
        "history": [[a.value, b.value, at.isoformat()] for a, b, at in app.history],
        "study_window": (
            {"opens_at": w.opens_at.isoformat(), "deadline": _deadline(w.deadline)} if w else None
        ),
        "segments": [
            [s.started_at.isoformat(), s.ended_at.isoformat(), s.session_id] for s in app.segments
        ],
        "terminated_sessions": sorted(app.terminated_sessions),
        "study_completed_on": _d(app.study_completed_on),
        "exam_deadline": _deadline(app.exam_deadline),
        "attempts_used": app.attempts_used,
        "failures": [f.isoformat() for f in app.failures],
        "invalid_at": _dt(app.invalid_at),
        "review_requests": app.review_requests,
        "review_due": _deadline(app.review_due),
        "reduction": (
            {
                "removed_points": r.removed_points,
                "points_after": r.points_after,
                "reduced_after_points": r.reduced_after_points,
                "reasons": [x.value for x in r.reasons],
            }
            if r
            else None
        ),
        "approved_at": _dt(app.approved_at),
        "review_received_on": _d(app.review_received_on),
        "hold_until": _dt(app.hold_until),
    }


def from_dict(data: dict[str, Any], policy: RulesPolicy, calendar: WorkdayCalendar) -> Application:
    c = data["cycle"]
    cycle = Cycle(
        int(c["index"]), date.fromisoformat(c["start"]), date.fromisoformat(c["clearing_date"])
    )
    app = Application(data["application_id"], data["driver_id"], cycle, policy, calendar)
    app.state = ApplicationState(data["state"])
    app.reasons = tuple(Reason(x) for x in data.get("reasons", ()))
    app.history = [
        (ApplicationState(a), ApplicationState(b), datetime.fromisoformat(at))
        for a, b, at in data.get("history", ())
    ]
    w = data.get("study_window")
    if w:
        deadline = _pdeadline(w["deadline"])
        assert deadline is not None
        app.study_window = Window(datetime.fromisoformat(w["opens_at"]), deadline)
    app.segments = [
        StudySegment(datetime.fromisoformat(a), datetime.fromisoformat(b), sid)
        for a, b, sid in data.get("segments", ())
    ]
    app.terminated_sessions = set(data.get("terminated_sessions", ()))
    app.study_completed_on = _pd(data.get("study_completed_on"))
    app.exam_deadline = _pdeadline(data.get("exam_deadline"))
    app.attempts_used = int(data.get("attempts_used", 0))
    app.failures = [datetime.fromisoformat(f) for f in data.get("failures", ())]
    app.invalid_at = _pdt(data.get("invalid_at"))
    app.review_requests = int(data.get("review_requests", 0))
    app.review_due = _pdeadline(data.get("review_due"))
    r = data.get("reduction")
    if r:
        app.reduction = Reduction(
            int(r["removed_points"]),
            int(r["points_after"]),
            int(r["reduced_after_points"]),
            tuple(Reason(x) for x in r.get("reasons", ())),
        )
    app.approved_at = _pdt(data.get("approved_at"))
    app.review_received_on = _pd(data.get("review_received_on"))
    app.hold_until = _pdt(data.get("hold_until"))
    return app
