"""Rule data loading: every value has a source; bad data is rejected with a clear message."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from proctor.rules.errors import RulesDataInvalid
from proctor.rules.policy import CapOverflow, RulesPolicy, load_policy, parse_policy

SECTIONS = ("points", "cycle", "eligibility", "study", "exam", "review", "fraud", "calendar")


def _raw() -> dict[str, Any]:
    text = resources.files("proctor.rules.data").joinpath("xfjf_2022-04-01.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_every_policy_field_has_a_cited_source() -> None:
    policy = load_policy()
    for section in SECTIONS:
        for field in dataclasses.fields(getattr(policy, section)):
            source = policy.sources[f"{section}.{field.name}"]
            assert source.strip(), (section, field.name)


def test_values_match_the_regulation_summary() -> None:
    # DOMAIN.md (a): 12-point full score, 6 per cycle, 20 questions x 60 s, 3 misses, 2 retakes
    p = load_policy()
    assert (p.points.full_score_points, p.points.cycle_cap_points) == (12, 6)
    assert (p.exam.question_count, p.exam.per_question_limit_s) == (20, 60)
    assert (p.exam.fail_on_wrong_count, p.exam.pass_min_correct, p.exam.max_retakes) == (3, 18, 2)
    assert (p.study.window_calendar_days, p.exam.window_working_days) == (3, 7)
    assert p.review.decision_working_days == 3
    assert p.study.roll_forward_to_workday  # lawful default, 163 第36条


def test_inconsistent_pass_mark_is_rejected() -> None:
    raw = _raw()
    raw["exam"]["pass_min_correct"]["value"] = 16
    with pytest.raises(RulesDataInvalid, match="pass_min_correct"):
        parse_policy(raw)


@pytest.mark.parametrize(
    ("section", "key", "value", "fragment"),
    [
        ("points", "cap_overflow", "maybe", "not an allowed value"),
        ("points", "cycle_cap_points", -1, "non-negative"),
        ("study", "roll_forward_to_workday", "yes", "true/false"),
        ("exam", "question_count", True, "non-negative"),
    ],
)
def test_bad_values_are_rejected(section: str, key: str, value: Any, fragment: str) -> None:
    raw = _raw()
    raw[section][key]["value"] = value
    with pytest.raises(RulesDataInvalid, match=fragment):
        parse_policy(raw)


def test_missing_source_is_rejected() -> None:
    raw = _raw()
    del raw["review"]["request_window_hours"]["source"]
    with pytest.raises(RulesDataInvalid, match="request_window_hours"):
        parse_policy(raw)


def test_unknown_key_is_rejected() -> None:
    raw = _raw()
    raw["exam"]["bonus_points"] = {"value": 1, "source": "x"}
    with pytest.raises(RulesDataInvalid, match="unknown keys"):
        parse_policy(raw)


def test_operator_rule_file(tmp_path: Path) -> None:
    text = resources.files("proctor.rules.data").joinpath("xfjf_2022-04-01.toml").read_text("utf-8")
    path = tmp_path / "rules.toml"
    path.write_text(text.replace('value = "clamp"', 'value = "refuse"'), encoding="utf-8")
    assert load_policy(path).points.cap_overflow is CapOverflow.REFUSE
    path.write_text("[meta\n", encoding="utf-8")
    with pytest.raises(RulesDataInvalid, match="TOML"):
        load_policy(path)


def test_with_settings_converts_and_validates() -> None:
    policy: RulesPolicy = load_policy().with_settings(points={"cap_overflow": "refuse"})
    assert policy.points.cap_overflow is CapOverflow.REFUSE
    with pytest.raises(RulesDataInvalid, match="unknown settings"):
        policy.with_settings(points={"nope": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.points.cycle_cap_points = 7  # type: ignore[misc]
