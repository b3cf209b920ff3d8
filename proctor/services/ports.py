"""Persistence ports the use cases depend on. ``proctor.storage`` implements them with
SQLAlchemy; ``proctor.testing.fakes`` implements them in memory.

A unit of work is one write transaction: on SQLite it starts with ``BEGIN
IMMEDIATE`` and on PostgreSQL ``SessionRepository.get`` locks the session row,
so two concurrent submissions for one challenge serialise and count once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol

from proctor.liveness.replay import Fingerprint
from proctor.session.adjudication import Appeal, BlacklistEntry, Flag
from proctor.session.session import ProctorSession
from proctor.types import Template


class RetentionClass(StrEnum):
    """Evidence retention classes (SECURITY.md c.4). Persisted: never rename."""

    PASSED = "passed"
    FAILED = "failed"
    FLAGGED = "flagged"
    PROXY_CONFIRMED = "proxy_confirmed"
    REFERENCE = "reference"  # the enrolment face crop, kept while consent is valid
    # Evidence of an undecided 复核/flag/appeal case: held (``delete_after`` None) until the
    # decision, then back to its own class counted from the decision (``ReviewCaseService``).
    REVIEW_HELD = "review_held"


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """An event for the SMS/app notifier. Codes and ids only."""

    kind: str
    driver_id: str
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


class SessionRepository(Protocol):
    def add(self, session: ProctorSession) -> None: ...

    def get(self, session_id: str) -> ProctorSession | None: ...

    def save(self, session: ProctorSession) -> None: ...

    def session_of_challenge(self, challenge_id: str) -> str | None: ...

    def completed_for_driver(self, driver_id: str) -> list[str]: ...


class DriverRepository(Protocol):
    def add(self, driver_id: str, subject_key: str, display_name: str, at: datetime) -> None: ...

    def subject_key(self, driver_id: str) -> str | None: ...


class TemplateRepository(Protocol):
    """Keyed by the surrogate ``subject_key`` only: never next to identity data."""

    def put(self, subject_key: str, template: Template, at: datetime) -> None: ...

    def get(self, subject_key: str) -> Template | None: ...

    def delete(self, subject_key: str) -> None: ...


class FingerprintRepository(Protocol):
    def add(
        self, subject_key: str, fp: Fingerprint, at: datetime, *, reference: bool = False
    ) -> None: ...

    def snapshots(self, subject_key: str) -> list[Fingerprint]: ...

    def references(self, subject_key: str) -> list[Fingerprint]: ...


class FlagRepository(Protocol):
    def add(self, flag: Flag) -> None: ...

    def get(self, flag_id: str) -> Flag | None: ...

    def open_for_session(self, session_id: str) -> Flag | None: ...

    def save(self, flag: Flag) -> None: ...


class BlacklistRepository(Protocol):
    def add(self, entry: BlacklistEntry) -> None: ...

    def get(self, entry_id: str) -> BlacklistEntry | None: ...

    def for_driver(self, driver_id: str) -> list[BlacklistEntry]: ...

    def save(self, entry: BlacklistEntry) -> None: ...


class AppealRepository(Protocol):
    def add(self, appeal: Appeal) -> None: ...

    def get(self, appeal_id: str) -> Appeal | None: ...

    def save(self, appeal: Appeal) -> None: ...

    def for_blacklist(self, blacklist_id: str) -> list[Appeal]: ...


class VoidedRecordRepository(Protocol):
    def void(self, session_id: str, blacklist_id: str, at: datetime) -> None: ...

    def restore(self, blacklist_id: str, at: datetime) -> list[str]: ...

    def is_void(self, session_id: str) -> bool: ...


class EvidenceStore(Protocol):
    """Encrypted face crops with retention. ``delete_after=None`` means held."""

    def put(
        self,
        data: bytes,
        *,
        subject_key: str,
        session_id: str,
        retention: RetentionClass,
        at: datetime,
    ) -> str: ...

    def read(self, evidence_id: str) -> bytes: ...

    def for_session(self, session_id: str) -> list[str]: ...

    def set_retention(
        self, evidence_ids: Sequence[str], retention: RetentionClass, delete_after: datetime | None
    ) -> None: ...

    def retention_of(self, evidence_id: str) -> tuple[RetentionClass, datetime | None] | None: ...

    def purge(self, now: datetime) -> dict[str, int]: ...


class AuditLog(Protocol):
    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any], at: datetime
    ) -> int: ...


class Outbox(Protocol):
    def emit(self, event: NotificationEvent) -> None: ...


class UnitOfWork(Protocol):
    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def drivers(self) -> DriverRepository: ...

    @property
    def templates(self) -> TemplateRepository: ...

    @property
    def fingerprints(self) -> FingerprintRepository: ...

    @property
    def flags(self) -> FlagRepository: ...

    @property
    def blacklist(self) -> BlacklistRepository: ...

    @property
    def appeals(self) -> AppealRepository: ...

    @property
    def voided(self) -> VoidedRecordRepository: ...

    @property
    def evidence(self) -> EvidenceStore: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def idempotency(self) -> IdempotencyRepository:
        """Stored answers of retried requests, written in the transaction that decides."""
        ...

    @property
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


# ---- records used by the HTTP service (issue 5) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A separate biometric consent (SECURITY.md c.1): text version and hash, time, channel."""

    id: str
    driver_id: str
    text_version: str
    text_sha256: str
    channel: str
    given_at: datetime
    withdrawn_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One exam answer as scored: the choice, correctness and the server-clock timing."""

    index: int
    choice: str
    correct: bool
    effective_s: float
    counted: bool


@dataclass(slots=True)
class ExamRecord:
    """An exam attempt's content: the drawn question ids (in order) and the answers."""

    session_id: str
    driver_id: str
    question_ids: tuple[str, ...]
    created_at: datetime
    answers: list[AnswerRecord] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class ApplicationRecord:
    """A persisted summary of one 学法减分 application (state, reasons, cycle)."""

    id: str
    driver_id: str
    state: str
    reasons: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A flag as the review queue shows it (no image data)."""

    flag_id: str
    session_id: str
    driver_id: str
    status: str
    reasons: tuple[str, ...]
    raised_at: datetime
    assigned_to: str | None
    reviewer_id: str | None
    due_on: date | None = None  # last day for the decision (Asia/Shanghai), when known
    overdue: bool = False
    review_reason: str = ""  # the reviewer's stated reason, shown to the adjudicator


@dataclass(slots=True)
class ManualReview:
    """A human check outside the flag flow: ``manual_id`` (ID-holding photo) or ``fuxi`` (复核)."""

    id: str
    driver_id: str
    kind: str
    subject_id: str
    created_at: datetime
    status: str = "open"
    evidence_ids: tuple[str, ...] = ()
    statement: str = ""
    assigned_to: str | None = None
    decided_by: str | None = None
    decision: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A stored answer for ``(scope, key)``; ``state`` is ``in_flight`` or ``done``."""

    scope: str
    key: str
    request_hash: str
    state: str
    created_at: datetime
    expires_at: datetime
    status_code: int = 0
    body: str = ""


