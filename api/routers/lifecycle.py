"""The application lifecycle over HTTP (issue 18): what the driver sees of an application and
of their record, the calendar in readiness and metrics, and the demo clock.

Sessions under an application are opened through ``open_under_application`` (the study route
and the exam route), so the same use-case rule holds for every caller of the service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from pydantic import BaseModel, Field

from api.deps import Admin, Driver, Services
from api.errors import ApiError
from api.routers.driver import IdPath
from proctor.bootstrap import Container
from proctor.clock import OffsetClock
from proctor.services.calendar_watch import alert
from proctor.services.sessions import SessionView
from proctor.session.states import SessionKind

router = APIRouter(prefix="/v1", tags=["driver"])
dev_router = APIRouter(tags=["dev"])


class ApplicationStatusOut(BaseModel):
    application_id: str
    state: str
    reasons: list[str]
    created_at: datetime
    study_window: dict[str, Any] | None
    study_minutes_counted: float
    study_minutes_required: int
    exam_deadline: dict[str, Any] | None
    exams_left: int
    review_due: dict[str, Any] | None
    pending_calendar: list[str]
    point_reduction: dict[str, Any] | None
    details: dict[str, Any]


class RecordOut(BaseModel):
    """As the 12123 screen shows it: 累计记分, 本周期已减分数, 清分日期."""

    accumulated_points: int = Field(description="累计记分")
    reduced_this_cycle: int = Field(description="本周期已减分数")
    cycle_cap_points: int
    cycle_start: date
    clearing_date: date = Field(description="清分日期")
    open_application_id: str | None


class ClockIn(BaseModel):
    advance_s: float = Field(ge=0, le=400 * 86400)


class ClockOut(BaseModel):
    now: datetime


def open_under_application(
    c: Container, driver_id: str, kind: SessionKind, opener: Callable[[], SessionView]
) -> SessionView:
    """Open a session; with the application gate on (default) it belongs to an application."""
    if not c.settings.application_gate:
        return opener()
    return c.applications.open_session(driver_id, kind, opener)


@router.get("/me/applications/{application_id}", response_model=ApplicationStatusOut)
async def get_application(application_id: IdPath, who: Driver, c: Services) -> ApplicationStatusOut:
    """State, windows (Asia/Shanghai), study minutes counted, exams left, 复核 due date."""
    v = await anyio.to_thread.run_sync(c.applications.view, application_id, who.subject)
    return ApplicationStatusOut(
        application_id=v.application_id,
        state=v.state,
        reasons=list(v.reasons),
        created_at=v.created_at,
        study_window=v.study_window,
        study_minutes_counted=v.study_minutes_counted,
        study_minutes_required=v.study_minutes_required,
        exam_deadline=v.exam_deadline,
        exams_left=v.exams_left,
        review_due=v.review_due,
        pending_calendar=list(v.pending_calendar),
        point_reduction=v.reduction,
        details=v.details,
    )


@router.get("/me/record", response_model=RecordOut)
async def my_record(who: Driver, c: Services) -> RecordOut:
    r = await anyio.to_thread.run_sync(c.applications.record_view, who.subject)
    return RecordOut(
        accumulated_points=r.accumulated_points,
        reduced_this_cycle=r.reduced_this_cycle,
        cycle_cap_points=r.cycle_cap_points,
        cycle_start=r.cycle_start,
        clearing_date=r.clearing_date,
        open_application_id=r.open_application_id,
    )


@dev_router.post("/v1/dev/clock", response_model=ClockOut)
async def advance_clock(body: ClockIn, _: Admin, c: Services) -> ClockOut:
    """Demo and test only (``PROCTOR_DEV_CLOCK=true``): move the service's clock forward."""
    if not isinstance(c.clock, OffsetClock):
        raise ApiError("not_found", "the dev clock is off")
    return ClockOut(now=c.clock.advance(body.advance_s))


@dev_router.post("/v1/dev/tick")
async def run_tick(_: Admin, c: Services) -> dict[str, Any]:
    """Demo and test only: run the lifecycle tick now (the scheduler runs it in production)."""
    report = await anyio.to_thread.run_sync(c.applications.tick)
    return {
        "examined": report.examined,
        "transitions": report.transitions,
        "reductions": report.reductions,
        "pending_calendar": report.pending_calendar,
    }


def readiness_details(c: Container) -> tuple[dict[str, Any], list[str]]:
    """The calendar part of ``/readyz``: details and warnings (never unready by itself)."""
    st = c.applications.calendar_status()
    warnings = alert(st, c.settings.calendar_warning_days)
    details = {
        "calendar": {
            "last_known_year": st.last_known_year,
            "days_left": st.days_left,
            "pending_calendar": st.pending_calendar,
        }
    }
    return details, warnings


class CalendarCollector(Collector):
    """``proctor_calendar_days_left`` and ``proctor_applications_pending_calendar``."""

    def __init__(self, container: Callable[[], Container | None]) -> None:
        self._container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        c = self._container()
        if c is None:
            return
        st = c.applications.calendar_status()
        yield GaugeMetricFamily(
            "proctor_calendar_days_left",
            "days until the last known working-day calendar year ends",
            value=st.days_left,
        )
        yield GaugeMetricFamily(
            "proctor_applications_pending_calendar",
            "applications with a deadline waiting for an unknown calendar year",
            value=st.pending_calendar,
        )


def register_metrics(
    registry: CollectorRegistry, container: Callable[[], Container | None]
) -> None:
    registry.register(CalendarCollector(container))
