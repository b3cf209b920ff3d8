"""SQLAlchemy repositories implementing ``proctor.services.ports``.

The session aggregate has its own module (``proctor.storage.session_repo``,
Core statements that write only what changed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from proctor.liveness.replay import Fingerprint
from proctor.services.ports import IdempotencyRecord, NotificationEvent
from proctor.session.adjudication import (
    Appeal,
    AppealStatus,
    BlacklistEntry,
    BlacklistStatus,
    Flag,
    FlagStatus,
)
from proctor.storage.keys import open_sealed, seal
from proctor.storage.tables import (
    AppealRow,
    BlacklistRow,
    DriverRow,
    FaceTemplateRow,
    FingerprintRow,
    FlagRow,
    IdempotencyRow,
    OutboxRow,
    VoidedRow,
    table_of,
)
from proctor.types import Template


def _jsonable(payload: Any) -> Any:
    if isinstance(payload, datetime):
        return payload.isoformat()
    if isinstance(payload, dict):
        return {str(k): _jsonable(v) for k, v in payload.items()}
    if isinstance(payload, list | tuple):
        return [_jsonable(v) for v in payload]
    return payload


SUBJECT_KEY_OF = select(table_of(DriverRow).c.subject_key).where(
    table_of(DriverRow).c.id == bindparam("id")
)
OPEN_FLAG_OF_SESSION = (
    select(table_of(FlagRow))
    .where(
        table_of(FlagRow).c.session_id == bindparam("sid"),
        table_of(FlagRow).c.status == FlagStatus.OPEN.value,
    )
    .limit(1)
)
TEMPLATE = table_of(FaceTemplateRow)
READ_TEMPLATE = select(TEMPLATE).where(TEMPLATE.c.subject_key == bindparam("sk"))
SET_TEMPLATE = update(TEMPLATE).where(TEMPLATE.c.subject_key == bindparam("b_sk"))
ADD_TEMPLATE = insert(TEMPLATE)
FINGERPRINT = table_of(FingerprintRow)
ADD_FINGERPRINT = insert(FINGERPRINT)
ADD_NOTIFICATION = insert(table_of(OutboxRow))
READ_FINGERPRINTS = select(FINGERPRINT.c.pixel_sha256, FINGERPRINT.c.perceptual_hash_hex).where(
    FINGERPRINT.c.subject_key == bindparam("sk"), FINGERPRINT.c.is_reference == bindparam("ref")
)
ANSWER = table_of(IdempotencyRow)
READ_ANSWER = select(ANSWER).where(
    ANSWER.c.scope == bindparam("scope"), ANSWER.c.key == bindparam("key")
)
SET_ANSWER = update(ANSWER).where(
    ANSWER.c.scope == bindparam("b_scope"), ANSWER.c.key == bindparam("b_key")
)
ADD_ANSWER = insert(ANSWER)


class SqlAlchemyDriverRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, driver_id: str, subject_key: str, display_name: str, at: datetime) -> None:
        self._s.add(
            DriverRow(
                id=driver_id, subject_key=subject_key, display_name=display_name, created_at=at
            )
        )
        self._s.flush()

    def subject_key(self, driver_id: str) -> str | None:
        found = self._s.execute(SUBJECT_KEY_OF, {"id": driver_id}).scalar_one_or_none()
        return str(found) if found is not None else None


ANCHOR_PREFIX = "anchor:"  # session anchors share the store (proctor.services.sessions)


class SqlAlchemyTemplateRepository:
    """Template vectors are sealed (AES-256-GCM, AAD = subject key + model id)."""

    def __init__(self, session: Session, key: bytes) -> None:
        self._s = session
        self._key = key

    # Core statements: templates are read and written on every snapshot's path.
    def put(self, subject_key: str, template: Template, at: datetime) -> None:
        aad = f"{subject_key}|{template.model_id}".encode()
        values = {
            "model_id": template.model_id,
            "vector_sealed": seal(self._key, template.to_bytes(), aad),
            "source_count": template.source_count,
            "jitters": template.jitters,
        }
        found = self._s.execute(SET_TEMPLATE, {"b_sk": subject_key, **values})
        if not getattr(found, "rowcount", 0):
            self._s.execute(ADD_TEMPLATE, {"subject_key": subject_key, "created_at": at, **values})

    def get(self, subject_key: str) -> Template | None:
        row = self._s.execute(READ_TEMPLATE, {"sk": subject_key}).first()
        if row is None:
            return None
        raw = open_sealed(self._key, row.vector_sealed, f"{subject_key}|{row.model_id}".encode())
        return Template.from_bytes(
            row.model_id, raw, source_count=row.source_count, jitters=row.jitters
        )

    def delete(self, subject_key: str) -> None:
        self._s.execute(delete(TEMPLATE).where(TEMPLATE.c.subject_key == subject_key))

    def drivers_by_model(self) -> dict[str, list[str]]:
        """Driver ids with an enrolled reference, grouped by the model that made its
        template (a face-model change: who must be enrolled again)."""
        stmt = (
            select(FaceTemplateRow.model_id, DriverRow.id)
            .join(DriverRow, DriverRow.subject_key == FaceTemplateRow.subject_key)
            .order_by(FaceTemplateRow.model_id, DriverRow.id)
        )
        out: dict[str, list[str]] = {}
        for model_id, driver_id in self._s.execute(stmt):
            out.setdefault(str(model_id), []).append(str(driver_id))
        return out

    def reference_keys(self, model_id: str) -> list[str]:
        """Subject keys of enrolled references of one model. Session anchors and every
        other prefixed key (``mirror:``, ``live:``, ``pending:``; issue 17) are left out:
        subject keys themselves are hex and never contain a colon."""
        stmt = (
            select(FaceTemplateRow.subject_key)
            .where(
                FaceTemplateRow.model_id == model_id,
                ~FaceTemplateRow.subject_key.startswith(ANCHOR_PREFIX),
                ~FaceTemplateRow.subject_key.contains(":"),
            )
            .order_by(FaceTemplateRow.subject_key)
        )
        return list(self._s.execute(stmt).scalars())


class SqlAlchemyFingerprintRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self, subject_key: str, fp: Fingerprint, at: datetime, *, reference: bool = False
    ) -> None:
        self._s.execute(
            ADD_FINGERPRINT,
            {
                "subject_key": subject_key,
                "pixel_sha256": fp.pixel_sha256,
                "perceptual_hash_hex": f"{fp.perceptual_hash & 0xFFFF_FFFF_FFFF_FFFF:016x}",
                "is_reference": reference,
                "created_at": at,
            },
        )

    def _list(self, subject_key: str, reference: bool) -> list[Fingerprint]:
        rows = self._s.execute(READ_FINGERPRINTS, {"sk": subject_key, "ref": reference})
        return [Fingerprint(r.pixel_sha256, int(r.perceptual_hash_hex, 16)) for r in rows]

    def snapshots(self, subject_key: str) -> list[Fingerprint]:
        return self._list(subject_key, False)

    def references(self, subject_key: str) -> list[Fingerprint]:
        return self._list(subject_key, True)


def _flag_body(f: Flag) -> dict[str, Any]:
    return {
        "reasons": list(f.reasons),
        "attempt_nos": list(f.attempt_nos),
        "evidence_ids": list(f.evidence_ids),
        "recommendation": f.recommendation,
        "note": f.note,
        "review_reason": f.review_reason,
    }


class SqlAlchemyFlagRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, flag: Flag) -> None:
        self._s.add(
            FlagRow(
                id=flag.id,
                session_id=flag.session_id,
                driver_id=flag.driver_id,
                raised_at=flag.raised_at,
                body=_flag_body(flag),
                status=flag.status.value,
                reviewer_id=flag.reviewer_id,
                adjudicator_id=flag.adjudicator_id,
                reviewed_at=flag.reviewed_at,
                decided_at=flag.decided_at,
            )
        )

    def save(self, flag: Flag) -> None:
        row = self._s.get(FlagRow, flag.id)
        assert row is not None
        row.body = _flag_body(flag)
        row.status = flag.status.value
        row.reviewer_id = flag.reviewer_id
        row.adjudicator_id = flag.adjudicator_id
        row.reviewed_at = flag.reviewed_at
        row.decided_at = flag.decided_at
        self._s.flush()

    @staticmethod
    def _domain(row: FlagRow) -> Flag:
        b = row.body
        return Flag(
            id=row.id,
            session_id=row.session_id,
            driver_id=row.driver_id,
            raised_at=row.raised_at,
            reasons=tuple(b["reasons"]),
            attempt_nos=tuple(b["attempt_nos"]),
            evidence_ids=tuple(b["evidence_ids"]),
            status=FlagStatus(row.status),
            reviewer_id=row.reviewer_id,
            recommendation=b.get("recommendation"),
            reviewed_at=row.reviewed_at,
            adjudicator_id=row.adjudicator_id,
            decided_at=row.decided_at,
            note=b.get("note", ""),
            review_reason=b.get("review_reason", ""),
        )

    def get(self, flag_id: str) -> Flag | None:
        row = self._s.get(FlagRow, flag_id)
        return self._domain(row) if row else None

    def open_for_session(self, session_id: str) -> Flag | None:
        # a Core read (on every flagged snapshot's path); the row has the mapped names
        row = self._s.execute(OPEN_FLAG_OF_SESSION, {"sid": session_id}).first()
        return self._domain(cast(FlagRow, row)) if row else None


class SqlAlchemyBlacklistRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, entry: BlacklistEntry) -> None:
        self._s.add(
            BlacklistRow(
                id=entry.id,
                driver_id=entry.driver_id,
                flag_id=entry.flag_id,
                decided_by=entry.decided_by,
                start_at=entry.start_at,
                platform_until=entry.platform_until,
                legal_bar_scoring_cycles=entry.legal_bar_scoring_cycles,
                status=entry.status.value,
                appeals_allowed=entry.appeals_allowed,
            )
        )
        self._s.flush()

    def save(self, entry: BlacklistEntry) -> None:
        row = self._s.get(BlacklistRow, entry.id)
        assert row is not None
        row.status = entry.status.value
        row.lifted_at = entry.lifted_at
        row.lifted_by_appeal_id = entry.lifted_by_appeal_id
        row.appeals_allowed = entry.appeals_allowed
        self._s.flush()

    @staticmethod
    def _domain(r: BlacklistRow) -> BlacklistEntry:
        return BlacklistEntry(
            id=r.id,
            driver_id=r.driver_id,
            flag_id=r.flag_id,
            decided_by=r.decided_by,
            start_at=r.start_at,
            platform_until=r.platform_until,
            legal_bar_scoring_cycles=r.legal_bar_scoring_cycles,
            status=BlacklistStatus(r.status),
            lifted_at=r.lifted_at,
            lifted_by_appeal_id=r.lifted_by_appeal_id,
            appeals_allowed=r.appeals_allowed,
        )

    def get(self, entry_id: str) -> BlacklistEntry | None:
        row = self._s.get(BlacklistRow, entry_id)
        return self._domain(row) if row else None

    def for_driver(self, driver_id: str) -> list[BlacklistEntry]:
        stmt = select(BlacklistRow).where(BlacklistRow.driver_id == driver_id)
        return [self._domain(r) for r in self._s.execute(stmt).scalars()]


class SqlAlchemyAppealRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, appeal: Appeal) -> None:
        self._s.add(
            AppealRow(
                id=appeal.id,
                blacklist_id=appeal.blacklist_id,
                driver_id=appeal.driver_id,
                filed_at=appeal.filed_at,
                statement=appeal.statement,
                evidence_refs=list(appeal.evidence_refs),
                status=appeal.status.value,
            )
        )
        self._s.flush()

    def save(self, appeal: Appeal) -> None:
        row = self._s.get(AppealRow, appeal.id)
        assert row is not None
        row.status = appeal.status.value
        row.decided_by = appeal.decided_by
        row.decided_at = appeal.decided_at
        self._s.flush()

    def get(self, appeal_id: str) -> Appeal | None:
        r = self._s.get(AppealRow, appeal_id)
        return None if r is None else self._domain(r)

    def for_blacklist(self, blacklist_id: str) -> list[Appeal]:
        stmt = select(AppealRow).where(AppealRow.blacklist_id == blacklist_id)
        return [self._domain(r) for r in self._s.execute(stmt).scalars()]

    @staticmethod
    def _domain(r: AppealRow) -> Appeal:
        return Appeal(
            id=r.id,
            blacklist_id=r.blacklist_id,
            driver_id=r.driver_id,
            filed_at=r.filed_at,
            statement=r.statement,
            evidence_refs=tuple(r.evidence_refs),
            status=AppealStatus(r.status),
            decided_by=r.decided_by,
            decided_at=r.decided_at,
        )


class SqlAlchemyVoidedRecordRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def void(self, session_id: str, blacklist_id: str, at: datetime) -> None:
        row = self._s.get(VoidedRow, session_id)
        if row is None:
            self._s.add(VoidedRow(session_id=session_id, blacklist_id=blacklist_id, voided_at=at))
        else:
            row.blacklist_id, row.voided_at, row.restored_at = blacklist_id, at, None
        self._s.flush()

    def restore(self, blacklist_id: str, at: datetime) -> list[str]:
        stmt = select(VoidedRow).where(
            VoidedRow.blacklist_id == blacklist_id, VoidedRow.restored_at.is_(None)
        )
        rows = list(self._s.execute(stmt).scalars())
        for r in rows:
            r.restored_at = at
        self._s.flush()
        return [r.session_id for r in rows]

    def is_void(self, session_id: str) -> bool:
        row = self._s.get(VoidedRow, session_id)
        return row is not None and row.restored_at is None


class SqlAlchemyOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def emit(self, event: NotificationEvent) -> None:
        self._s.execute(
            ADD_NOTIFICATION,
            {
                "kind": event.kind,
                "driver_id": event.driver_id,
                "at": event.at,
                "payload": _jsonable(dict(event.payload)),
            },
        )


class SqlAlchemyIdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = self._s.execute(READ_ANSWER, {"scope": scope, "key": key}).first()
        if row is None:
            return None
        return IdempotencyRecord(
            row.scope,
            row.key,
            row.request_hash,
            row.state,
            row.created_at,
            row.expires_at,
            row.status_code,
            row.body,
        )

    def put(self, r: IdempotencyRecord) -> None:
        values = {
            "request_hash": r.request_hash,
            "state": r.state,
            "status_code": r.status_code,
            "body": r.body,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
        }
        found = self._s.execute(SET_ANSWER, {"b_scope": r.scope, "b_key": r.key, **values})
        if not getattr(found, "rowcount", 0):
            self._s.execute(ADD_ANSWER, {"scope": r.scope, "key": r.key, **values})

    def delete(self, scope: str, key: str) -> None:
        self._s.execute(delete(ANSWER).where(*_answer_is(scope, key)))


def _answer_is(scope: str, key: str) -> tuple[Any, Any]:
    return ANSWER.c.scope == scope, ANSWER.c.key == key
