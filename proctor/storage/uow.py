"""Storage wiring: ``Storage`` (engine, keys, blob files) and ``SqlAlchemyUnitOfWork``.

``open_storage`` runs the migrations, so every process starts on the current
schema. One unit of work is one write transaction (``BEGIN IMMEDIATE`` on
SQLite); leaving the ``with`` block without ``commit`` rolls back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from proctor.storage.audit import ChainReport, SqlAlchemyAuditLog, verify_chain
from proctor.storage.db import database_url_from_env, make_engine, migrate
from proctor.storage.evidence import BlobFiles, SqlAlchemyEvidenceStore
from proctor.storage.keys import derive_key, load_master_key
from proctor.storage.repositories import (
    SqlAlchemyAppealRepository,
    SqlAlchemyBlacklistRepository,
    SqlAlchemyDriverRepository,
    SqlAlchemyFingerprintRepository,
    SqlAlchemyFlagRepository,
    SqlAlchemyIdempotencyRepository,
    SqlAlchemyOutbox,
    SqlAlchemyTemplateRepository,
    SqlAlchemyVoidedRecordRepository,
)
from proctor.storage.session_repo import SqlAlchemySessionRepository

AUDIT_KEY_PURPOSE = "proctor audit chain v1"
TEMPLATE_KEY_PURPOSE = "proctor template seal v1"


@dataclass
class Storage:
    engine: Engine
    files: BlobFiles
    master_key: bytes

    def __post_init__(self) -> None:
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.audit_key = derive_key(self.master_key, AUDIT_KEY_PURPOSE)
        self.template_key = derive_key(self.master_key, TEMPLATE_KEY_PURPOSE)

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self)

    def verify_audit(self) -> ChainReport:
        with self.sessionmaker() as s:
            return verify_chain(s, self.audit_key)


def open_storage(
    url: str | None = None,
    *,
    data_dir: Path | None = None,
    master_key: bytes | None = None,
    schema: str | None = None,
    run_migrations: bool = True,
) -> Storage:
    data_dir = data_dir or Path(os.environ.get("PROCTOR_DATA_DIR", "var"))
    engine = make_engine(url or database_url_from_env(), schema=schema)
    if run_migrations:
        migrate(engine)
    key = master_key or load_master_key(
        key_file=data_dir / "master.key" if "PROCTOR_MASTER_KEY_FILE" not in os.environ else None
    )
    return Storage(engine, BlobFiles(data_dir / "evidence"), key)


class SqlAlchemyUnitOfWork:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._after: list[Callable[[], None]] = []

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        st = self._storage
        s: Session = st.sessionmaker()
        s.begin()
        self.db = s
        self.sessions = SqlAlchemySessionRepository(s)
        self.drivers = SqlAlchemyDriverRepository(s)
        self.templates = SqlAlchemyTemplateRepository(s, st.template_key)
        self.fingerprints = SqlAlchemyFingerprintRepository(s)
        self.flags = SqlAlchemyFlagRepository(s)
        self.blacklist = SqlAlchemyBlacklistRepository(s)
        self.appeals = SqlAlchemyAppealRepository(s)
        self.voided = SqlAlchemyVoidedRecordRepository(s)
        self.evidence = SqlAlchemyEvidenceStore(s, st.files, st.master_key, self._after.append)
        self.audit = SqlAlchemyAuditLog(s, st.audit_key)
        self.outbox = SqlAlchemyOutbox(s)
        self.idempotency = SqlAlchemyIdempotencyRepository(s)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.db.in_transaction():
                self.db.rollback()
        finally:
            self.audit.end_transaction()
            self.db.close()
            self._after.clear()

    def commit(self) -> None:
        try:
            self.db.commit()
        finally:
            self.audit.end_transaction()
        callbacks, self._after[:] = list(self._after), []
        for callback in callbacks:
            callback()
        self.db.begin()
