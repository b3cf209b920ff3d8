"""The lease port: one row per job holding its holder, expiry, fencing token and last tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from proctor.scheduler.jobs import JobSummary


@dataclass(frozen=True, slots=True)
class Acquired:
    """The outcome of an acquisition: ``token`` when this replica runs the tick, else None
    and the job's ``last_tick`` as stored (so the runner stops asking for that tick)."""

    token: int | None
    last_tick: int


class LeaseStore(Protocol):
    def ensure(self, name: str) -> None:
        """Create the job's lease row if it does not exist (idempotent, race-safe)."""
        ...

    def acquire(
        self, name: str, holder: str, tick: int, now: datetime, lease_s: float
    ) -> Acquired: ...

    def finish(
        self,
        name: str,
        holder: str,
        token: int,
        now: datetime,
        status: str,
        summary: JobSummary,
    ) -> bool:
        """Release the lease and record the run; False when the token is no longer ours."""
        ...

    def status(self) -> list[dict[str, Any]]:
        """Every job's lease and last run, for operators."""
        ...
