"""The s-norm cohort of the running service: built from enrolled references, refreshed.

Production s-norm needs templates of *other people*. The service has them: every
enrolled driver's reference. ``CohortService.refresh`` samples one reference per driver
(seeded, at most ``size``), tops it up from an operator-imported cohort (embeddings only,
sealed at rest) while the service has few drivers, and installs the result in the
``CohortHolder`` that the matching pipeline reads. Every refresh is audited (size,
cohort id, mode; never a vector). Below ``min_size`` the holder holds no cohort: the
pipeline decides on the raw L2 thresholds and ``/readyz`` says so (``cohort_mode: raw``).

A driver who withdraws consent has their reference deleted in the withdrawal's
transaction (``ConsentService``), so the next refresh no longer sees it.

Ports: ``ReferenceSource`` (the references of enrolled drivers: one per driver, the
authority reference, never a session anchor or a ``live_verified`` capture) and
``ImportedCohortStore`` (the sealed operator import). The scheduler calls
``refresh_job``; the composition root calls ``refresh`` once at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

import numpy as np

from proctor.clock import Clock
from proctor.matching.cohort import Cohort, FloatArray, sample_per_subject
from proctor.services.ports import AuditLog

COHORT_ACTOR = "system:cohort"


class ReferenceSource(Protocol):
    """Enrolled references of one model: (subject key, vector), one per driver."""

    def references(self, model_id: str) -> Sequence[tuple[str, FloatArray]]: ...


class ImportedCohortStore(Protocol):
    """An operator-imported cohort: embeddings only, sealed at rest."""

    def load(self, model_id: str) -> FloatArray | None: ...

    def save(self, model_id: str, vectors: FloatArray) -> None: ...


class AuditUnitOfWork(Protocol):
    @property
    def audit(self) -> AuditLog: ...

    def __enter__(self) -> AuditUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CohortPolicy:
    """``size``: at most this many templates; ``min_size``: below it, raw thresholds
    (the size at which z-scores stop moving with the sample: models/cards/dlib_resnet_v1.md);
    ``top_k``: the adaptive s-norm's nearest rows (the calibrated operating point's)."""

    size: int = 1000
    min_size: int = 100
    top_k: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_size < 2 or self.size < self.min_size or self.top_k < 2:
            raise ValueError("need 2 <= min_size <= size and top_k >= 2")


@dataclass(frozen=True, slots=True)
class CohortStatus:
    """What ``/readyz`` and every decision record can name."""

    mode: str  # "snorm" or "raw"
    reason: str  # "ok", "cohort_too_small", "not_built"
    size: int
    from_references: int
    from_import: int
    min_size: int
    cohort_id: str | None
    refreshed_at: datetime | None


NOT_BUILT = CohortStatus("raw", "not_built", 0, 0, 0, 0, None, None)


class CohortHolder:
    """The current cohort (or None: raw thresholds), swapped atomically by a refresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cohort: Cohort | None = None
        self._status = NOT_BUILT

    def current(self) -> Cohort | None:
        return self._cohort

    @property
    def status(self) -> CohortStatus:
        return self._status

    def install(self, cohort: Cohort | None, status: CohortStatus) -> None:
        with self._lock:
            self._cohort, self._status = cohort, status


class CohortService:
    def __init__(
        self,
        model_id: str,
        policy: CohortPolicy,
        references: Callable[[], ReferenceSource],
        imported: ImportedCohortStore,
        uow: Callable[[], AuditUnitOfWork],
        clock: Clock,
        holder: CohortHolder,
    ) -> None:
        self.model_id = model_id
        self.policy = policy
        self._references = references
        self._imported = imported
        self._uow = uow
        self._clock = clock
        self.holder = holder

    def refresh(self, actor: str = COHORT_ACTOR) -> CohortStatus:
        """Sample the cohort again from storage; install it (or the raw fallback); audit."""
        now = self._clock.now()
        entries = list(self._references().references(self.model_id))
        chosen = sample_per_subject([s for s, _ in entries], self.policy.size, self.policy.seed)
        rows: list[FloatArray] = [np.asarray(entries[i][1], np.float64) for i in chosen]
        n_refs = len(rows)
        extra = self._imported.load(self.model_id)
        n_imp = 0
        if extra is not None and n_refs < self.policy.size:
            n_imp = min(len(extra), self.policy.size - n_refs)
            rows.extend(np.asarray(extra[:n_imp], np.float64))
        size = len(rows)
        cohort: Cohort | None = None
        if size >= self.policy.min_size:
            cohort = Cohort(self.model_id, np.vstack(rows), self.policy.top_k)
        status = CohortStatus(
            mode="snorm" if cohort else "raw",
            reason="ok" if cohort else "cohort_too_small",
            size=size,
            from_references=n_refs,
            from_import=n_imp,
            min_size=self.policy.min_size,
            cohort_id=cohort.cohort_id if cohort else None,
            refreshed_at=now,
        )
        with self._uow() as uow:
            uow.audit.append(
                actor=actor,
                action="cohort_refreshed",
                subject=self.model_id,
                details={
                    "mode": status.mode,
                    "reason": status.reason,
                    "size": size,
                    "from_references": n_refs,
                    "from_import": n_imp,
                    "min_size": self.policy.min_size,
                    "cohort_id": status.cohort_id,
                },
                at=now,
            )
            uow.commit()
        self.holder.install(cohort, status)
        return status

    def import_vectors(self, vectors: FloatArray, actor: str) -> CohortStatus:
        """An operator's cohort file (embeddings only): validated, sealed, audited, then
        used from this refresh on to top up the references."""
        v = np.asarray(vectors, np.float64)
        Cohort(self.model_id, v, self.policy.top_k)  # the same checks as a live cohort
        self._imported.save(self.model_id, v)
        with self._uow() as uow:
            uow.audit.append(
                actor=actor,
                action="cohort_imported",
                subject=self.model_id,
                details={"size": int(v.shape[0])},
                at=self._clock.now(),
            )
            uow.commit()
        return self.refresh(actor)


def refresh_job(service: CohortService) -> Callable[[], CohortStatus]:
    """The scheduler's job (one call = one audited refresh)."""
    return service.refresh
