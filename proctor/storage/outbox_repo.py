"""SQL delivery queue over ``notification_outbox`` (the ``DeliveryQueue`` port).

Each call is its own short transaction; no transaction is held while a message is sent.
``claim`` selects due rows ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises
writers with ``BEGIN IMMEDIATE`` and ignores the clause) and leases them to the holder,
counting the attempt. Marks after the send are guarded by that attempt number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Update, func, or_, select, update

from proctor.notifications.outbox import Claimed, ParkedMessage
from proctor.storage.tables import OutboxRow
from proctor.storage.uow import Storage

R = OutboxRow


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        R.delivered_at.is_(None),
        R.parked_at.is_(None),
        or_(R.next_attempt_at.is_(None), R.next_attempt_at <= now),
        or_(R.claimed_until.is_(None), R.claimed_until <= now),
    )


class SqlDeliveryQueue:
    def __init__(self, storage: Storage) -> None:
        self._sm = storage.sessionmaker

    def claim(self, holder: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]:
        until = now + timedelta(seconds=lease_s)
        with self._sm() as s, s.begin():
            pick = (
                select(R.id)
                .where(*_due(now))
                .order_by(R.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(s.scalars(pick))
            if not ids:
                return []
            s.execute(
                update(R)
                .where(R.id.in_(ids))
                .values(attempts=R.attempts + 1, claimed_by=holder[:128], claimed_until=until)
            )
            rows = s.execute(
                select(R.id, R.attempts, R.kind, R.driver_id, R.at, R.payload)
                .where(R.id.in_(ids))
                .order_by(R.id)
            ).all()
        return [Claimed(r.id, r.attempts, r.kind, r.driver_id, r.at, r.payload) for r in rows]

    def delivered(self, claimed: Claimed, now: datetime) -> bool:
        stmt = (
            update(R)
            .where(R.id == claimed.outbox_id, R.delivered_at.is_(None))
            .values(delivered_at=now, claimed_until=None, last_error=None)
        )
        return self._one(stmt)

    def retry_later(self, claimed: Claimed, now: datetime, next_at: datetime, error: str) -> bool:
        stmt = (
            update(R)
            .where(*self._held(claimed))
            .values(next_attempt_at=next_at, claimed_until=None, last_error=error[:200])
        )
        return self._one(stmt)

    def park(self, claimed: Claimed, now: datetime, reason: str, error: str) -> bool:
        stmt = (
            update(R)
            .where(*self._held(claimed))
            .values(
                parked_at=now,
                parked_reason=reason[:64],
                last_error=error[:200],
                claimed_until=None,
            )
        )
        return self._one(stmt)

    def release(self, claimed: Claimed, next_at: datetime) -> bool:
        stmt = (
            update(R)
            .where(*self._held(claimed))
            .values(attempts=R.attempts - 1, claimed_until=None, next_attempt_at=next_at)
        )
        return self._one(stmt)

    # ---- operators ------------------------------------------------------------------------

    def parked(self, limit: int = 100) -> list[ParkedMessage]:
        with self._sm() as s:
            rows = s.execute(
                select(R).where(R.parked_at.is_not(None)).order_by(R.parked_at.desc()).limit(limit)
            ).scalars()
            return [
                ParkedMessage(
                    r.id,
                    r.kind,
                    r.driver_id,
                    r.at,
                    r.attempts,
                    r.parked_at,
                    r.parked_reason or "",
                    r.last_error,
                )
                for r in rows
                if r.parked_at is not None
            ]

    def requeue(self, outbox_id: int, now: datetime) -> bool:
        """Send a parked message again from attempt 1 (after an operator fixed the cause)."""
        stmt = (
            update(R)
            .where(R.id == outbox_id, R.parked_at.is_not(None), R.delivered_at.is_(None))
            .values(
                parked_at=None,
                parked_reason=None,
                attempts=0,
                next_attempt_at=now,
                claimed_until=None,
            )
        )
        return self._one(stmt)

    def counts(self) -> dict[str, int]:
        """Parked and pending (undelivered, not parked) messages; both columns are indexed."""
        with self._sm() as s:
            parked = s.scalar(select(func.count()).where(R.parked_at.is_not(None)))
            pending = s.scalar(
                select(func.count()).where(R.delivered_at.is_(None), R.parked_at.is_(None))
            )
        return {"parked": int(parked or 0), "pending": int(pending or 0)}

    # ---- internals ------------------------------------------------------------------------

    @staticmethod
    def _held(c: Claimed) -> tuple[ColumnElement[bool], ...]:
        return (
            R.id == c.outbox_id,
            R.attempts == c.attempt,
            R.delivered_at.is_(None),
            R.parked_at.is_(None),
        )

    def _one(self, stmt: Update) -> bool:
        with self._sm() as s, s.begin():
            result = s.execute(stmt)
            return bool(getattr(result, "rowcount", 0) == 1)
