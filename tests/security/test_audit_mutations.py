"""SECURITY.md AL1/AL2, exhaustively over a seeded chain: every single-entry byte change
(first, middle and last character of every field of every entry), every deletion, every
insertion (forged or replayed entry, at every position), every swap of two entries, and
every tail truncation after a checkpoint is detected, by an attacker who can write the
database and rewrite ``audit_head`` to hide the change. Figures: var/artifacts/security/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from proctor.storage.audit import entry_mac, verify_chain
from proctor.storage.audit_anchor import take_checkpoint, verify_with_checkpoint
from proctor.storage.tables import AuditHeadRow, AuditRow
from proctor.storage.uow import Storage, open_storage

from .artifacts import write_table

N = 24
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIELDS = ("actor", "action", "subject", "details", "prev_hash", "entry_hash")
COLS = ("at", "actor", "action", "subject", "details", "prev_hash", "entry_hash")
Mutation = Callable[[Session], None]


def _seeded(tmp_path: Path) -> Storage:
    storage = open_storage(
        f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path, master_key=bytes(32)
    )
    rnd = random.Random(8)
    with storage.uow() as uow:
        for i in range(N):
            uow.audit.append(
                actor=rnd.choice(["system", "rev-7", "adj-2", "driver-41"]),
                action=rnd.choice(["attempt_recorded", "flag_raised", "evidence_viewed"]),
                subject=f"s-{rnd.getrandbits(40):x}",
                details={"i": i, "reason": rnd.choice(["face_mismatch", "proxy_face"]), "d": 0.41},
                at=T0 + timedelta(seconds=17 * i),
            )
        uow.commit()
    return storage


def _fix_head(s: Session) -> None:
    """The attacker's cover-up: point audit_head at whatever the tail now is."""
    last = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one_or_none()
    head = s.get(AuditHeadRow, 1)
    assert head is not None
    if last is not None:
        head.seq, head.entry_hash = last.seq, last.entry_hash
    s.flush()


def _flip(value: str, at: int) -> str:
    c = value[at]
    return value[:at] + ("0" if c != "0" else "1") + value[at + 1 :]