class ConsentRepository(Protocol):
    def add(self, record: ConsentRecord) -> None: ...

    def current(self, driver_id: str) -> ConsentRecord | None: ...

    def withdraw(self, driver_id: str, at: datetime) -> int: ...


class ExamRepository(Protocol):
    def add(self, exam: ExamRecord) -> None: ...

    def get(self, session_id: str) -> ExamRecord | None: ...

    def save(self, exam: ExamRecord) -> None: ...


class ApplicationRepository(Protocol):
    def add(self, app: ApplicationRecord) -> None: ...

    def get(self, application_id: str) -> ApplicationRecord | None: ...

    def for_driver(self, driver_id: str) -> list[ApplicationRecord]: ...

    # the lifecycle (issue 18): write back, lock, and what the tick visits
    def save(self, app: ApplicationRecord, *, pending_calendar: bool = False) -> None: ...

    def get_for_update(self, application_id: str) -> ApplicationRecord | None: ...

    def ids_in_states(self, states: Sequence[str], limit: int) -> list[str]: ...

    def pending_calendar_count(self) -> int: ...


class DriverRecordSource(Protocol):
    """The traffic-management system's view of a driver (points, licence dates) as JSON."""

    def get(self, driver_id: str) -> dict[str, Any] | None: ...

    def put(self, driver_id: str, record: Mapping[str, Any]) -> None: ...


class ReviewQueueRepository(Protocol):
    def flags(self, statuses: Sequence[str], limit: int) -> list[QueueItem]: ...

    def flag_item(self, flag_id: str) -> QueueItem | None: ...

    def assign(self, item_id: str, reviewer_id: str, at: datetime) -> None: ...

    def assignee(self, item_id: str) -> str | None: ...


class ManualReviewRepository(Protocol):
    def add(self, review: ManualReview) -> None: ...

    def get(self, review_id: str) -> ManualReview | None: ...

    def save(self, review: ManualReview) -> None: ...

    def open_items(self, limit: int) -> list[ManualReview]: ...


class IdempotencyRepository(Protocol):
    def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    def put(self, record: IdempotencyRecord) -> None: ...

    def delete(self, scope: str, key: str) -> None: ...


class RecordsUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the HTTP-facing use cases: the session ports plus records."""

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def exams(self) -> ExamRepository: ...

    @property
    def applications(self) -> ApplicationRepository: ...

    @property
    def driver_records(self) -> DriverRecordSource: ...

    @property
    def review_queue(self) -> ReviewQueueRepository: ...

    @property
    def manual_reviews(self) -> ManualReviewRepository: ...

    def __enter__(self) -> RecordsUnitOfWork: ...
