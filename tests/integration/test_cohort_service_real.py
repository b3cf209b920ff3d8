"""The service's cohort with the real pipeline and storage (issue 21).

Below ``cohort_min_size`` the container's pipelines decide on raw L2 (no z on the result)
and the status says why; once enough references are enrolled, a refresh turns s-norm on
for the next comparison, with the driver's own reference left out of the cohort.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.bootstrap import build_container
from proctor.config import ProctorSettings
from proctor.errors import EnrollmentRejected
from proctor.types import Verdict

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow, pytest.mark.data]


def _others(face_data: Path, n: int) -> list[Path]:
    """The first ``n`` East-Asian dev people (one photo each) for other drivers."""
    import csv

    with (face_data / "images.tsv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["set"] == "asian-dev"]
    seen: dict[str, Path] = {}
    for r in rows:
        seen.setdefault(r["identity"], face_data / r["path"])
    return list(seen.values())[:n]


def test_raw_fallback_then_snorm_after_refresh(
    tmp_path: Path, portraits: Path, face_data: Path
) -> None:
    s = ProctorSettings(
        data_dir=tmp_path, cohort_min_size=4, cohort_size=10, cpu_workers=1, liveness_bursts=False
    )
    c = build_container(s)
    try:
        assert c.cohort is not None
        status = c.cohort.holder.status
        assert (status.mode, status.reason, status.size) == ("raw", "cohort_too_small", 0)
        ref = c.pipeline.enroll([(portraits / "obama.jpg").read_bytes()])
        raw = c.pipeline.verify(ref, (portraits / "obama2.jpg").read_bytes())
        assert raw.score is None and raw.distance is not None  # raw thresholds decided

        storage_refs = {"sk-obama": ref}
        storage_refs["sk-biden"] = c.pipeline.enroll([(portraits / "biden.jpg").read_bytes()])
        for i, path in enumerate(_others(face_data, 12)):
            if len(storage_refs) == 5:
                break
            try:  # the reference quality policy refuses some press photos
                storage_refs[f"sk-o{i}"] = c.pipeline.enroll([path.read_bytes()])
            except EnrollmentRejected:
                continue
        from proctor.storage.uow import open_storage

        storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
        with storage.uow() as uow:
            for key, t in storage_refs.items():
                uow.templates.put(key, t, c.clock.now())
            uow.commit()
        storage.engine.dispose()

        status = c.cohort.refresh()
        assert (status.mode, status.size) == ("snorm", 5)
        same = c.pipeline.verify(ref, (portraits / "obama2.jpg").read_bytes())
        other = c.pipeline.verify(ref, (portraits / "biden.jpg").read_bytes())
        assert same.score is not None and other.score is not None
        assert same.score_threshold == c.pipeline.match_policy.snorm_threshold
        assert same.score > other.score
        assert other.verdict is Verdict.NO_MATCH
        assert same.distance == pytest.approx(raw.distance)  # same pixels, now normalised
    finally:
        c.close()
