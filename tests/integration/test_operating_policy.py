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


@pytest.mark.parametrize("doc", ["README.md", "models/cards/dlib_resnet_v1.md"])
def test_docs_lead_with_the_thresholds_that_decide(doc: str) -> None:
    text = (ROOT / doc).read_text("utf-8")
    p = load_operating_policy(ProctorSettings())
    for kind in ("entry", "anchored"):
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
        ProctorSettings(models_dir=models, three_zones=False, session_anchor=False)
    )
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
