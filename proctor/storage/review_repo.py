"""SQLAlchemy side of 复核 review: cases, batch jobs with per-case checkpoints, case groups.

Job items are the checkpoint: one committed row per finished case, so a killed
job resumes with the cases still ``pending``. No row holds image bytes or
embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from proctor.review.ports import JobState, Selection
from proctor.review.queue import CaseKind, CaseStatus, ReviewCase
from proctor.storage.records import SqlAlchemyRecordsUnitOfWork
from proctor.storage.tables import Base
from proctor.storage.uow import Storage


class ReviewCaseRow(Base):
    __tablename__ = "review_case"
    __table_args__ = (UniqueConstraint("kind", "source_id", name="uq_review_case_kind_source"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(64))
    driver_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    due_on: Mapped[str] = mapped_column(String(10))
    due_verified: Mapped[bool] = mapped_column(Boolean)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    body: Mapped[dict[str, Any]]


class ReviewJobRow(Base):
    __tablename__ = "review_job"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(16))
    selection: Mapped[dict[str, Any]]
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any]]
    requested_by: Mapped[str | None] = mapped_column(String(64))


class ReviewJobItemRow(Base):
    __tablename__ = "review_job_item"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    finished_at: Mapped[datetime | None]


class ReviewCaseGroupRow(Base):
    __tablename__ = "review_case_group"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    case_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]


def _case(r: ReviewCaseRow) -> ReviewCase:
    b = r.body
    return ReviewCase(
        id=r.id,
        kind=CaseKind(r.kind),
        source_id=r.source_id,
        session_id=r.session_id,
        driver_id=r.driver_id,
        received_at=r.received_at,
        due_on=date.fromisoformat(r.due_on),
        due_verified=r.due_verified,
        evidence_ids=tuple(b.get("evidence_ids", ())),
        status=CaseStatus(r.status),
        assigned_to=r.assigned_to,
        decided_by=b.get("decided_by"),
        decided_at=r.decided_at,
        decision=b.get("decision"),
        decision_reasons=tuple(b.get("decision_reasons", ())),
        recommendation=b.get("recommendation"),
        group_id=b.get("group_id"),
        details=dict(b.get("details", {})),
    )


class SqlAlchemyReviewCaseRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, case: ReviewCase) -> None:
        self._s.add(
            ReviewCaseRow(
                id=case.id,
                kind=case.kind.value,
                source_id=case.source_id,
                session_id=case.session_id,
                driver_id=case.driver_id,
                status=case.status.value,
                received_at=case.received_at,
                due_on=case.due_on.isoformat(),
                due_verified=case.due_verified,
                assigned_to=None,
                decided_at=None,
                body={},
            )
        )
        self._s.flush()
        self.save(case)

    def save(self, case: ReviewCase) -> None:
        row = self._s.get(ReviewCaseRow, case.id)
        assert row is not None
        row.status, row.assigned_to, row.decided_at = (
            case.status.value,
            case.assigned_to,
            case.decided_at,
        )
        row.body = {
            "evidence_ids": list(case.evidence_ids),
            "decided_by": case.decided_by,
            "decision": case.decision,
            "decision_reasons": list(case.decision_reasons),
            "recommendation": case.recommendation,
            "group_id": case.group_id,
            "details": dict(case.details),
        }
        self._s.flush()

    def get(self, case_id: str) -> ReviewCase | None:
        row = self._s.get(ReviewCaseRow, case_id)
        return _case(row) if row else None

    def by_source(self, kind: str, source_id: str) -> ReviewCase | None:
        row = self._s.scalars(
            select(ReviewCaseRow).where(
                ReviewCaseRow.kind == kind, ReviewCaseRow.source_id == source_id
            )
        ).first()
        return _case(row) if row else None

    def select(self, selection: Selection) -> list[ReviewCase]:
        stmt = select(ReviewCaseRow)
        if selection.case_ids:
            stmt = stmt.where(ReviewCaseRow.id.in_(list(selection.case_ids)))
        if selection.since is not None:
            stmt = stmt.where(ReviewCaseRow.received_at >= selection.since)
        if selection.until is not None:
            stmt = stmt.where(ReviewCaseRow.received_at < selection.until)
        if selection.statuses:
            stmt = stmt.where(ReviewCaseRow.status.in_(list(selection.statuses)))
        if selection.assigned_to is not None:
            stmt = stmt.where(ReviewCaseRow.assigned_to == selection.assigned_to)
        stmt = stmt.order_by(ReviewCaseRow.received_at, ReviewCaseRow.id)
        return [_case(r) for r in self._s.scalars(stmt)]

    def for_session(self, session_id: str) -> list[ReviewCase]:
        stmt = (
            select(ReviewCaseRow)
            .where(ReviewCaseRow.session_id == session_id)
            .order_by(ReviewCaseRow.received_at, ReviewCaseRow.id)
        )
        return [_case(r) for r in self._s.scalars(stmt)]


def _job(r: ReviewJobRow) -> JobState:
    return JobState(
        r.id,
        r.status,
        r.engine,
        r.total,
        r.done,
        r.created_at,
        r.finished_at,
        dict(r.summary),
        r.requested_by,
    )


class SqlAlchemyReviewJobRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def create(
        self,
        job_id: str,
        engine: str,
        selection: Selection,
        case_ids: Sequence[str],
        at: datetime,
        requested_by: str | None = None,
    ) -> JobState:
        row = ReviewJobRow(
            requested_by=requested_by,
            id=job_id,
            status="running",
            engine=engine,
            selection=selection.to_json(),
            total=len(case_ids),
            done=0,
            created_at=at,
            finished_at=None,
            summary={},
        )
        self._s.add(row)
        for i, case_id in enumerate(case_ids):
            self._s.add(
                ReviewJobItemRow(
                    job_id=job_id, case_id=case_id, position=i, status="pending", result={}
                )
            )
        self._s.flush()
        return _job(row)

    def get(self, job_id: str) -> JobState | None:
        row = self._s.get(ReviewJobRow, job_id)
        return _job(row) if row else None

    def pending(self, job_id: str) -> list[str]:
        stmt = (
            select(ReviewJobItemRow.case_id)
            .where(ReviewJobItemRow.job_id == job_id, ReviewJobItemRow.status == "pending")
            .order_by(ReviewJobItemRow.position)
        )
        return list(self._s.scalars(stmt))

    def complete_item(
        self, job_id: str, case_id: str, result: dict[str, Any], at: datetime
    ) -> None:
        item = self._s.get(ReviewJobItemRow, (job_id, case_id))
        job = self._s.get(ReviewJobRow, job_id)
        assert item is not None and job is not None
        if item.status == "done":
            return
        item.status, item.result, item.finished_at = "done", result, at
        job.done += 1
        self._s.flush()

    def unfinished(self) -> list[str]:
        stmt = (
            select(ReviewJobRow.id)
            .where(ReviewJobRow.status != "finished")
            .order_by(ReviewJobRow.created_at, ReviewJobRow.id)
        )
        return list(self._s.scalars(stmt))

    def latest_for_case(self, case_id: str) -> tuple[str, dict[str, Any]] | None:
        """The newest finished report of a case (any job), with its job id."""
        stmt = (
            select(ReviewJobItemRow)
            .where(ReviewJobItemRow.case_id == case_id, ReviewJobItemRow.status == "done")
            .order_by(ReviewJobItemRow.finished_at.desc(), ReviewJobItemRow.job_id.desc())
            .limit(1)
        )
        row = self._s.scalars(stmt).first()
        return (row.job_id, dict(row.result)) if row else None

    def results(self, job_id: str) -> dict[str, dict[str, Any]]:
        stmt = (
            select(ReviewJobItemRow)
            .where(ReviewJobItemRow.job_id == job_id, ReviewJobItemRow.status == "done")
            .order_by(ReviewJobItemRow.position)
        )
        return {r.case_id: dict(r.result) for r in self._s.scalars(stmt)}

    def finish(self, job_id: str, summary: dict[str, Any], at: datetime) -> None:
        job = self._s.get(ReviewJobRow, job_id)
        assert job is not None
        job.status, job.summary, job.finished_at = "finished", summary, at
        self._s.flush()


class SqlAlchemyCaseGroupRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def upsert(self, group_id: str, kind: str, case_ids: Sequence[str], at: datetime) -> bool:
        if self._s.get(ReviewCaseGroupRow, group_id) is not None:
            return False
        self._s.add(
            ReviewCaseGroupRow(id=group_id, kind=kind, case_ids=sorted(case_ids), created_at=at)
        )
        self._s.flush()
        return True

    def all(self) -> list[tuple[str, str, tuple[str, ...]]]:
        rows = self._s.scalars(select(ReviewCaseGroupRow).order_by(ReviewCaseGroupRow.id))
        return [(r.id, r.kind, tuple(r.case_ids)) for r in rows]


class SqlAlchemyReviewUnitOfWork(SqlAlchemyRecordsUnitOfWork):
    def __enter__(self) -> SqlAlchemyReviewUnitOfWork:
        super().__enter__()
        s = self.db
        self.review_cases = SqlAlchemyReviewCaseRepository(s)
        self.review_jobs = SqlAlchemyReviewJobRepository(s)
        self.case_groups = SqlAlchemyCaseGroupRepository(s)
        return self


def review_uow_factory(storage: Storage) -> SqlAlchemyReviewUnitOfWork:
    return SqlAlchemyReviewUnitOfWork(storage)
