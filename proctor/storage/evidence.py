"""Encrypted evidence store: face crops under per-object keys wrapped by the master key.

Each object gets a fresh 256-bit data key (DEK). The crop is sealed with
AES-256-GCM under the DEK (AAD = object id) and written to
``root/<id[:2]>/<id>`` (temp file, fsync, rename). The DEK is sealed under the
master key (AAD = ``dek:`` + id) and stored in ``evidence_object`` with the
retention class and ``delete_after`` (``None`` = held until decided).

Deleting the row destroys the only wrapped copy of the DEK (crypto-shredding),
so copies of the blob in backups become unreadable; the file itself is removed
after the transaction commits. ``sweep_orphans`` removes files left by a crash
between the two.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from proctor.errors import ProctorError
from proctor.services.ports import RetentionClass
from proctor.storage.keys import KEY_BYTES, open_sealed, seal
from proctor.storage.tables import EvidenceRow, table_of

ADD_EVIDENCE = insert(table_of(EvidenceRow))


class EvidenceMissing(ProctorError):
    code = "evidence_missing"


class BlobFiles:
    """The on-disk half of the evidence store (ciphertext only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, object_id: str) -> Path:
        return self.root / object_id[:2] / object_id

    def write(self, object_id: str, data: bytes) -> None:
        path = self.path(object_id)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def read(self, object_id: str) -> bytes:
        return self.path(object_id).read_bytes()

    def remove(self, object_id: str) -> None:
        self.path(object_id).unlink(missing_ok=True)

    def ids(self) -> list[str]:
        return [p.name for p in self.root.glob("*/*") if p.suffix != ".tmp"]


class SqlAlchemyEvidenceStore:
    def __init__(
        self,
        session: Session,
        files: BlobFiles,
        master_key: bytes,
        after_commit: Callable[[Callable[[], None]], None],
    ) -> None:
        self._s = session
        self._files = files
        self._kek = master_key
        self._after_commit = after_commit

    def put(
        self,
        data: bytes,
        *,
        subject_key: str,
        session_id: str,
        retention: RetentionClass,
        at: datetime,
    ) -> str:
        object_id = secrets.token_hex(16)
        dek = os.urandom(KEY_BYTES)
        self._files.write(object_id, seal(dek, data, object_id.encode()))
        self._s.execute(
            ADD_EVIDENCE,
            {
                "id": object_id,
                "subject_key": subject_key,
                "session_id": session_id,
                "retention": retention.value,
                "created_at": at,
                "delete_after": None,
                "wrapped_key": seal(self._kek, dek, b"dek:" + object_id.encode()),
                "size_bytes": len(data),
            },
        )
        return object_id

    def read(self, evidence_id: str) -> bytes:
        row = self._s.get(EvidenceRow, evidence_id)
        if row is None:
            raise EvidenceMissing(details={"evidence_id": evidence_id})
        dek = open_sealed(self._kek, row.wrapped_key, b"dek:" + evidence_id.encode())
        return open_sealed(dek, self._files.read(evidence_id), evidence_id.encode())

    def for_session(self, session_id: str) -> list[str]:
        stmt = select(EvidenceRow.id).where(EvidenceRow.session_id == session_id)
        return list(self._s.execute(stmt).scalars())

    def set_retention(
        self, evidence_ids: Sequence[str], retention: RetentionClass, delete_after: datetime | None
    ) -> None:
        for evidence_id in evidence_ids:
            row = self._s.get(EvidenceRow, evidence_id)
            if row is not None:
                row.retention = retention.value
                row.delete_after = delete_after

    def retention_of(self, evidence_id: str) -> tuple[RetentionClass, datetime | None] | None:
        row = self._s.get(EvidenceRow, evidence_id)
        return (RetentionClass(row.retention), row.delete_after) if row else None

    def purge(self, now: datetime) -> dict[str, int]:
        rows = self._s.execute(
            select(EvidenceRow.id, EvidenceRow.retention).where(EvidenceRow.delete_after <= now)
        ).all()
        counts: dict[str, int] = {}
        for _object_id, retention in rows:
            counts[retention] = counts.get(retention, 0) + 1
        ids = [r[0] for r in rows]
        if ids:
            self._s.execute(delete(EvidenceRow).where(EvidenceRow.id.in_(ids)))

            def remove_files() -> None:
                for object_id in ids:
                    self._files.remove(object_id)

            self._after_commit(remove_files)
        return counts


def sweep_orphans(session: Session, files: BlobFiles, min_age_s: float = 3600.0) -> int:
    """Remove blob files no row references (crash between write and commit).

    Files younger than ``min_age_s`` are left alone: their transaction may still commit.
    """
    known = set(session.execute(select(EvidenceRow.id)).scalars())
    cutoff = time.time() - min_age_s
    orphans = [i for i in files.ids() if i not in known and files.path(i).stat().st_mtime < cutoff]
    for object_id in orphans:
        files.remove(object_id)
    return len(orphans)
