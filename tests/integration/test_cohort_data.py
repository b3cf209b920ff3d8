"""Cohort normalisation on the shared dev data, leave-identities-out, computed live."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from proctor.calibration.cohort_file import sample_one_per_identity, save_cohort
from proctor.calibration.core import eer, operating_points
from proctor.calibration.evaluate import ScoredPairs, score_leave_identities_out
from proctor.calibration.runner import LabelledSet, embed_labelled, read_images_tsv
from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline
from proctor.types import Verdict

pytestmark = [pytest.mark.model, pytest.mark.data, pytest.mark.slow]


def _score(data: LabelledSet) -> ScoredPairs:
    return score_leave_identities_out(data.vectors, data.identities, folds=3, top_k=50)


def _fnmr_at_1pct(gen: np.ndarray, imp: np.ndarray) -> float:
    (op,) = operating_points(gen, imp, [0.01], n_boot=0)
    return op.fnmr


@pytest.fixture(scope="module")
def asian(pipeline: Pipeline, face_data: Path) -> LabelledSet:
    return embed_labelled(
        pipeline, face_data, read_images_tsv(face_data / "images.tsv", "asian-dev")
    )


@pytest.fixture(scope="module")
def lfw(pipeline: Pipeline, face_data: Path) -> LabelledSet:
    return embed_labelled(pipeline, face_data, read_images_tsv(face_data / "images.tsv", "lfw-dev"))


def test_snorm_cuts_east_asian_fnmr_by_a_third(asian: LabelledSet) -> None:
    s = _score(asian)
    assert len(s.raw_genuine) >= 200 and len(s.raw_impostor) >= 10_000
    raw = _fnmr_at_1pct(s.raw_genuine, s.raw_impostor)
    norm = _fnmr_at_1pct(s.norm_genuine, s.norm_impostor)
    assert norm <= raw * 2 / 3, (raw, norm)
    assert eer(s.norm_genuine, s.norm_impostor)[0] < eer(s.raw_genuine, s.raw_impostor)[0]


def test_snorm_does_not_regress_lfw_beyond_noise(lfw: LabelledSet) -> None:
    s = _score(lfw)
    noise = 3 / len(s.raw_genuine)  # three genuine pairs
    assert eer(s.norm_genuine, s.norm_impostor)[0] <= eer(s.raw_genuine, s.raw_impostor)[0] + noise
    raw = _fnmr_at_1pct(s.raw_genuine, s.raw_impostor)
    assert _fnmr_at_1pct(s.norm_genuine, s.norm_impostor) <= raw + noise


def test_pipeline_with_a_cohort_uses_the_calibrated_snorm_threshold(
    asian: LabelledSet, portraits: Path, tmp_path: Path
) -> None:
    from proctor.bootstrap import build_pipeline
    from proctor.calibration.points import load_points
    from proctor.embedding.registry import default_models_dir, model_spec
    from proctor.operating_policy import load_operating_policy
    from proctor.testing.real import decide_alone

    model = model_spec().model_id  # the default model: the one the pipeline runs
    cohort = tmp_path / "cohort.npz"
    save_cohort(cohort, model, sample_one_per_identity(asian.vectors, asian.identities, 1000))
    settings = ProctorSettings(cohort_path=cohort, three_zones=False)
    pipe = build_pipeline(settings)
    policy = load_operating_policy(settings, pipe.model_id)
    # the shipped cohort rule's points (issue 21) when calibrated, else the fold cohort's
    pop = load_points(default_models_dir())[model]["asian-dev"]
    expected = (pop.get("snorm_references") or pop["snorm"])["0.01"]
    assert policy.reference.match_z == expected["threshold"]
    assert policy.by_kind()["entry"]["reference_match_z"] == expected["threshold"]

    ref = pipe.enroll([(portraits / "obama.jpg").read_bytes()])
    assert ref.cohort_mean_l2 is not None and ref.cohort_std_l2 is not None
    same_m = pipe.measure(ref, (portraits / "obama2.jpg").read_bytes())
    other_m = pipe.measure(ref, (portraits / "biden.jpg").read_bytes())
    same, other = decide_alone(same_m, policy), decide_alone(other_m, policy)
    assert same.verdict is Verdict.MATCH and same_m.reference_z is not None
    assert same_m.reference_z >= expected["threshold"]
    assert same.distances["reference_z"] == same_m.reference_z
    assert other.verdict is Verdict.NO_MATCH and other_m.reference_z is not None
    assert other_m.reference_z < same_m.reference_z

    # The threshold is data: a different operating-points file moves it.
    models = tmp_path / "models"
    shutil.copytree(default_models_dir(), models, ignore=shutil.ignore_patterns("*.onnx", "cards"))
    text = (models / "operating_points.toml").read_text()
    (models / "operating_points.toml").write_text(
        text.replace(f"threshold = {expected['threshold']!r}", "threshold = 99.0", 1)
    )
    strict = load_operating_policy(
        ProctorSettings(cohort_path=cohort, models_dir=models, three_zones=False), pipe.model_id
    )
    assert strict.reference.match_z == 99.0 and strict.policy_id != policy.policy_id
    assert decide_alone(same_m, strict).verdict is Verdict.NO_MATCH
