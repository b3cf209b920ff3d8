"""SQL leases for the scheduler (``scheduler_lease``; the ``LeaseStore`` port).

Acquisition is one UPDATE that moves ``last_tick`` forward, grows the fencing ``token``
and sets holder and expiry, guarded by ``last_tick < :tick`` and a free or expired lease.
On PostgreSQL (READ COMMITTED) a second replica's UPDATE waits for the first to commit,
re-reads the row and finds the guard false; on SQLite ``BEGIN IMMEDIATE`` serialises them.
Either way exactly one replica sees one updated row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from proctor.scheduler.jobs import JobSummary, plain_summary
from proctor.scheduler.lease import Acquired
from proctor.storage.tables import SchedulerLeaseRow
from proctor.storage.uow import Storage

L = SchedulerLeaseRow


class SqlLeaseStore:
    def __init__(self, storage: Storage) -> None:
        self._sm = storage.sessionmaker
        self._dialect = storage.engine.dialect.name

    def ensure(self, name: str) -> None:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(L).values(name=name, token=0, last_tick=-1).on_conflict_do_nothing()
        with self._sm() as s, s.begin():
            s.execute(stmt)

    def acquire(self, name: str, holder: str, tick: int, now: datetime, lease_s: float) -> Acquired:
        stmt = (
            update(L)
            .where(
                L.name == name,
                L.last_tick < tick,
                or_(L.expires_at.is_(None), L.expires_at <= now, L.holder == holder),
            )
            .values(
                holder=holder[:128],
                expires_at=now + timedelta(seconds=lease_s),
                token=L.token + 1,
                last_tick=tick,
                last_started_at=now,
            )
            .returning(L.token)
        )
        with self._sm() as s, s.begin():
            token = s.execute(stmt).scalar_one_or_none()
            if token is not None:
                return Acquired(int(token), tick)
            last = s.execute(select(L.last_tick).where(L.name == name)).scalar_one_or_none()
        if last is None:  # the job's row does not exist yet: create it, then try once more
            self.ensure(name)
            return self.acquire(name, holder, tick, now, lease_s)
        return Acquired(None, int(last))

    def finish(
        self,
        name: str,
        holder: str,
        token: int,
        now: datetime,
        status: str,
        summary: JobSummary,
    ) -> bool:
        stmt = (
            update(L)
            .where(L.name == name, L.holder == holder[:128], L.token == token)
            .values(
                expires_at=now,
                last_finished_at=now,
                last_status=status[:16],
                last_summary=plain_summary(summary),
            )
        )
        with self._sm() as s, s.begin():
            return bool(getattr(s.execute(stmt), "rowcount", 0) == 1)

    def status(self) -> list[dict[str, Any]]:
        """Every job's lease and last run, for operators."""
        with self._sm() as s:
            rows = s.execute(select(L).order_by(L.name)).scalars().all()
            return [
                {
                    "job": r.name,
                    "holder": r.holder,
                    "lease_expires_at": r.expires_at.isoformat() if r.expires_at else None,
                    "token": r.token,
                    "last_tick": r.last_tick,
                    "last_started_at": r.last_started_at.isoformat() if r.last_started_at else None,
                    "last_finished_at": (
                        r.last_finished_at.isoformat() if r.last_finished_at else None
                    ),
                    "last_status": r.last_status,
                    "last_summary": r.last_summary,
                }
                for r in rows
            ]
