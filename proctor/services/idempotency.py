"""Idempotency keys (IETF draft "The Idempotency-Key HTTP Header Field").

``begin`` claims ``(scope, key)`` in its own transaction: a new key is stored as
``in_flight``; the same key with the same request hash replays the stored answer;
a different hash is ``idempotency_key_reused``; a key still in flight is
``idempotency_in_flight``. A key left in flight by a crashed request may be
reclaimed after ``stale_s``. Stored answers never contain image data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from proctor.clock import Clock
from proctor.errors import ProctorError
from proctor.services.ports import IdempotencyRecord, RecordsUnitOfWork, UnitOfWork


class IdempotencyKeyReused(ProctorError):
    code = "idempotency_key_reused"


class IdempotencyInFlight(ProctorError):
    code = "idempotency_in_flight"


class IdempotencyService:
    def __init__(
        self,
        uow: Callable[[], RecordsUnitOfWork],
        clock: Clock,
        *,
        ttl_s: int = 24 * 3600,
        stale_s: int = 300,
    ) -> None:
        self._uow, self._clock = uow, clock
        self._ttl, self._stale = timedelta(seconds=ttl_s), timedelta(seconds=stale_s)

    def begin(self, scope: str, key: str, request_hash: str) -> IdempotencyRecord | None:
        """``None`` when the key is newly claimed; the stored record when it must be replayed."""
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.idempotency.get(scope, key)
            if found is not None and found.expires_at > now:
                if found.request_hash != request_hash:
                    raise IdempotencyKeyReused("this Idempotency-Key was used for another request")
                if found.state == "done":
                    return found
                if now - found.created_at < self._stale:
                    raise IdempotencyInFlight("a request with this Idempotency-Key is in flight")
            uow.idempotency.put(
                IdempotencyRecord(scope, key, request_hash, "in_flight", now, now + self._ttl)
            )
            uow.commit()
        return None

    def lookup(self, scope: str, key: str, request_hash: str) -> IdempotencyRecord | None:
        """Read-only ``begin`` for use cases that are single-use by themselves: the stored
        answer to replay, or None; the same errors as ``begin`` for a reused key or a
        request still in flight (recorded by ``begin``)."""
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.idempotency.get(scope, key)
        if found is None or found.expires_at <= now:
            return None
        if found.request_hash != request_hash:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another request")
        if found.state == "done":
            return found
        if now - found.created_at < self._stale:
            raise IdempotencyInFlight("a request with this Idempotency-Key is in flight")
        return None

    def complete(self, scope: str, key: str, request_hash: str, status: int, body: str) -> None:
        with self._uow() as uow:
            self.keep(uow, scope, key, request_hash, status, body)
            uow.commit()

    def keep(
        self, uow: UnitOfWork, scope: str, key: str, request_hash: str, status: int, body: str
    ) -> None:
        """Store the answer inside the caller's transaction (not committed here): written
        with the decision it reports, a retry can never find the decision without it."""
        now = self._clock.now()
        uow.idempotency.put(
            IdempotencyRecord(scope, key, request_hash, "done", now, now + self._ttl, status, body)
        )

    def release(self, scope: str, key: str) -> None:
        with self._uow() as uow:
            uow.idempotency.delete(scope, key)
            uow.commit()
