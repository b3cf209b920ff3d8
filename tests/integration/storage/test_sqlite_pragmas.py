"""SECURITY.md DB1: the SQLite settings read back from every connection the pool hands out,
and a unit of work holds the write lock from its first statement (BEGIN IMMEDIATE)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from proctor.storage.uow import Storage, open_storage

PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "secure_delete")


@pytest.mark.db
def test_every_connection_reads_back_the_pragmas(tmp_path: Path) -> None:
    storage = open_storage(
        f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path, master_key=bytes(32)
    )
    # four distinct pooled DBAPI connections (no SQLAlchemy transaction, so no write lock)
    conns = [storage.engine.raw_connection() for _ in range(4)]
    try:
        for conn in conns:
            cur = conn.cursor()
            got = {p: cur.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
            cur.close()
            assert got["journal_mode"] == "wal"
            assert got["synchronous"] == 2  # FULL
            assert got["foreign_keys"] == 1
            assert got["busy_timeout"] >= 5000
            assert got["secure_delete"] == 1
    finally:
        for conn in conns:
            conn.close()
        storage.engine.dispose()


@pytest.mark.db
def test_unit_of_work_takes_the_write_lock_before_reading(tmp_path: Path) -> None:
    storage: Storage = open_storage(
        f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path, master_key=bytes(32)
    )
    other = sqlite3.connect(str(tmp_path / "p.db"), timeout=0, isolation_level=None)
    try:
        with storage.uow() as uow:
            uow.sessions.get("nothing")  # a read only; the lock is already held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released when the unit of work ends
        other.execute("ROLLBACK")
    finally:
        other.close()
        storage.engine.dispose()
