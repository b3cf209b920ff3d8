"""Audit checkpoints kept outside the database (SECURITY.md AL2).

``verify_chain`` catches edits, removals, insertions and moves, and a removed tail
while ``audit_head`` is intact; someone who can write the database can still cut the
tail *and* rewrite the head. A checkpoint (last seq and hash, MACed with the audit key)
exported to a place that person cannot write (WORM storage, another system, a printed
digest) closes that gap: the chain must still contain the checkpointed entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from proctor.storage.audit import GENESIS, ChainReport, verify_chain
from proctor.storage.tables import AuditHeadRow, AuditRow


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    entry_hash: str
    mac: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "entry_hash": self.entry_hash, "mac": self.mac})

    @classmethod
    def from_json(cls, raw: str) -> Checkpoint:
        d = json.loads(raw)
        return cls(int(d["seq"]), str(d["entry_hash"]), str(d["mac"]))


def _mac(key: bytes, seq: int, entry_hash: str) -> str:
    return hmac.new(key, f"checkpoint:{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


def take_checkpoint(session: Session, key: bytes) -> Checkpoint:
    head = session.get(AuditHeadRow, 1)
    seq, entry_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    return Checkpoint(seq, entry_hash, _mac(key, seq, entry_hash))


def verify_with_checkpoint(session: Session, key: bytes, checkpoint: Checkpoint) -> ChainReport:
    """``verify_chain``, and the checkpointed entry must still be there, unchanged."""
    if not hmac.compare_digest(checkpoint.mac, _mac(key, checkpoint.seq, checkpoint.entry_hash)):
        return ChainReport(False, 0, checkpoint.seq, "checkpoint forged")
    report = verify_chain(session, key)
    if not report.ok:
        return report
    if checkpoint.seq == 0:
        return report
    row = session.get(AuditRow, checkpoint.seq)
    if row is None or row.entry_hash != checkpoint.entry_hash:
        return ChainReport(False, report.checked, checkpoint.seq, "truncated before checkpoint")
    return report
