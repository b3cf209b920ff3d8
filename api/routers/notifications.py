"""Operator routes for notification delivery and the scheduler (admin role), and their
Prometheus metrics.

``GET /v1/admin/notifications/parked`` lists poison messages (kind, ids, attempts, reason,
last error code: never the text); ``POST .../{outbox_id}/requeue`` gives one a fresh set of
attempts (audited); ``GET /v1/admin/scheduler`` shows each job's lease and last run.
Metrics: ``proctor_notifications_parked``/``_pending`` (database, at scrape time),
``proctor_notifications_dispatched_total{outcome}`` and ``proctor_scheduler_runs_total``
(this replica's runs), ``proctor_scheduler_last_finished_age_seconds{job}`` and
``proctor_scheduler_last_run_ok{job}`` (all replicas, from the lease rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel

from api.deps import Admin, Services
from api.errors import ApiError
from proctor.bootstrap import Container

router = APIRouter(tags=["admin"])


class ParkedOut(BaseModel):
    outbox_id: int
    kind: str
    driver_id: str
    at: datetime
    attempts: int
    parked_at: datetime
    reason: str
    last_error: str | None


class ParkedListOut(BaseModel):
    sender: str
    counts: dict[str, int]
    parked: list[ParkedOut]


class SchedulerOut(BaseModel):
    enabled: bool
    running: bool
    holder: str | None
    jobs: dict[str, float]
    leases: list[dict[str, Any]]


def _ops(c: Container) -> Any:
    if c.notifications is None:
        raise ApiError("not_found", "notification delivery is not configured")
    return c.notifications


@router.get("/v1/admin/notifications/parked", response_model=ParkedListOut)
async def parked(
    _: Admin, c: Services, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ParkedListOut:
    ops = _ops(c)
    rows = await anyio.to_thread.run_sync(ops.parked, limit)
    counts = await anyio.to_thread.run_sync(ops.counts)
    return ParkedListOut(
        sender=ops.sender_name,
        counts=counts,
        parked=[ParkedOut(**{k: getattr(r, k) for k in ParkedOut.model_fields}) for r in rows],
    )


@router.post("/v1/admin/notifications/{outbox_id}/requeue", status_code=204)
async def requeue(outbox_id: Annotated[int, Path(ge=1)], p: Admin, c: Services) -> Response:
    ops = _ops(c)
    if not await anyio.to_thread.run_sync(ops.requeue, outbox_id, p.subject):
        raise ApiError("not_found", "no parked notification with this id")
    return Response(status_code=204)


@router.get("/v1/admin/scheduler", response_model=SchedulerOut)
async def scheduler(request: Request, _: Admin, c: Services) -> SchedulerOut:
    sched = c.scheduler
    leases: list[dict[str, Any]] = []
    if sched is not None:
        leases = await anyio.to_thread.run_sync(sched.status)
    return SchedulerOut(
        enabled=bool(request.app.state.scheduler_enabled),
        running=sched is not None and sched.running,
        holder=None if sched is None else sched.holder,
        jobs={} if sched is None else sched.jobs,
        leases=leases,
    )


class DeliveryCollector(Collector):
    """Reads the container at scrape time; the database counts are refreshed by
    :func:`refresh_metrics` (called off the event loop by ``/metrics``)."""

    def __init__(self, request_app: Any) -> None:
        self._app = request_app
        self.counts: dict[str, int] = {}
        self.leases: list[dict[str, Any]] = []

    def collect(self) -> Iterator[Metric]:
        c: Container | None = getattr(self._app.state, "container", None)
        if c is None:
            return
        if c.notifications is not None:
            for name in ("parked", "pending"):
                if name in self.counts:
                    yield GaugeMetricFamily(
                        f"proctor_notifications_{name}",
                        f"outbox messages {name} (database-wide)",
                        value=self.counts[name],
                    )
            sent = CounterMetricFamily(
                "proctor_notifications_dispatched",
                "dispatch outcomes on this replica",
                labels=["outcome"],
            )
            for outcome, n in c.notifications.snapshot_totals().items():
                sent.add_metric([outcome], n)
            yield sent
        if c.scheduler is not None:
            runs = CounterMetricFamily(
                "proctor_scheduler_runs",
                "scheduled job runs on this replica",
                labels=["job", "status"],
            )
            for (job, status), n in sorted(c.scheduler.run_counts.items()):
                runs.add_metric([job, status], n)
            yield runs
            yield from self._lease_metrics(c)

    def _lease_metrics(self, c: Container) -> Iterator[Metric]:
        """Across replicas: seconds since each job last finished, and whether that run was
        ok. Alert when the age passes a few intervals: no replica is running the job."""
        age = GaugeMetricFamily(
            "proctor_scheduler_last_finished_age_seconds",
            "seconds since any replica last finished the job",
            labels=["job"],
        )
        ok = GaugeMetricFamily(
            "proctor_scheduler_last_run_ok", "1 when the job's last run was ok", labels=["job"]
        )
        now = c.clock.now()
        for lease in self.leases:
            finished = lease.get("last_finished_at")
            if finished is None:
                continue
            seconds = (now - datetime.fromisoformat(finished)).total_seconds()
            age.add_metric([lease["job"]], max(0.0, seconds))
            ok.add_metric([lease["job"]], 1.0 if lease.get("last_status") == "ok" else 0.0)
        yield age
        yield ok


def install_metrics(app: Any) -> DeliveryCollector:
    collector = DeliveryCollector(app)
    app.state.registry.register(collector)
    app.state.delivery_metrics = collector
    return collector


async def refresh_metrics(request: Request) -> None:
    """Refresh the database-wide counts (one indexed query) before a scrape."""
    collector: DeliveryCollector | None = getattr(request.app.state, "delivery_metrics", None)
    c: Container | None = getattr(request.app.state, "container", None)
    if collector is None or c is None or c.notifications is None:
        return
    try:
        collector.counts = await anyio.to_thread.run_sync(c.notifications.counts)
        if c.scheduler is not None:
            collector.leases = await anyio.to_thread.run_sync(c.scheduler.status)
    except Exception:  # a scrape must not fail because the database is away
        collector.counts, collector.leases = {}, []
