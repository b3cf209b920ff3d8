"""Accuracy on the shared development sets (skips when ../shared/data/faces is absent).

Figures are computed live on every run, for us and for face_recognition side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proctor.bench.accuracy import rescore, run_accuracy
from proctor.pipeline import Pipeline
from proctor.testing.real import registry_policy

pytestmark = [pytest.mark.model, pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def lfw(pipeline: Pipeline, face_data: Path) -> dict[str, Any]:
    return run_accuracy(face_data / "lfw_dev_pairs.tsv", None, pipeline, baseline=True)


@pytest.fixture(scope="module")
def asian(pipeline: Pipeline, face_data: Path) -> dict[str, Any]:
    return run_accuracy(face_data / "asian_dev_pairs.tsv", None, pipeline)


def test_lfw_accuracy_at_least_face_recognition(lfw: dict[str, Any]) -> None:
    base = lfw["baseline"]
    assert lfw["pairs"] == base["pairs"] == 600
    # Threshold-free: the embedding pipeline separates at least as well.
    assert lfw["eer"] <= base["eer"]
    assert lfw["fnmr_at_fmr"]["0.01"] <= base["fnmr_at_fmr"]["0.01"]
    # Same decision rule (dlib's 0.6) on the same pairs: at least the same accuracy,
    # counting failed acquisitions as errors (system figures).
    ours_06 = rescore(lfw, 0.6)
    assert ours_06["system"]["accuracy"] >= base["system"]["accuracy"]
    assert lfw["fta"] <= base["fta"]


def test_asian_fmr_at_shipped_threshold_is_at_most_one_percent(
    asian: dict[str, Any], pipeline: Pipeline
) -> None:
    assert asian["threshold"] == registry_policy(pipeline.model_id).reference.match_l2
    assert asian["pairs_scored"] >= 0.9 * asian["pairs"]
    assert asian["fmr"] <= 0.01
    assert asian["system"]["fmr"] <= 0.01
