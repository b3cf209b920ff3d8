"""Reviewer re-verification jobs inside the service: started by a reviewer, run in background.

``ReviewJobs.start`` checks access and records the job (``BatchJob.start``) in the
caller's thread, then hands the job id to one background worker thread, which runs
``BatchJob.run`` with an engine built on first use (by default a local process
pool: the review profile's CPU work never runs in the API process, nor on the
online matching pool). The batch module checkpoints every case, so a job that was
running when the service stopped is resumed by the next start (``resume``).

Access: a job is the reviewer's who started it. Its selection (case ids, received-at
range, statuses) only ever covers cases assigned to that reviewer; a case id that is
not theirs is ``not_owner``. Reading results is audited (distances and reasons are
derived from biometric evidence); reports never hold pixels or embeddings.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from proctor.clock import Clock
from proctor.errors import ProctorError
from proctor.review.batch import BatchJob
from proctor.review.cases import ReviewCaseService
from proctor.review.ports import Engine, JobState, ReviewUnitOfWork, Selection
from proctor.review.queue import CaseKind, ReviewCase
from proctor.review.report import ReviewZones
from proctor.services.common import NotOwner

log = logging.getLogger("proctor.review.jobs")
_STOP = ""


class ReviewJobsUnavailable(ProctorError):
    """This service instance runs no re-verification worker."""

    code = "review_jobs_unavailable"


@dataclass(frozen=True, slots=True)
class JobResults:
    job: JobState
    cases: dict[str, dict[str, Any]]  # review case id -> report (with kind and source id)
    groups: list[list[str]]


class ReviewJobs:
    def __init__(
        self,
        uow: Callable[[], ReviewUnitOfWork],
        clock: Clock,
        cases: ReviewCaseService,
        zones: Callable[[], ReviewZones],
        engine_factory: Callable[[], Engine],
        *,
        engine_name: str = "local",
    ) -> None:
        self._uow, self._clock, self._cases = uow, clock, cases
        self._zones_factory = zones
        self._zones: ReviewZones | None = None
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._engine_name = engine_name
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ---- use cases ----------------------------------------------------------------------------
    def start(self, reviewer_id: str, selection: Selection) -> JobState:
        """Record a job over the reviewer's own selected cases and queue it (202 Accepted)."""
        self._cases.sync_flags()
        ids = tuple(self._resolve(reviewer_id, i) for i in dict.fromkeys(selection.case_ids))
        mine = replace(selection, case_ids=ids, assigned_to=reviewer_id)
        job = self._job(self._placeholder())
        job_id = job.start(mine, requested_by=reviewer_id)
        self._submit(job_id)
        return self.get(job_id, reviewer_id)

    def get(self, job_id: str, reviewer_id: str) -> JobState:
        with self._uow() as uow:
            state = uow.review_jobs.get(job_id)
        if state is None or state.requested_by != reviewer_id:
            raise NotOwner(details={"job_id": job_id})
        return state

    def results(self, job_id: str, reviewer_id: str, purpose: str) -> JobResults:
        state = self.get(job_id, reviewer_id)
        now = self._clock.now()
        with self._uow() as uow:
            reports = uow.review_jobs.results(job_id)
            out: dict[str, dict[str, Any]] = {}
            for case_id, report in reports.items():
                case = uow.review_cases.get(case_id)
                out[case_id] = {**report, **_source(case)}
            ids = set(reports)
            groups = [list(c) for _, _, c in uow.case_groups.all() if ids.intersection(c)]
            uow.audit.append(
                actor=reviewer_id,
                action="reverify_results_viewed",
                subject=job_id,
                details={"cases": len(out), "purpose": purpose},
                at=now,
            )
            uow.commit()
        return JobResults(state, out, groups)

    # ---- background worker --------------------------------------------------------------------
    def resume(self) -> int:
        """Queue every job that was running when the service stopped."""
        with self._uow() as uow:
            pending = uow.review_jobs.unfinished()
        for job_id in pending:
            self._submit(job_id)
        return len(pending)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=60)
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def _submit(self, job_id: str) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="review-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job_id)

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id == _STOP:
                return
            try:
                if self._engine is None:
                    self._engine = self._engine_factory()
                self._job(self._engine).run(job_id)
            except Exception as exc:  # the job stays "running": the next start resumes it
                log.error("review job %s stopped: %s", job_id, type(exc).__name__)

    # ---- internals ----------------------------------------------------------------------------
    def _job(self, engine: Engine) -> BatchJob:
        if self._zones is None:
            self._zones = self._zones_factory()
        return BatchJob(self._uow, engine, self._clock, self._zones, cases=self._cases)

    def _placeholder(self) -> Engine:
        """``BatchJob.start`` only records the engine's name: no pool is needed for it."""
        return _Named(self._engine_name)

    def _resolve(self, reviewer_id: str, any_id: str) -> str:
        """A review case id, or the id of a flag / manual review (复核) → its case, if theirs."""
        with self._uow() as uow:
            case = uow.review_cases.get(any_id) or uow.review_cases.by_source(
                CaseKind.FLAG.value, any_id
            )
            if case is None:
                m = uow.manual_reviews.get(any_id)
                if m is not None and m.kind == "fuxi":
                    case = uow.review_cases.by_source(CaseKind.FUXI.value, m.subject_id)
        if case is None or case.assigned_to != reviewer_id:
            raise NotOwner(details={"case_id": any_id})  # never confirm that it exists
        return case.id


@dataclass
class _Named:
    name: str
    workers: int = 1

    def run(self, tasks: Any) -> list[Any]:  # pragma: no cover - never called
        raise RuntimeError("placeholder engine")

    def close(self) -> None:
        return None


def _source(case: ReviewCase | None) -> dict[str, Any]:
    if case is None:
        return {}
    return {
        "kind": case.kind.value,
        "source_id": case.details.get("manual_review_id", case.source_id),
        "session_id": case.session_id,
        "group_id": case.group_id,
    }
