"""Retention use case: ``purge`` deletes evidence whose retention has run out (crypto-shred)."""

from __future__ import annotations

from collections.abc import Callable

from proctor.clock import Clock
from proctor.services.common import SYSTEM_ACTOR
from proctor.services.ports import UnitOfWork


def purge_evidence(uow_factory: Callable[[], UnitOfWork], clock: Clock) -> dict[str, int]:
    """Delete expired evidence; the audit entry records counts per class, never content."""
    now = clock.now()
    with uow_factory() as uow:
        counts = uow.evidence.purge(now)
        uow.audit.append(
            actor=SYSTEM_ACTOR,
            action="evidence_purged",
            subject="evidence",
            details={"counts": dict(counts)},
            at=now,
        )
        uow.commit()
    return counts
