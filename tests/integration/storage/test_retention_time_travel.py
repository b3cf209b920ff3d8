"""SECURITY.md PR1: time travel through every retention class with an hourly purge job;
each object goes at its TTL and within the next hourly run (rows and files), never
before. Crypto-shredding: a backup copy of a purged blob cannot be opened with the
master key, and the wrapped data key is gone from the SQLite file and its WAL."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text

from proctor.clock import FakeClock
from proctor.services.ports import RetentionClass
from proctor.services.retention import purge_evidence
from proctor.storage.keys import open_sealed
from proctor.storage.tables import EvidenceRow
from proctor.storage.uow import Storage

HOUR = timedelta(hours=1)
# class → time to live from creation (None: held until a decision sets it)
TTL = {
    RetentionClass.PASSED: timedelta(hours=24),
    RetentionClass.FAILED: timedelta(hours=24),
    RetentionClass.FLAGGED: timedelta(days=5),  # set when the final decision is made
    RetentionClass.PROXY_CONFIRMED: timedelta(days=3 * 365 + 1),
    RetentionClass.REFERENCE: timedelta(days=30),  # set when consent ends
}


def test_every_class_is_purged_on_time_files_included(storage: Storage) -> None:
    clock = FakeClock()
    t0 = clock.now()
    ids: dict[RetentionClass, str] = {}
    with storage.uow() as uow:
        for cls, ttl in TTL.items():
            ids[cls] = uow.evidence.put(
                b"\xff\xd8crop:" + cls.value.encode(),
                subject_key="k1",
                session_id=f"s-{cls.value}",
                retention=cls,
                at=t0,
            )
            uow.evidence.set_retention([ids[cls]], cls, t0 + ttl)
        held = uow.evidence.put(
            b"\xff\xd8held",
            subject_key="k1",
            session_id="s-held",
            retention=RetentionClass.FLAGGED,
            at=t0,
        )  # no delete_after: held until decided
        uow.commit()
    gone_at: dict[RetentionClass, datetime] = {}
    horizon = max(TTL.values()) + 2 * HOUR
    # hourly job: jump straight to the hours around each deadline (3 years of hours is slow)
    ticks = sorted({t0 + ttl + d for ttl in TTL.values() for d in (-HOUR, timedelta(0), HOUR)})
    for tick in [*ticks, t0 + horizon]:
        clock.set(tick)
        purge_evidence(storage.uow, clock)
        for cls, eid in ids.items():
            if cls not in gone_at and not storage.files.path(eid).exists():
                with storage.uow() as uow:
                    assert uow.evidence.retention_of(eid) is None  # row and file together
                gone_at[cls] = tick
    for cls, ttl in TTL.items():
        assert cls in gone_at, cls
        late = gone_at[cls] - (t0 + ttl)
        assert timedelta(0) <= late <= HOUR, (cls, late)
    with storage.uow() as uow:
        assert uow.evidence.retention_of(held) is not None
        assert storage.files.path(held).exists()


def test_purged_evidence_is_crypto_shredded(storage: Storage) -> None:
    clock = FakeClock()
    with storage.uow() as uow:
        eid = uow.evidence.put(
            b"\xff\xd8secret-crop",
            subject_key="k1",
            session_id="s1",
            retention=RetentionClass.PASSED,
            at=clock.now(),
        )
        uow.evidence.set_retention([eid], RetentionClass.PASSED, clock.now())
        uow.commit()
        wrapped = uow.db.execute(
            select(EvidenceRow.wrapped_key).where(EvidenceRow.id == eid)
        ).scalar_one()
    backup = storage.files.read(eid)  # a backup copy of the blob store
    with storage.uow() as uow:
        assert uow.evidence.read(eid) == b"\xff\xd8secret-crop"
    assert purge_evidence(storage.uow, clock) == {"passed": 1}
    # the master key alone cannot open the backup: the data key is destroyed
    for guess in (storage.master_key, bytes(32)):
        with pytest.raises(InvalidTag):
            open_sealed(guess, backup, eid.encode())
    if storage.engine.dialect.name == "sqlite":
        with storage.engine.connect() as conn:
            assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
        storage.engine.dispose()
        con = sqlite3.connect(str(storage.engine.url.database), isolation_level=None)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        db = storage.engine.url.database
        assert db
        raw = Path(db).read_bytes()
        wal = db + "-wal"
        if os.path.exists(wal):
            raw += Path(wal).read_bytes()
        assert wrapped not in raw, "the wrapped data key survives in the database file"
