"""What a benchmark ran: the operating policy as configured, named in every report.

``policy_digest`` hashes the threshold files the service loads (``registry.toml`` and
``operating_points.toml``); the report adds the cohort (source, size, id) and the
multi-frame fusion setting. When the one ``OperatingPolicy`` of the decide-once issue
lands, its own digest replaces ``policy_digest`` here (one name for one policy).

``bench_cohort`` is the cohort *as configured* on labelled dev data:
- ``cohort_source = "references"`` (the default): the dev set's people stand for the
  enrolled drivers, one image per identity pooled over ``populations`` (one cohort for
  all), each comparison leaving out the reference's identity (its only row in production);
- ``cohort_path`` set: that file, each comparison leaving out the reference's own row;
- ``cohort_source = "off"``: none (raw thresholds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from proctor.calibration.reference_cohort import LabelledCohort, labelled_cohort
from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline

POLICY_FILES = ("registry.toml", "operating_points.toml")
DEV_POPULATIONS = ("asian-dev", "lfw-dev")


def policy_digest(models_dir: Path) -> str:
    h = hashlib.sha256()
    for name in POLICY_FILES:
        h.update(name.encode() + b"\0" + (models_dir / name).read_bytes())
    return h.hexdigest()[:16]


def bench_cohort(
    settings: ProctorSettings,
    pipe: Pipeline,
    images_tsv: Path | None,
    populations: Sequence[str] = DEV_POPULATIONS,
) -> LabelledCohort | None:
    from proctor.cohort_wiring import snorm_points

    if settings.cohort_source == "off":
        return None
    found = snorm_points(settings, pipe.model_id)
    if found is None:
        return None
    _, top_k = found
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
    from proctor.embedding.registry import default_models_dir

    models_dir = settings.models_dir or default_models_dir()
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
        "policy_digest": policy_digest(models_dir),
        "files": list(POLICY_FILES),
        "operating_population": settings.operating_population,
        "operating_target_fmr": settings.operating_target_fmr,
        "zones_fmr": [settings.zone_match_fmr, settings.zone_no_match_fmr],
        "cohort": c,
        "fusion": {"k": settings.fusion_k, "weighting": settings.fusion_weighting},
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
) -> tuple[PathNormaliser | None, dict[str, Any]]:
    """The bench's s-norm as the service would run it, and the policy description."""
    from proctor.cohort_wiring import snorm_points

    lc = bench_cohort(settings, pipe, images_tsv)
    found = snorm_points(settings, pipe.model_id)
    described = describe(settings, pipe, lc)
    if lc is None or found is None:
        return None, described
    ids = identities_of(images_tsv) if images_tsv is not None and images_tsv.exists() else {}
    return PathNormaliser(lc, ids, found[0]), described
