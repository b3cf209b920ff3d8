"""Composition of the production s-norm cohort (issue 21): settings → ``CohortService``.

Kept out of ``bootstrap.py`` (a shared file) except for one call. The service's
pipelines read the holder's current cohort on every comparison; with no cohort (not
calibrated, source "off", or fewer references than ``cohort_min_size``) they decide on
the raw L2 thresholds, and ``/readyz`` names the mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from proctor.clock import Clock
from proctor.config import ProctorSettings
from proctor.decision.policy import OperatingPolicy
from proctor.operating_policy import snorm_on
from proctor.pipeline import Pipeline
from proctor.services.cohort import CohortHolder, CohortPolicy, CohortService, CohortStatus
from proctor.storage.uow import Storage

log = logging.getLogger("proctor.cohort")


def snorm_points(s: ProctorSettings, model_id: str) -> tuple[float, int] | None:
    """(z threshold at the operating FMR, top_k) from operating_points.toml, or None."""
    from proctor.calibration.points import load_points, zone_thresholds
    from proctor.embedding.registry import default_models_dir

    points = load_points(s.models_dir or default_models_dir())
    target = s.operating_target_fmr
    z = zone_thresholds(points, model_id, s.operating_population, target, target)
    if z is None or z.match_z is None:
        return None
    return z.match_z, z.top_k


def build_cohort(
    s: ProctorSettings,
    policy: OperatingPolicy,
    storage: Storage,
    clock: Clock,
    pipelines: Sequence[Pipeline],
) -> CohortService | None:
    """The refreshed cohort from enrolled references, attached to ``pipelines`` and built
    once now; None when the policy has no s-norm from references (off, not calibrated, or
    a cohort file configured instead)."""
    if policy.snorm is None or policy.snorm.source != "references" or not pipelines:
        if snorm_on(s) and policy.snorm is None:
            log.warning("s-norm is not calibrated for %s: raw thresholds decide", policy.model_id)
        return None
    service = cohort_service(s, storage, clock, policy.model_id, policy.snorm.top_k)
    for p in pipelines:
        p.cohort_source = service.holder.current
    status = service.refresh()
    if status.mode != "snorm":
        log.warning(
            "s-norm cohort has %d of the %d templates it needs: raw thresholds decide",
            status.size,
            status.min_size,
        )
    return service


class LivePolicy:
    """The operating policy with the live cohort named: ``policy.with_cohort(id)`` of the
    cohort the pipeline measures with now (None: no cohort, the raw limits decide). A
    refresh that installs another cohort yields another ``policy_id``."""

    def __init__(self, policy: OperatingPolicy, pipeline: Pipeline) -> None:
        self.base = policy
        self._pipeline = pipeline
        self._last = policy

    def __call__(self) -> OperatingPolicy:
        cohort = self._pipeline.current_cohort() if self.base.snorm is not None else None
        cohort_id = None if cohort is None else cohort.cohort_id
        if cohort_id != self._last.cohort_id:
            self._last = self.base.with_cohort(cohort_id)
        return self._last


def cohort_service(
    s: ProctorSettings, storage: Storage, clock: Clock, model_id: str, top_k: int
) -> CohortService:
    """The refresh/import use case over the real storage (the service and the CLI)."""
    from proctor.storage.cohort_store import SealedCohortFile, StorageReferenceSource

    policy = CohortPolicy(
        size=s.cohort_size, min_size=s.cohort_min_size, top_k=top_k, seed=s.cohort_seed
    )
    return CohortService(
        model_id,
        policy,
        lambda: StorageReferenceSource(storage),
        SealedCohortFile(s.data_dir, storage.template_key),
        storage.uow,
        clock,
        CohortHolder(),
    )


def status_body(
    status: CohortStatus | None, policy: OperatingPolicy | None = None
) -> dict[str, Any]:
    """The cohort's state for /readyz (no vector, no subject)."""
    if status is None and policy is not None and policy.snorm is not None:
        if policy.cohort_id is not None:  # a configured cohort file
            return {
                "mode": "snorm",
                "reason": "ok",
                "source": policy.snorm.source,
                "cohort_id": policy.cohort_id,
            }
        return {"mode": "raw", "reason": "not_built", "source": policy.snorm.source}
    if status is None:
        return {"mode": "raw", "reason": "snorm_off"}
    return {
        "mode": status.mode,
        "reason": status.reason,
        "size": status.size,
        "min_size": status.min_size,
        "from_references": status.from_references,
        "from_import": status.from_import,
        "cohort_id": status.cohort_id,
        "refreshed_at": status.refreshed_at.isoformat() if status.refreshed_at else None,
    }