def _mutations() -> list[tuple[str, Mutation]]:
    out: list[tuple[str, Mutation]] = []
    for seq in range(1, N + 1):
        for field in FIELDS:
            for where in ("first", "middle", "last"):

                def edit(
                    s: Session, seq: int = seq, field: str = field, where: str = where
                ) -> None:
                    row = s.get(AuditRow, seq)
                    assert row is not None
                    v = getattr(row, field)
                    at = {"first": 0, "middle": len(v) // 2, "last": len(v) - 1}[where]
                    setattr(row, field, _flip(v, at))
                    s.flush()

                out.append(("byte change", edit))

        def shift_time(s: Session, seq: int = seq) -> None:
            row = s.get(AuditRow, seq)
            assert row is not None
            row.at = row.at + timedelta(seconds=1)
            s.flush()

        out.append(("byte change", shift_time))

        def remove(s: Session, seq: int = seq) -> None:
            s.execute(delete(AuditRow).where(AuditRow.seq == seq))
            s.execute(update(AuditRow).where(AuditRow.seq > seq).values(seq=AuditRow.seq - 1))
            _fix_head(s)

        out.append(("deletion (renumbered, head rewritten)", remove))

        def remove_plain(s: Session, seq: int = seq) -> None:
            s.execute(delete(AuditRow).where(AuditRow.seq == seq))
            _fix_head(s)

        out.append(("deletion (gap, head rewritten)", remove_plain))
    for pos in range(1, N + 2):
        for kind in ("forged", "replayed"):

            def insert(s: Session, pos: int = pos, kind: str = kind) -> None:
                for seq in range(N, pos - 1, -1):  # make room, from the top down
                    s.execute(update(AuditRow).where(AuditRow.seq == seq).values(seq=seq + 1))
                prev = s.get(AuditRow, pos - 1)
                prev_hash = prev.entry_hash if prev else "0" * 64
                src = s.get(AuditRow, pos + 1 if pos <= N else pos - 1)
                assert src is not None
                row = AuditRow(
                    seq=pos,
                    at=src.at,
                    actor="attacker" if kind == "forged" else src.actor,
                    action=src.action,
                    subject=src.subject,
                    details=src.details,
                    prev_hash=prev_hash,
                    entry_hash="",
                )
                # the attacker has no audit key: best effort is a MAC under a guessed key
                row.entry_hash = (
                    entry_mac(b"guessed-key-0123456789abcdef0123", row)
                    if kind == "forged"
                    else src.entry_hash
                )
                s.add(row)
                s.flush()
                _fix_head(s)

            out.append((f"insertion ({kind})", insert))
    for i in range(1, N + 1):
        for j in range(i + 1, N + 1):

            def swap(s: Session, i: int = i, j: int = j) -> None:
                a, b = s.get(AuditRow, i), s.get(AuditRow, j)
                assert a is not None and b is not None
                va, vb = ({c: getattr(r, c) for c in COLS} for r in (a, b))
                s.execute(update(AuditRow).where(AuditRow.seq == i).values(**vb))
                s.execute(update(AuditRow).where(AuditRow.seq == j).values(**va))
                _fix_head(s)

            out.append(("reordering (swap)", swap))
    return out


def test_every_single_entry_mutation_is_detected(tmp_path: Path) -> None:
    storage = _seeded(tmp_path)
    key = storage.audit_key
    with storage.sessionmaker() as s:
        assert verify_chain(s, key).ok
        checkpoint = take_checkpoint(s, key)
    mutations = _mutations()
    for k in range(1, N + 1):

        def truncate(s: Session, k: int = k) -> None:
            s.execute(delete(AuditRow).where(AuditRow.seq > N - k))
            _fix_head(s)

        mutations.append(("tail truncation after checkpoint", truncate))
    tally: dict[str, list[int]] = {}
    missed: list[str] = []
    for kind, mutate in mutations:
        with storage.sessionmaker() as s:
            s.begin()
            mutate(s)
            report = verify_with_checkpoint(s, key, checkpoint)
            s.rollback()
        t = tally.setdefault(kind, [0, 0])
        t[0] += 1
        t[1] += not report.ok
        if report.ok:
            missed.append(kind)
    with storage.sessionmaker() as s:  # every mutation was rolled back
        assert verify_with_checkpoint(s, key, checkpoint).ok
    rows = [(k, n, d, f"{100 * d / n:.1f}%") for k, (n, d) in tally.items()]
    total = sum(n for n, _ in tally.values())
    rows.append(("all", total, total - len(missed), f"{100 * (total - len(missed)) / total:.1f}%"))
    write_table(
        "audit.md",
        f"Audit chain mutations over a seeded chain of {N} entries (attacker rewrites audit_head)",
        ("mutation", "cases", "detected", "rate"),
        rows,
    )
    assert not missed, missed


def test_tail_truncation_without_a_checkpoint_is_the_gap_it_closes(tmp_path: Path) -> None:
    """Control: the chain alone cannot see a cut tail once the head is rewritten."""
    storage = _seeded(tmp_path)
    with storage.sessionmaker() as s:
        cp = take_checkpoint(s, storage.audit_key)
        s.execute(delete(AuditRow).where(AuditRow.seq == N))
        _fix_head(s)
        assert verify_chain(s, storage.audit_key).ok  # undetectable from inside the DB
        report = verify_with_checkpoint(s, storage.audit_key, cp)
        assert not report.ok and report.problem == "truncated before checkpoint"
        forged = type(cp)(N - 1, cp.entry_hash, hmac.new(b"x", b"y", hashlib.sha256).hexdigest())
        assert verify_with_checkpoint(s, storage.audit_key, forged).problem == "checkpoint forged"
        s.rollback()
