"""Append-only, HMAC hash-chained audit log.

Entry ``n`` stores ``prev_hash`` (entry ``n-1``'s hash, or 64 zeros) and
``entry_hash = HMAC-SHA256(k, canonical(seq, at, actor, action, subject,
details, prev_hash))``. The key is derived from the master key, outside the
database, so an editor of the database cannot re-forge the chain. A one-row
``audit_head`` holds the last seq and hash: appends lock it (serialising
writers on PostgreSQL; SQLite transactions are already ``BEGIN IMMEDIATE``) and
``verify_chain`` compares it with the tail, so deleting the last entries is
caught too.

Details must be JSON of ids, codes and numbers: bytes and long float vectors
(embeddings) are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from proctor.errors import ProctorError
from proctor.storage.tables import AuditHeadRow, AuditRow

GENESIS = "0" * 64
MAX_NUMBERS_IN_A_LIST = 16


class AuditContentRefused(ProctorError):
    code = "audit_content_refused"


def _check_clean(value: Any, path: str = "details") -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise AuditContentRefused(f"{path}: bytes are never audited")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_clean(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        if sum(isinstance(v, float) for v in value) > MAX_NUMBERS_IN_A_LIST:
            raise AuditContentRefused(f"{path}: looks like an embedding")
        for i, v in enumerate(value):
            _check_clean(v, f"{path}[{i}]")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise AuditContentRefused(f"{path}: {type(value).__name__} is not auditable")


def canonical_details(details: Mapping[str, Any]) -> str:
    _check_clean(details)
    return json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_mac(key: bytes, row: AuditRow) -> str:
    body = json.dumps(
        [
            row.seq,
            row.at.isoformat(),
            row.actor,
            row.action,
            row.subject,
            row.details,
            row.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


class SqlAlchemyAuditLog:
    def __init__(self, session: Session, key: bytes) -> None:
        self._s = session
        self._key = key
        # The head row, read (and locked) once per transaction: later appends in the same
        # unit of work extend it in memory; the rows are written at the next flush.
        self._head: AuditHeadRow | None = None
        event.listen(session, "after_commit", self._forget_head)
        event.listen(session, "after_rollback", self._forget_head)

    def _forget_head(self, _session: Session) -> None:
        self._head = None  # the next transaction reads and locks the head again

    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any], at: datetime
    ) -> int:
        payload = canonical_details(details)
        head = self._head
        if head is None:
            head = self._s.execute(
                select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
            ).scalar_one_or_none()
            if head is None:
                head = AuditHeadRow(id=1, seq=0, entry_hash=GENESIS)
                self._s.add(head)
            self._head = head
        row = AuditRow(
            seq=head.seq + 1,
            at=at,
            actor=actor[:64],
            action=action[:64],
            subject=subject[:64],
            details=payload,
            prev_hash=head.entry_hash,
            entry_hash="",
        )
        row.entry_hash = entry_mac(self._key, row)
        self._s.add(row)
        head.seq = row.seq
        head.entry_hash = row.entry_hash
        return row.seq


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(session: Session, key: bytes) -> ChainReport:
    """Walk the chain; name the first entry that was changed, removed or moved."""
    expected_seq, expected_prev, checked = 1, GENESIS, 0
    for row in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars():
        if row.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, "entry missing")
        if row.prev_hash != expected_prev:
            return ChainReport(False, checked, row.seq, "chain link broken")
        if not hmac.compare_digest(entry_mac(key, row), row.entry_hash):
            return ChainReport(False, checked, row.seq, "entry altered")
        expected_seq, expected_prev = row.seq + 1, row.entry_hash
        checked += 1
    head = session.get(AuditHeadRow, 1)
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != expected_prev:
        return ChainReport(False, checked, expected_seq, "tail removed (head mismatch)")
    return ChainReport(True, checked)
