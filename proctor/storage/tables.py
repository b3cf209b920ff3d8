"""SQLAlchemy 2 typed tables. Table names are singular snake_case; instants end in ``_at``.

Identity data (``driver``) and biometric templates (``face_template``) are kept
apart: templates are keyed by the random ``subject_key`` only, have no foreign
key to ``driver`` and hold their vector encrypted. No table stores full frames;
evidence crops live encrypted in the blob store, referenced by
``evidence_object``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


def table_of(row: type[Base]) -> Table:
    """The Core table of a mapped class (for hot paths written as Core statements)."""
    t = row.__table__
    assert isinstance(t, Table)
    return t


class DriverRow(Base):
    __tablename__ = "driver"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class FaceTemplateRow(Base):
    __tablename__ = "face_template"
    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(100))
    vector_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    source_count: Mapped[int] = mapped_column(Integer)
    jitters: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class FingerprintRow(Base):
    __tablename__ = "fingerprint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    pixel_sha256: Mapped[str] = mapped_column(String(64))
    perceptual_hash_hex: Mapped[str] = mapped_column(String(16))
    is_reference: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class SessionRow(Base):
    __tablename__ = "proctor_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[str] = mapped_column(ForeignKey("driver.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    policy: Mapped[dict[str, Any]]
    schedule: Mapped[dict[str, Any]]
    question_count: Mapped[int] = mapped_column(Integer)
    question_budget_s: Mapped[float] = mapped_column(Float)
    next_scheduled: Mapped[int] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    identity_verified_at: Mapped[datetime | None]
    awaiting_final: Mapped[bool] = mapped_column(Boolean)
    termination_reason: Mapped[str] = mapped_column(String(64))
    credited_s: Mapped[float] = mapped_column(Float)


class ChallengeRow(Base):
    __tablename__ = "capture_challenge"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    guidance: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Liveness actions in the order the burst must show them; [] = one snapshot (0003).
    actions: Mapped[Any] = mapped_column(JSON, default=list, server_default=text("'[]'"))


class AttemptRow(Base):
    __tablename__ = "attempt"
    __table_args__ = (UniqueConstraint("session_id", "attempt_no"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    # One attempt per challenge, enforced by the database too (exactly-once).
    challenge_id: Mapped[str] = mapped_column(ForeignKey("capture_challenge.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    passed: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[Any] = mapped_column(JSON)
    flags: Mapped[Any] = mapped_column(JSON)
    issued_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime]
    distance: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    model_id: Mapped[str] = mapped_column(String(100))
    timings_ms: Mapped[dict[str, Any]]
    # The capture decision (0011): verdict, the thresholds that decided it, the policy id.
    verdict: Mapped[str] = mapped_column(String(16), server_default=text("''"))
    thresholds: Mapped[Any] = mapped_column(JSON, server_default=text("'{}'"))
    policy_id: Mapped[str] = mapped_column(String(120), server_default=text("''"))


class PauseRow(Base):
    __tablename__ = "pause_interval"
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class QuestionRow(Base):
    __tablename__ = "exam_question"
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    shown_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    paused_s: Mapped[float] = mapped_column(Float)
    effective_s: Mapped[float] = mapped_column(Float)
    counted: Mapped[bool] = mapped_column(Boolean)


class FlagRow(Base):
    __tablename__ = "flag"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), index=True)
    driver_id: Mapped[str] = mapped_column(ForeignKey("driver.id"), index=True)
    raised_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    reviewer_id: Mapped[str | None] = mapped_column(String(64))
    adjudicator_id: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]


class BlacklistRow(Base):
    __tablename__ = "blacklist_entry"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[str] = mapped_column(ForeignKey("driver.id"), index=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flag.id"))
    decided_by: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime]
    platform_until: Mapped[datetime]
    legal_bar_scoring_cycles: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    lifted_at: Mapped[datetime | None]
    lifted_by_appeal_id: Mapped[str | None] = mapped_column(String(64))
    # one appeal per entry; a staff reopen for new evidence allows one more (0006)
    appeals_allowed: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))


class AppealRow(Base):
    __tablename__ = "appeal"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    blacklist_id: Mapped[str] = mapped_column(ForeignKey("blacklist_entry.id"), index=True)
    driver_id: Mapped[str] = mapped_column(ForeignKey("driver.id"))
    filed_at: Mapped[datetime]
    statement: Mapped[str] = mapped_column(Text)
    evidence_refs: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]


class VoidedRow(Base):
    __tablename__ = "voided_record"
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), primary_key=True)
    blacklist_id: Mapped[str] = mapped_column(ForeignKey("blacklist_entry.id"), index=True)
    voided_at: Mapped[datetime]
    restored_at: Mapped[datetime | None]


class EvidenceRow(Base):
    __tablename__ = "evidence_object"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    retention: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    delete_after: Mapped[datetime | None] = mapped_column(index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)


class AuditRow(Base):
    __tablename__ = "audit_entry"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))


class OutboxRow(Base):
    __tablename__ = "notification_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    driver_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    # delivery state (migration 0008): ``attempts`` is also the claim token
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    parked_at: Mapped[datetime | None] = mapped_column(index=True)
    parked_reason: Mapped[str | None] = mapped_column(String(64))


class SchedulerLeaseRow(Base):
    """One row per scheduled job: who runs it, until when, and the last tick run (0008)."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None]
    token: Mapped[int] = mapped_column(BigInteger)  # fencing token: +1 per acquisition
    last_tick: Mapped[int] = mapped_column(BigInteger)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# ---- records of the HTTP service (migration 0002) ----------------------------------------------


class ConsentRow(Base):
    __tablename__ = "biometric_consent"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[str] = mapped_column(String(64), index=True)
    text_version: Mapped[str] = mapped_column(String(100))
    text_sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    given_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class ExamAttemptRow(Base):
    __tablename__ = "exam_attempt"
    session_id: Mapped[str] = mapped_column(ForeignKey("proctor_session.id"), primary_key=True)
    driver_id: Mapped[str] = mapped_column(String(64), index=True)
    question_ids: Mapped[Any] = mapped_column(JSON)
    answers: Mapped[Any] = mapped_column(JSON)
    outcome: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ApplicationRow(Base):
    __tablename__ = "xfjf_application"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    reasons: Mapped[Any] = mapped_column(JSON)
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # a deadline waits for a calendar year (revision 0007)
    pending_calendar: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DriverRecordRow(Base):
    __tablename__ = "driver_record"
    driver_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[dict[str, Any]]


class ReviewAssignmentRow(Base):
    __tablename__ = "review_assignment"
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(String(64), index=True)
    assigned_at: Mapped[datetime]


class ManualReviewRow(Base):
    __tablename__ = "manual_review"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    driver_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class IdempotencyRow(Base):
    __tablename__ = "idempotency_key"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


metadata = Base.metadata


class FaceReferenceRow(Base):
    """Where a driver's reference came from (issue 17). Biometrics stay in
    ``face_template`` (sealed, keyed by ``template_key``); this row holds only the kind,
    dates and the humans involved. Keyed by the surrogate ``subject_key``.

    kind ``authority``: the real-name photo (operator path; replacements are ``pending``
    until a second staff member decides); ``live_verified``: a 实人认证 live capture that
    matched the authority photo; ``id_photo_approved``: a reviewer approved an ID-holding
    photo after a failed 实人认证 (no template)."""

    __tablename__ = "face_reference"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    template_key: Mapped[str | None] = mapped_column(String(80))
    evidence_id: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
