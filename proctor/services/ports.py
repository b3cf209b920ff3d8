"""Persistence ports the use cases depend on. ``proctor.storage`` implements them with
SQLAlchemy; ``proctor.testing.fakes`` implements them in memory.

A unit of work is one write transaction: on SQLite it starts with ``BEGIN
IMMEDIATE`` and on PostgreSQL ``SessionRepository.get`` locks the session row,
so two concurrent submissions for one challenge serialise and count once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...
