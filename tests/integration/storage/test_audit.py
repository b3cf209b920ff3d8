"""Audit chain: append-only, HMAC hash-chained; verify names the first bad entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from proctor.storage.audit import AuditContentRefused, verify_chain
from proctor.storage.tables import AuditRow
from proctor.storage.uow import Storage

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def fill(storage: Storage, n: int = 6) -> None:
    with storage.uow() as uow:
        for i in range(n):
            uow.audit.append(
                actor="system",
                action=f"event_{i}",
                subject=f"s{i}",
                details={"i": i, "reason": "face_mismatch"},
                at=T0,
            )
        uow.commit()


def test_intact_chain_verifies(storage: Storage) -> None:
    fill(storage)
    report = storage.verify_audit()
    assert report.ok and report.checked == 6


def test_one_byte_edit_is_named(storage: Storage) -> None:
    fill(storage)
    with storage.uow() as uow:
        row = uow.db.get(AuditRow, 4)
        assert row is not None
        row.details = row.details.replace('"i":3', '"i":4')  # one byte
        uow.commit()
    report = storage.verify_audit()
    assert not report.ok and report.first_bad_seq == 4 and report.problem == "entry altered"


def test_deleted_entry_is_named(storage: Storage) -> None:
    fill(storage)
    with storage.uow() as uow:
        uow.db.execute(delete(AuditRow).where(AuditRow.seq == 3))
        uow.commit()
    report = storage.verify_audit()
    assert not report.ok and report.first_bad_seq == 3


def test_deleted_tail_is_named(storage: Storage) -> None:
    fill(storage)
    with storage.uow() as uow:
        uow.db.execute(delete(AuditRow).where(AuditRow.seq == 6))
        uow.commit()
    report = storage.verify_audit()
    assert not report.ok and report.first_bad_seq == 6


def test_swapped_pair_is_named(storage: Storage) -> None:
    fill(storage)
    cols = ["at", "actor", "action", "subject", "details", "prev_hash", "entry_hash"]
    with storage.uow() as uow:
        a, b = (uow.db.get(AuditRow, 2), uow.db.get(AuditRow, 3))
        assert a is not None and b is not None
        va = {c: getattr(a, c) for c in cols}
        vb = {c: getattr(b, c) for c in cols}
        uow.db.execute(update(AuditRow).where(AuditRow.seq == 2).values(**vb))
        uow.db.execute(update(AuditRow).where(AuditRow.seq == 3).values(**va))
        uow.commit()
    report = storage.verify_audit()
    assert not report.ok and report.first_bad_seq == 2


def test_wrong_key_fails(storage: Storage) -> None:
    fill(storage, 2)
    with storage.sessionmaker() as s:
        assert verify_chain(s, b"k" * 32).first_bad_seq == 1


@pytest.mark.parametrize(
    "details",
    [{"crop": b"\xff\xd8\xff"}, {"embedding": [0.1] * 128}, {"nested": {"x": [b"a"]}}],
)
def test_images_and_embeddings_refused(storage: Storage, details: dict[str, object]) -> None:
    with storage.uow() as uow, pytest.raises(AuditContentRefused):
        uow.audit.append(actor="a", action="b", subject="c", details=details, at=T0)
    with storage.sessionmaker() as s:
        assert s.execute(select(AuditRow)).first() is None
