"""SQLAlchemy repositories for the HTTP service's records, and ``RecordsUnitOfWork``.

``SqlAlchemyRecordsUnitOfWork`` extends the session unit of work with consent,
exam content, applications, driver records, review assignments, manual reviews
and idempotency keys, all in the same write transaction. No row here holds image
bytes or embeddings; manual-review evidence is referenced by evidence id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from proctor.services.ports import (
    AnswerRecord,
    ApplicationRecord,
    ConsentRecord,
    ExamRecord,
    ManualReview,
    QueueItem,
    RetentionClass,
)
from proctor.storage.evidence import BlobFiles
from proctor.storage.reference_repo import SqlAlchemyReferenceRepository
from proctor.storage.tables import (
    ApplicationRow,
    ConsentRow,
    DriverRecordRow,
    EvidenceRow,
    ExamAttemptRow,
    FingerprintRow,
    FlagRow,
    ManualReviewRow,
    ReviewAssignmentRow,
    SessionRow,
    table_of,
)
from proctor.storage.uow import SqlAlchemyUnitOfWork, Storage

CONSENT = table_of(ConsentRow)
CURRENT_CONSENT = (
    select(CONSENT)
    .where(CONSENT.c.driver_id == bindparam("driver_id"), CONSENT.c.withdrawn_at.is_(None))
    .order_by(CONSENT.c.given_at.desc())
    .limit(1)
)


class SqlAlchemyConsentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, r: ConsentRecord) -> None:
        self._s.add(
            ConsentRow(
                id=r.id,
                driver_id=r.driver_id,
                text_version=r.text_version,
                text_sha256=r.text_sha256,
                channel=r.channel,
                given_at=r.given_at,
                withdrawn_at=r.withdrawn_at,
            )
        )
        self._s.flush()

    def current(self, driver_id: str) -> ConsentRecord | None:
        # a Core read: every snapshot checks consent
        row = self._s.execute(CURRENT_CONSENT, {"driver_id": driver_id}).first()
        if row is None:
            return None
        return ConsentRecord(
            row.id,
            row.driver_id,
            row.text_version,
            row.text_sha256,
            row.channel,
            row.given_at,
            row.withdrawn_at,
        )

    def withdraw(self, driver_id: str, at: datetime) -> int:
        result = self._s.execute(
            update(ConsentRow)
            .where(ConsentRow.driver_id == driver_id, ConsentRow.withdrawn_at.is_(None))
            .values(withdrawn_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SqlAlchemyExamRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, e: ExamRecord) -> None:
        self._s.add(
            ExamAttemptRow(
                session_id=e.session_id,
                driver_id=e.driver_id,
                question_ids=list(e.question_ids),
                answers=[],
                outcome=None,
                created_at=e.created_at,
                finished_at=None,
            )
        )
        self._s.flush()
        self.save(e)

    def get(self, session_id: str) -> ExamRecord | None:
        row = self._s.get(ExamAttemptRow, session_id)
        if row is None:
            return None
        return ExamRecord(
            session_id=row.session_id,
            driver_id=row.driver_id,
            question_ids=tuple(row.question_ids),
            created_at=row.created_at,
            answers=[AnswerRecord(**a) for a in row.answers],
            outcome=row.outcome,
            finished_at=row.finished_at,
        )

    def save(self, e: ExamRecord) -> None:
        row = self._s.get(ExamAttemptRow, e.session_id)
        assert row is not None
        row.answers = [
            {
                "index": a.index,
                "choice": a.choice,
                "correct": a.correct,
                "effective_s": a.effective_s,
                "counted": a.counted,
            }
            for a in e.answers
        ]
        row.outcome = e.outcome
        row.finished_at = e.finished_at
        self._s.flush()


class SqlAlchemyApplicationRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, a: ApplicationRecord) -> None:
        self._s.add(
            ApplicationRow(
                id=a.id,
                driver_id=a.driver_id,
                state=a.state,
                reasons=list(a.reasons),
                details=dict(a.details),
                created_at=a.created_at,
                updated_at=a.updated_at,
            )
        )
        self._s.flush()

    @staticmethod
    def _domain(r: ApplicationRow) -> ApplicationRecord:
        return ApplicationRecord(
            r.id, r.driver_id, r.state, tuple(r.reasons), r.created_at, r.updated_at, r.details
        )

    def get(self, application_id: str) -> ApplicationRecord | None:
        row = self._s.get(ApplicationRow, application_id)
        return self._domain(row) if row else None

    def for_driver(self, driver_id: str) -> list[ApplicationRecord]:
        rows = self._s.scalars(
            select(ApplicationRow)
            .where(ApplicationRow.driver_id == driver_id)
            .order_by(ApplicationRow.created_at)
        )
        return [self._domain(r) for r in rows]

    def save(self, a: ApplicationRecord, *, pending_calendar: bool = False) -> None:
        row = self._s.get(ApplicationRow, a.id, with_for_update=True)
        assert row is not None
        row.state, row.reasons, row.details = a.state, list(a.reasons), dict(a.details)
        row.updated_at, row.pending_calendar = a.updated_at, pending_calendar
        self._s.flush()

    def get_for_update(self, application_id: str) -> ApplicationRecord | None:
        row = self._s.get(ApplicationRow, application_id, with_for_update=True)
        return self._domain(row) if row else None

    def ids_in_states(self, states: Sequence[str], limit: int) -> list[str]:
        stmt = (
            select(ApplicationRow.id)
            .where(ApplicationRow.state.in_(list(states)))
            .order_by(ApplicationRow.updated_at)
            .limit(limit)
        )
        return list(self._s.execute(stmt).scalars())

    def pending_calendar_count(self) -> int:
        stmt = select(func.count()).where(ApplicationRow.pending_calendar.is_(True))
        return int(self._s.execute(stmt).scalar_one())


class SqlAlchemyDriverRecordSource:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, driver_id: str) -> dict[str, Any] | None:
        row = self._s.get(DriverRecordRow, driver_id)
        return dict(row.body) if row else None

    def put(self, driver_id: str, record: Mapping[str, Any]) -> None:
        row = self._s.get(DriverRecordRow, driver_id)
        if row is None:
            self._s.add(DriverRecordRow(driver_id=driver_id, body=dict(record)))
        else:
            row.body = dict(record)
        self._s.flush()


class SqlAlchemyReviewQueue:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _item(self, row: FlagRow) -> QueueItem:
        return QueueItem(
            flag_id=row.id,
            session_id=row.session_id,
            driver_id=row.driver_id,
            status=row.status,
            reasons=tuple(row.body.get("reasons", ())),
            raised_at=row.raised_at,
            assigned_to=self.assignee(row.id),
            reviewer_id=row.reviewer_id,
            review_reason=str(row.body.get("review_reason", "")),
        )

    def flags(self, statuses: Sequence[str], limit: int) -> list[QueueItem]:
        rows = self._s.scalars(
            select(FlagRow)
            .where(FlagRow.status.in_(list(statuses)))
            .order_by(FlagRow.raised_at)
            .limit(limit)
        )
        return [self._item(r) for r in rows]

    def flag_item(self, flag_id: str) -> QueueItem | None:
        row = self._s.get(FlagRow, flag_id)
        return self._item(row) if row else None

    def assign(self, item_id: str, reviewer_id: str, at: datetime) -> None:
        row = self._s.get(ReviewAssignmentRow, item_id)
        if row is None:
            self._s.add(
                ReviewAssignmentRow(item_id=item_id, reviewer_id=reviewer_id, assigned_at=at)
            )
        else:
            row.reviewer_id, row.assigned_at = reviewer_id, at
        self._s.flush()

    def assignee(self, item_id: str) -> str | None:
        row = self._s.get(ReviewAssignmentRow, item_id)
        return row.reviewer_id if row else None


class SqlAlchemyManualReviewRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, r: ManualReview) -> None:
        self._s.add(
            ManualReviewRow(
                id=r.id,
                driver_id=r.driver_id,
                kind=r.kind,
                subject_id=r.subject_id,
                status=r.status,
                body={},
                created_at=r.created_at,
                decided_at=None,
            )
        )
        self._s.flush()
        self.save(r)

    def save(self, r: ManualReview) -> None:
        row = self._s.get(ManualReviewRow, r.id)
        assert row is not None
        row.status = r.status
        row.decided_at = r.decided_at
        row.body = {
            "evidence_ids": list(r.evidence_ids),
            "statement": r.statement,
            "assigned_to": r.assigned_to,
            "decided_by": r.decided_by,
            "decision": r.decision,
        }
        self._s.flush()

    @staticmethod
    def _domain(row: ManualReviewRow) -> ManualReview:
        b = row.body
        return ManualReview(
            id=row.id,
            driver_id=row.driver_id,
            kind=row.kind,
            subject_id=row.subject_id,
            created_at=row.created_at,
            status=row.status,
            evidence_ids=tuple(b.get("evidence_ids", ())),
            statement=str(b.get("statement", "")),
            assigned_to=b.get("assigned_to"),
            decided_by=b.get("decided_by"),
            decision=b.get("decision"),
            decided_at=row.decided_at,
        )

    def get(self, review_id: str) -> ManualReview | None:
        row = self._s.get(ManualReviewRow, review_id)
        return self._domain(row) if row else None

    def open_items(self, limit: int) -> list[ManualReview]:
        rows = self._s.scalars(
            select(ManualReviewRow)
            .where(ManualReviewRow.status == "open")
            .order_by(ManualReviewRow.created_at)
            .limit(limit)
        )
        return [self._domain(r) for r in rows]


class SqlAlchemyConsentErasure:
    """Deletion after consent withdrawal (``proctor.services.records.ConsentErasure``).

    Evidence rows are deleted in the transaction (their wrapped data keys with them:
    crypto-shredding); the ciphertext files are removed after the commit.
    """

    OPEN_FLAGS = ("open", "reviewed")

    def __init__(
        self, session: Session, files: BlobFiles, after_commit: Callable[[Callable[[], None]], None]
    ) -> None:
        self._s, self._files, self._after_commit = session, files, after_commit

    def sessions_of(self, driver_id: str) -> list[str]:
        stmt = select(SessionRow.id).where(SessionRow.driver_id == driver_id)
        return list(self._s.execute(stmt).scalars())

    def held_sessions(self, driver_id: str) -> set[str]:
        flagged = select(FlagRow.session_id).where(
            FlagRow.driver_id == driver_id, FlagRow.status.in_(self.OPEN_FLAGS)
        )
        reviews = self._s.scalars(
            select(ManualReviewRow).where(
                ManualReviewRow.driver_id == driver_id, ManualReviewRow.status == "open"
            )
        )
        held = set(self._s.execute(flagged).scalars())
        for r in reviews:
            held.add(r.subject_id)
            held.update(
                self._s.execute(
                    select(EvidenceRow.session_id).where(
                        EvidenceRow.id.in_(list(r.body.get("evidence_ids", ())))
                    )
                ).scalars()
            )
        return held

    def evidence_of(self, subject_key: str) -> list[tuple[str, str, RetentionClass]]:
        rows = self._s.execute(
            select(EvidenceRow.id, EvidenceRow.session_id, EvidenceRow.retention).where(
                EvidenceRow.subject_key == subject_key
            )
        ).all()
        return [(i, sid, RetentionClass(r)) for i, sid, r in rows]

    def delete_evidence(self, evidence_ids: Sequence[str]) -> int:
        ids = list(evidence_ids)
        if not ids:
            return 0
        self._s.execute(delete(EvidenceRow).where(EvidenceRow.id.in_(ids)))

        def remove_files() -> None:
            for object_id in ids:
                self._files.remove(object_id)

        self._after_commit(remove_files)
        return len(ids)

    def delete_fingerprints(self, subject_key: str) -> int:
        result = self._s.execute(
            delete(FingerprintRow).where(FingerprintRow.subject_key == subject_key)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SqlAlchemyOpenSessions:
    """A driver's sessions that are not closed (the session-open gate)."""

    OPEN = ("active", "identity_review")

    def __init__(self, session: Session) -> None:
        self._s = session

    def open_for_driver(self, driver_id: str) -> list[tuple[str, str]]:
        stmt = (
            select(SessionRow.id, SessionRow.kind)
            .where(SessionRow.driver_id == driver_id, SessionRow.state.in_(self.OPEN))
            .order_by(SessionRow.opened_at)
        )
        return [(i, k) for i, k in self._s.execute(stmt).all()]


class SqlAlchemyRecordsUnitOfWork(SqlAlchemyUnitOfWork):
    def __enter__(self) -> SqlAlchemyRecordsUnitOfWork:
        super().__enter__()
        s = self.db
        self.consents = SqlAlchemyConsentRepository(s)
        self.exams = SqlAlchemyExamRepository(s)
        self.applications = SqlAlchemyApplicationRepository(s)
        self.driver_records = SqlAlchemyDriverRecordSource(s)
        self.review_queue = SqlAlchemyReviewQueue(s)
        self.manual_reviews = SqlAlchemyManualReviewRepository(s)
        self.erasure = SqlAlchemyConsentErasure(s, self._storage.files, self._after.append)
        self.open_sessions = SqlAlchemyOpenSessions(s)
        self.references = SqlAlchemyReferenceRepository(s)
        return self


def records_uow_factory(storage: Storage) -> SqlAlchemyRecordsUnitOfWork:
    return SqlAlchemyRecordsUnitOfWork(storage)


def ping(storage: Storage) -> None:
    """Raise if the database cannot answer a trivial query."""
    with storage.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
