"""The one OperatingPolicy: loaded from the shipped files, validated at start, immutable,
and the figures the README and the model card lead with (issue 16)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from proctor.config import ProctorSettings
from proctor.embedding.registry import default_models_dir
from proctor.operating_policy import OperatingPolicyInvalid, load_operating_policy

ROOT = Path(__file__).resolve().parents[2]


def _models_copy(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    shutil.copytree(default_models_dir(), models, ignore=shutil.ignore_patterns("*.onnx*", "cards"))
    return models


def test_shipped_policy_has_every_kind_and_a_stable_id() -> None:
    p = load_operating_policy(ProctorSettings())
    kinds = p.by_kind()
    assert set(kinds) == {
        "entry",
        "anchored",
        "flags",
        "reference_replay",
        "replay",
        "snorm",
        "fusion",
        "two_references",
        "light_code",
        "continuity",
    }
    off = ProctorSettings(liveness_light_code=False, liveness_continuity=False)
    assert not {"light_code", "continuity"} & set(load_operating_policy(off).by_kind())
    assert kinds["entry"]["reference_match_l2"] < kinds["entry"]["reference_no_match_l2"]
    assert p.policy_id == load_operating_policy(ProctorSettings()).policy_id
    assert p.policy_id.startswith(p.model_id + "@")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.anchor = None  # type: ignore[misc]


@pytest.mark.parametrize("doc", ["README.md", "models/cards/dlib_resnet_v1_q8.md"])
def test_docs_lead_with_the_thresholds_that_decide(doc: str) -> None:
    text = (ROOT / doc).read_text("utf-8")
    p = load_operating_policy(ProctorSettings())
    for kind in ("entry", "anchored", "two_references"):
        for name, value in p.by_kind()[kind].items():
            assert f"**{value:.4f}**" in text, (doc, kind, name, value)


def test_what_is_asked_for_but_not_calibrated_refuses_to_start(tmp_path: Path) -> None:
    models = _models_copy(tmp_path)
    (models / "operating_points.toml").write_text("", "utf-8")
    with pytest.raises(OperatingPolicyInvalid) as exc:
        load_operating_policy(ProctorSettings(models_dir=models))
    assert exc.value.code == "operating_policy_invalid"
    # turned off, the registry's single threshold decides and the policy says so
    plain = load_operating_policy(
        ProctorSettings(
            models_dir=models, three_zones=False, session_anchor=False, two_references=False
        )
    )
    assert plain.two_references is None
    assert plain.anchor is None and plain.reference.match_l2 == plain.reference.no_match_l2
    assert "three zones off" in plain.sources["reference"]
    with pytest.raises(OperatingPolicyInvalid):
        load_operating_policy(ProctorSettings(zone_match_fmr="0.5"))  # no such point


def test_a_moved_threshold_moves_the_policy_id(tmp_path: Path) -> None:
    models = _models_copy(tmp_path)
    shipped = load_operating_policy(ProctorSettings())
    text = (models / "operating_points.toml").read_text("utf-8")
    old = shipped.reference.match_l2
    (models / "operating_points.toml").write_text(
        text.replace(f"threshold = {old!r}", "threshold = 0.38", 1), "utf-8"
    )
    moved = load_operating_policy(ProctorSettings(models_dir=models))
    assert moved.reference.match_l2 == 0.38 and moved.policy_id != shipped.policy_id


def test_two_references_come_from_their_own_calibration(tmp_path: Path) -> None:
    """The two-reference rule's zones are the calibrated ``<population>-two-references``
    points of the configured rule (z with s-norm, L2 without); asked for but not calibrated
    refuses to start; switched off, none."""
    from proctor.calibration.points import load_points

    shipped = load_operating_policy(ProctorSettings())
    two = shipped.two_references
    assert two is not None and two.rule == "mean" and two.normalised
    s = ProctorSettings()
    table = load_points(default_models_dir())[shipped.model_id]["asian-dev-two-references"]
    assert two.match_z == table["two_reference_mean"][s.zone_match_fmr]["threshold"]
    assert two.no_match_l2 == table["two_reference_mean_raw_l2"][s.zone_no_match_fmr]["threshold"]
    assert two.loose_z == table["two_reference_mean_eer_threshold"]
    assert "two_references" in shipped.sources
    other = load_operating_policy(ProctorSettings(two_reference_rule="max"))
    assert other.two_references is not None and other.two_references.rule == "max"
    assert other.policy_id != shipped.policy_id
    raw = load_operating_policy(ProctorSettings(cohort_source="off"))
    assert raw.two_references is not None and not raw.two_references.normalised
    assert load_operating_policy(ProctorSettings(two_references=False)).two_references is None
    models = _models_copy(tmp_path)
    text = (models / "operating_points.toml").read_text("utf-8")
    (models / "operating_points.toml").write_text(
        text.replace("two_reference_mean_raw_l2]", "two_reference_gone]"), "utf-8"
    )
    with pytest.raises(OperatingPolicyInvalid) as exc:
        load_operating_policy(ProctorSettings(models_dir=models))
    assert "two-reference" in exc.value.details["missing"]
