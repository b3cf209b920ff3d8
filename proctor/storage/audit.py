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

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from proctor.errors import ProctorError
from proctor.storage.tables import AuditHeadRow, AuditRow, table_of

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
    return _mac(
        key, row.seq, row.at, row.actor, row.action, row.subject, row.details, row.prev_hash
    )


def _mac(
    key: bytes,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: str,
    prev_hash: str,
) -> str:
    body = json.dumps(
        [seq, at.isoformat(), actor, action, subject, details, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


ENTRY = table_of(AuditRow)
HEAD = table_of(AuditHeadRow)
READ_HEAD = select(HEAD.c.seq, HEAD.c.entry_hash).where(HEAD.c.id == 1).with_for_update()
ADD_ENTRY = insert(ENTRY)
ADD_HEAD = insert(HEAD)
MOVE_HEAD = update(HEAD).where(HEAD.c.id == 1)


class SqlAlchemyAuditLog:
    def __init__(self, session: Session, key: bytes) -> None:
        self._s = session
        self._key = key
        # The head (seq, hash), read and locked once per transaction; later appends in the
        # same unit of work extend it in memory. Entries and the head are written at once
        # (Core statements), so the chain in the transaction is always whole.
        self._head: tuple[int, str] | None = None

    def end_transaction(self) -> None:
        """Called by the unit of work after every commit and rollback: the next
        transaction reads and locks the head again."""
        self._head = None

    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any], at: datetime
    ) -> int:
        payload = canonical_details(details)
        if self._head is None:
            found = self._s.execute(READ_HEAD).first()
            if found is None:
                self._s.execute(ADD_HEAD, {"id": 1, "seq": 0, "entry_hash": GENESIS})
                self._head = (0, GENESIS)
            else:
                self._head = (int(found.seq), str(found.entry_hash))
        seq, prev_hash = self._head[0] + 1, self._head[1]
        actor, action, subject = actor[:64], action[:64], subject[:64]
        mac = _mac(self._key, seq, at, actor, action, subject, payload, prev_hash)
        self._s.execute(
            ADD_ENTRY,
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "details": payload,
                "prev_hash": prev_hash,
                "entry_hash": mac,
            },
        )
        self._s.execute(MOVE_HEAD, {"seq": seq, "entry_hash": mac})
        self._head = (seq, mac)
        return seq


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
