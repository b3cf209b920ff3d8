"""SQL repository of reference records (``face_reference``, issue 17)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.services.reference_ports import ReferenceKind, ReferenceRecord, ReferenceStatus
from proctor.storage.tables import FaceReferenceRow

_FIELDS = (
    "subject_key",
    "created_at",
    "template_key",
    "evidence_id",
    "requested_by",
    "reason",
    "decided_by",
    "decided_at",
    "valid_until",
)


class SqlAlchemyReferenceRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ReferenceRecord) -> None:
        row = FaceReferenceRow(id=record.id, kind=record.kind.value, status=record.status.value)
        for name in _FIELDS:
            setattr(row, name, getattr(record, name))
        self._s.add(row)
        self._s.flush()

    def save(self, record: ReferenceRecord) -> None:
        row = self._s.get(FaceReferenceRow, record.id)
        assert row is not None
        row.status = record.status.value
        for name in _FIELDS:
            setattr(row, name, getattr(record, name))
        self._s.flush()

    def get(self, reference_id: str) -> ReferenceRecord | None:
        row = self._s.get(FaceReferenceRow, reference_id)
        return None if row is None else self._domain(row)

    def for_subject(self, subject_key: str) -> list[ReferenceRecord]:
        stmt = (
            select(FaceReferenceRow)
            .where(FaceReferenceRow.subject_key == subject_key)
            .order_by(FaceReferenceRow.created_at, FaceReferenceRow.id)
        )
        return [self._domain(r) for r in self._s.execute(stmt).scalars()]

    @staticmethod
    def _domain(r: FaceReferenceRow) -> ReferenceRecord:
        return ReferenceRecord(
            id=r.id,
            kind=ReferenceKind(r.kind),
            status=ReferenceStatus(r.status),
            **{name: getattr(r, name) for name in _FIELDS},
        )
