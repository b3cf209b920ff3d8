"""What a benchmark ran: the loaded ``OperatingPolicy``, named in every report.

The report names the policy by its ``policy_id`` (the same id ``/readyz`` and every
decided attempt carry), with the bench's cohort folded in (``with_cohort``), and adds the
cohort's source, size and id and the multi-frame fusion setting. Pairs and sessions are
decided by ``decide_capture`` with that policy.

``bench_cohort`` is the cohort *as configured* on labelled dev data:
- ``cohort_source = "references"`` (the default): the dev set's people stand for the
  enrolled drivers, one image per identity pooled over ``populations`` (one cohort for
  all), each comparison leaving out the reference's identity (its only row in production);
- ``cohort_path`` set: that file, each comparison leaving out the reference's own row;
- ``cohort_source = "off"``: none (raw thresholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from proctor.calibration.reference_cohort import LabelledCohort, labelled_cohort
from proctor.config import ProctorSettings
from proctor.decision.policy import OperatingPolicy
from proctor.pipeline import Pipeline

DEV_POPULATIONS = ("asian-dev", "lfw-dev")


def bench_policy(
    settings: ProctorSettings, pipe: Pipeline, cohort: LabelledCohort | None
) -> OperatingPolicy:
    """The service's operating policy, naming the bench's cohort (None: raw fallback)."""
    from proctor.operating_policy import load_operating_policy

    policy = load_operating_policy(settings, pipe.model_id)
    return policy.with_cohort(None if cohort is None else cohort.cohort.cohort_id)


def bench_cohort(
    settings: ProctorSettings,
    pipe: Pipeline,
    images_tsv: Path | None,
    populations: Sequence[str] = DEV_POPULATIONS,
) -> LabelledCohort | None:
    from proctor.operating_policy import load_operating_policy

    snorm = load_operating_policy(settings, pipe.model_id).snorm
    if snorm is None:
        return None
    top_k = snorm.top_k
    if settings.cohort_path is not None:
        from proctor.calibration.cohort_file import load_cohort

        cohort = load_cohort(settings.cohort_path, pipe.model_id, top_k)
        return LabelledCohort(cohort, np.asarray([""] * cohort.size))
    if images_tsv is None:
        return None
    from proctor.calibration.runner import embed_labelled, read_images_tsv

    rows = [r for pop in populations for r in read_images_tsv(images_tsv, pop)]
    data = embed_labelled(pipe, images_tsv.parent, rows)
    lc = labelled_cohort(
        pipe.model_id,
        data.vectors,
        data.identities,
        size=settings.cohort_size,
        top_k=top_k,
        seed=settings.cohort_seed,
    )
    if lc.cohort.size < settings.cohort_min_size:
        return None  # the service would decide raw too
    return lc


def describe(
    settings: ProctorSettings,
    pipe: Pipeline,
    cohort: LabelledCohort | None,
    populations: Sequence[str] = DEV_POPULATIONS,
) -> dict[str, Any]:
    policy = bench_policy(settings, pipe, cohort)
    if cohort is None:
        c: dict[str, Any] = {"mode": "raw", "source": settings.cohort_source}
    else:
        c = {
            "mode": "snorm",
            "source": "file" if settings.cohort_path else settings.cohort_source,
            "size": cohort.cohort.size,
            "top_k": cohort.cohort.top_k,
            "cohort_id": cohort.cohort.cohort_id,
        }
        if not settings.cohort_path:
            c["drawn_from"] = list(populations)
    return {
        "policy_id": policy.policy_id,
        "thresholds": policy.by_kind(),
        "operating_population": settings.operating_population,
        "operating_target_fmr": settings.operating_target_fmr,
        "zones_fmr": [settings.zone_match_fmr, settings.zone_no_match_fmr],
        "cohort": c,
        "fusion": {"k": policy.fusion.k, "weighting": policy.fusion.weighting.value},
        "model_id": pipe.model_id,
    }


class PathNormaliser:
    """``bench.accuracy.Normaliser`` over a labelled cohort: pair paths → identities."""

    def __init__(self, cohort: LabelledCohort, identity_of: dict[str, str], threshold: float):
        self.cohort = cohort
        self.identity_of = identity_of
        self.threshold = threshold

    def score(
        self, reference: np.ndarray, probe: np.ndarray, reference_path: str, probe_path: str
    ) -> float:
        who = self.identity_of.get
        return self.cohort.score(reference, probe, who(reference_path, ""), who(probe_path, ""))


def identities_of(images_tsv: Path) -> dict[str, str]:
    import csv

    with images_tsv.open(newline="", encoding="utf-8") as fh:
        return {r["path"]: r["identity"] for r in csv.DictReader(fh, delimiter="\t")}


def configured_normaliser(
    settings: ProctorSettings, pipe: Pipeline, images_tsv: Path | None
) -> tuple[PathNormaliser | None, dict[str, Any], OperatingPolicy]:
    """The bench's s-norm as the service would run it, the policy description, and the
    operating policy (with the bench cohort named) that decides every pair."""
    lc = bench_cohort(settings, pipe, images_tsv)
    policy = bench_policy(settings, pipe, lc)
    described = describe(settings, pipe, lc)
    # the algorithm figures' z threshold: the operating target FMR's (as H21 measured);
    # the decided figures use the policy's zones
    from proctor.cohort_wiring import snorm_points

    found = snorm_points(settings, pipe.model_id)
    if lc is None or found is None:
        return None, described, policy
    ids = identities_of(images_tsv) if images_tsv is not None and images_tsv.exists() else {}
    return PathNormaliser(lc, ids, found[0]), described, policy
