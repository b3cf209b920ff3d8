"""A genuine East-Asian dev pair whose real distance the shipped zones call *uncertain*."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from proctor.config import ProctorSettings
from proctor.errors import ProctorError
from proctor.operating_policy import load_operating_policy
from proctor.pipeline import Pipeline


def uncertain_pair(
    face_data: Path, pipeline: Pipeline, as_captured: Callable[[bytes], bytes] | None = None
) -> tuple[bytes, bytes, bytes]:
    """(reference, entry capture, a third photo of the same person as the ID-holding
    stand-in): chosen by measuring, so the test follows the shipped operating points.
    ``as_captured`` turns a photo into what the service will receive (e.g. a webcam frame
    of it); the pair is judged on that."""
    zones = load_operating_policy(ProctorSettings(), pipeline.model_id).reference
    by_person: dict[str, list[Path]] = {}
    with (face_data / "asian_dev_pairs.tsv").open() as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["same"] == "1"]
    for r in rows:
        for p in (r["path_a"], r["path_b"]):
            by_person.setdefault(p.rsplit("-", 1)[0], []).append(face_data / p)
    for r in rows[:60]:
        a, b = (face_data / r["path_a"]).read_bytes(), (face_data / r["path_b"]).read_bytes()
        try:
            template = pipeline.enroll([a])
            res = pipeline.measure(template, as_captured(b) if as_captured else b)
        except ProctorError:  # refused images (format, no face) are not this test's subject
            continue
        if res.reference_l2 is None:  # the face stage refused it
            continue
        if zones.match_l2 < res.reference_l2 <= zones.no_match_l2:
            names = (Path(r["path_a"]).name, Path(r["path_b"]).name)
            third = [p for p in by_person[r["path_a"].rsplit("-", 1)[0]] if p.name not in names]
            return a, b, (third[0].read_bytes() if third else a)
    pytest.skip("no genuine dev pair falls inside the shipped uncertain zone in 60 pairs")
