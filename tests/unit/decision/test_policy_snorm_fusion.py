"""Issue 21's thresholds live in the one ``OperatingPolicy``: the s-norm cohort rule, the
loose reference z, the fusion setting and the live cohort's id reach ``policy_id`` and
``by_kind()``; a refreshed cohort is a new, named policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from proctor.decision.policy import AnchorPolicy, OperatingPolicy, SnormPolicy, ZonePolicy
from proctor.matching.fusion import FusionPolicy, Weighting

SNORM = SnormPolicy("references", "snorm_references", top_k=50, min_size=300, size=1000)
BASE = OperatingPolicy(
    "m",
    ZonePolicy(0.41, 0.45, 2.72, 2.00),
    AnchorPolicy(0.444, 0.497, reference_loose_z=1.43),
    snorm=SNORM,
    fusion=FusionPolicy(k=5),
)


def test_every_issue_21_threshold_is_named_by_kind() -> None:
    kinds = BASE.by_kind()
    assert kinds["entry"]["reference_match_z"] == 2.72
    assert kinds["anchored"]["reference_loose_z"] == 1.43
    assert kinds["snorm"] == {"top_k": 50.0, "min_size": 300.0, "size": 1000.0}
    assert kinds["fusion"]["k"] == 5.0


@pytest.mark.parametrize(
    "changed",
    [
        replace(BASE, snorm=replace(SNORM, min_size=100)),
        replace(BASE, snorm=replace(SNORM, rule="snorm")),
        replace(BASE, fusion=FusionPolicy(k=2)),
        replace(BASE, fusion=FusionPolicy(k=5, weighting=Weighting.UNIFORM)),
        replace(BASE, anchor=AnchorPolicy(0.444, 0.497, reference_loose_z=1.2)),
        replace(BASE, snorm=None),
    ],
)
def test_each_of_them_changes_the_policy_id(changed: OperatingPolicy) -> None:
    assert changed.policy_id != BASE.policy_id


def test_the_live_cohort_is_part_of_the_policy() -> None:
    assert not BASE.cohort_live and BASE.with_cohort(None) is BASE
    live = BASE.with_cohort("abc123")
    assert live.cohort_live and live.cohort_id == "abc123"
    assert live.policy_id != BASE.policy_id
    assert live.with_cohort("abc123") is live
    assert live.with_cohort("def456").policy_id not in (live.policy_id, BASE.policy_id)
    assert live.with_cohort(None).policy_id == BASE.policy_id


def test_cohort_refresh_is_registered_with_the_scheduler() -> None:
    from proctor.bootstrap import register_cohort_refresh

    class Sched:
        def __init__(self) -> None:
            self.jobs: dict[str, tuple[object, float]] = {}

        def register(self, job: object, interval_s: float) -> None:
            self.jobs[getattr(job, "name")] = (job, interval_s)  # noqa: B009

    class Status:
        mode, size, cohort_id = "snorm", 320, "c1"

    class Cohort:
        refreshed = 0

        def refresh(self) -> Status:
            self.refreshed += 1
            return Status()

    sched, cohort = Sched(), Cohort()
    assert not register_cohort_refresh(sched, None, 60.0)  # type: ignore[arg-type]
    assert register_cohort_refresh(sched, cohort, 3600.0)  # type: ignore[arg-type]
    job, interval = sched.jobs["cohort.refresh"]
    assert interval == 3600.0
    summary = job.run(datetime(2026, 12, 1))  # type: ignore[attr-defined]
    assert cohort.refreshed == 1 and summary["cohort_id"] == "c1"
