"""Ports of the review use cases and the batch job (see ``proctor.storage.review_repo``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from proctor.review.queue import ReviewCase
from proctor.review.report import SnapshotMeasure
from proctor.services.ports import RecordsUnitOfWork

Task = tuple[str, bytes]  # (evidence id, crop bytes decrypted by the parent)


@dataclass
class Analysed:
    """One evidence crop as the review profile measured it (no pixels)."""

    measure: SnapshotMeasure
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


class Engine(Protocol):
    """Where the per-snapshot review work runs (``proctor.review.engines``)."""

    name: str
    workers: int

    def run(self, tasks: Sequence[Task]) -> list[Analysed]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Selection:
    """Which cases a job re-verifies: ids, a received-at range [since, until), statuses.

    ``assigned_to`` narrows any selection to the cases assigned to one reviewer (the
    API's jobs: a reviewer re-verifies only their own cases).
    """

    case_ids: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    statuses: tuple[str, ...] = ()
    assigned_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "case_ids": list(self.case_ids),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "statuses": list(self.statuses),
            "assigned_to": self.assigned_to,
        }


@dataclass(slots=True)
class JobState:
    id: str
    status: str  # "running" | "finished"
    engine: str
    total: int
    done: int
    created_at: datetime
    finished_at: datetime | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    requested_by: str | None = None  # the reviewer who started it through the API

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else round(100.0 * self.done / self.total, 1)


class ReviewCaseRepository(Protocol):
    def add(self, case: ReviewCase) -> None: ...

    def get(self, case_id: str) -> ReviewCase | None: ...

    def by_source(self, kind: str, source_id: str) -> ReviewCase | None: ...

    def save(self, case: ReviewCase) -> None: ...

    def select(self, selection: Selection) -> list[ReviewCase]: ...

    def for_session(self, session_id: str) -> list[ReviewCase]: ...


class ReviewJobRepository(Protocol):
    def create(
        self,
        job_id: str,
        engine: str,
        selection: Selection,
        case_ids: Sequence[str],
        at: datetime,
        requested_by: str | None = None,
    ) -> JobState: ...

    def unfinished(self) -> list[str]: ...

    def latest_for_case(self, case_id: str) -> tuple[str, dict[str, Any]] | None: ...

    def get(self, job_id: str) -> JobState | None: ...

    def pending(self, job_id: str) -> list[str]: ...

    def complete_item(
        self, job_id: str, case_id: str, result: dict[str, Any], at: datetime
    ) -> None: ...

    def results(self, job_id: str) -> dict[str, dict[str, Any]]: ...

    def finish(self, job_id: str, summary: dict[str, Any], at: datetime) -> None: ...


class CaseGroupRepository(Protocol):
    def upsert(self, group_id: str, kind: str, case_ids: Sequence[str], at: datetime) -> bool: ...

    def all(self) -> list[tuple[str, str, tuple[str, ...]]]: ...


class ReviewUnitOfWork(RecordsUnitOfWork, Protocol):
    @property
    def review_cases(self) -> ReviewCaseRepository: ...

    @property
    def review_jobs(self) -> ReviewJobRepository: ...

    @property
    def case_groups(self) -> CaseGroupRepository: ...

    def __enter__(self) -> ReviewUnitOfWork: ...
