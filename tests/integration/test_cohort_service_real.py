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
from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.errors import EnrollmentRejected
from proctor.types import Verdict

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow, pytest.mark.data]


ENTRY = CaptureContext()


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
        assert c.live_policy is not None and c.policy is not None
        raw_policy = c.live_policy()
        assert raw_policy.cohort_id is None and raw_policy.policy_id == c.policy.policy_id
        raw = c.pipeline.measure(ref, (portraits / "obama2.jpg").read_bytes())
        assert raw.reference_z is None and raw.reference_l2 is not None  # raw limits decide
        raw_decided = decide_capture(CaptureMeasurements.of_face(raw), ENTRY, raw_policy)
        assert "reference_z" not in raw_decided.distances

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
        live = c.live_policy()  # the refreshed cohort is named: another policy id
        assert live.cohort_id == status.cohort_id and live.policy_id != raw_policy.policy_id
        same = c.pipeline.measure(ref, (portraits / "obama2.jpg").read_bytes())
        other = c.pipeline.measure(ref, (portraits / "biden.jpg").read_bytes())
        assert same.reference_z is not None and other.reference_z is not None
        assert same.reference_z > other.reference_z
        decided = decide_capture(CaptureMeasurements.of_face(other), ENTRY, live)
        assert decided.verdict is Verdict.NO_MATCH and decided.policy_id == live.policy_id
        assert decided.distances["reference_z"] == other.reference_z
        assert decided.thresholds["reference_no_match_z"] == live.reference.no_match_z
        assert same.reference_l2 == pytest.approx(raw.reference_l2)  # same pixels, normalised
    finally:
        c.close()
