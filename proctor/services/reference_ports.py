"""Reference records and the small port other parts read references through (issue 17).

A driver's references, each dated and of one kind:

- ``authority``: the real-name photo from the traffic-management authority, set by an
  operator (the only way to create the first reference); replaced only by staff with a
  reason and a second staff member's approval;
- ``live_verified``: a 实人认证 live burst that matched the authority photo; stored in
  addition, never instead;
- ``id_photo_approved``: a reviewer approved a photo of the driver holding their ID after
  a failed 实人认证 (a verification without a template).

:class:`ReferenceTemplates` is the read port for comparisons that want both references
(issue 21: compare with the authority photo and the live-verified one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from proctor.services.ports import RecordsUnitOfWork
from proctor.types import Template


class ReferenceKind(StrEnum):
    """Persisted: never rename."""

    AUTHORITY = "authority"
    LIVE_VERIFIED = "live_verified"
    ID_PHOTO_APPROVED = "id_photo_approved"


class ReferenceStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # a replacement waiting for a second staff member
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(slots=True)
class ReferenceRecord:
    id: str
    subject_key: str
    kind: ReferenceKind
    status: ReferenceStatus
    created_at: datetime
    requested_by: str
    template_key: str | None = None
    evidence_id: str | None = None
    reason: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    valid_until: datetime | None = None


class ReferenceRepository(Protocol):
    def add(self, record: ReferenceRecord) -> None: ...

    def get(self, reference_id: str) -> ReferenceRecord | None: ...

    def save(self, record: ReferenceRecord) -> None: ...

    def for_subject(self, subject_key: str) -> list[ReferenceRecord]:
        """Oldest first."""
        ...


class ReferenceUnitOfWork(RecordsUnitOfWork, Protocol):
    @property
    def references(self) -> ReferenceRepository: ...

    def __enter__(self) -> ReferenceUnitOfWork: ...


@dataclass(frozen=True, slots=True)
class DatedTemplate:
    kind: ReferenceKind
    created_at: datetime
    template: Template


class ReferenceTemplates(Protocol):
    """Port: the driver's usable reference templates, authority first, then live-verified
    (newest first). Biometric: never log what it returns."""

    def templates_for(self, driver_id: str) -> list[DatedTemplate]: ...
