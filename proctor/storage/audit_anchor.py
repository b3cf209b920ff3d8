"""Audit checkpoints kept outside the database (SECURITY.md AL2).

``verify_chain`` catches edits, removals, insertions and moves, and a removed tail
while ``audit_head`` is intact; someone who can write the database can still cut the
tail *and* rewrite the head. A checkpoint (last seq and hash, MACed with the audit key)
exported to a place that person cannot write (WORM storage, another system, a printed
digest) closes that gap: the chain must still contain the checkpointed entry.

Checkpoints are appended, one JSON object a line, to a checkpoint file
(``proctor audit checkpoint``; put the file on storage the database's writers cannot
rewrite). ``proctor audit verify`` checks the chain and the newest line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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


class CheckpointFileError(ValueError):
    """The checkpoint file exists but its newest line cannot be read."""


def append_checkpoint(path: Path, checkpoint: Checkpoint, *, at: datetime) -> None:
    """Append one line (and fsync it): earlier checkpoints are never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.loads(checkpoint.to_json()) | {"taken_at": at.isoformat()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def newest_checkpoint(path: Path) -> Checkpoint | None:
    """The last line of the checkpoint file; ``None`` if there is no file or no line."""
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        return None
    if not lines:
        return None
    try:
        return Checkpoint.from_json(lines[-1])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointFileError(f"{path}: newest checkpoint unreadable") from exc


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


def verify_with_checkpoint_file(
    session: Session, key: bytes, path: Path
) -> tuple[ChainReport, Checkpoint | None]:
    """The chain, and the newest checkpoint in ``path`` if there is one. A newest line that
    cannot be read is a failure: garbling the file must not turn the check off."""
    try:
        checkpoint = newest_checkpoint(path)
    except CheckpointFileError as exc:
        return ChainReport(False, 0, None, str(exc)), None
    if checkpoint is None:
        return verify_chain(session, key), None
    return verify_with_checkpoint(session, key, checkpoint), checkpoint
