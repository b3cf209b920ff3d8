"""Capture schedule and challenge tests."""

from __future__ import annotations

import itertools
import random
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proctor.capture import CapturePolicy, exam_capture_plan, study_capture_offsets_s
from proctor.capture.challenge import new_challenge_id
from proctor.capture.schedule import default_rng


@given(seed=st.integers(0, 2**32))
def test_study_schedule_density_and_gap(seed: int) -> None:
    policy = CapturePolicy()
    offsets = study_capture_offsets_s(policy, random.Random(seed))
    assert list(offsets) == sorted(offsets)
    points = [0.0, *offsets]  # entry check at 0
    assert all(b - a >= policy.study_min_gap_s - 1e-9 for a, b in itertools.pairwise(points))
    blocks = int(policy.study_horizon_s // policy.study_block_s)
    for i in range(blocks):
        lo, hi = i * policy.study_block_s, (i + 1) * policy.study_block_s
        assert sum(lo <= o < hi for o in offsets) >= policy.study_captures_per_block


def test_study_schedule_is_not_predictable() -> None:
    policy = CapturePolicy()
    firsts = {round(study_capture_offsets_s(policy, random.Random(s))[0]) for s in range(200)}
    assert len(firsts) > 150  # no fixed place


def test_exam_plan_random_question_not_first() -> None:
    policy = CapturePolicy()
    seen = set()
    for s in range(100):
        plan = exam_capture_plan(policy, random.Random(s), 20)
        assert len(plan.random_at_questions) == 1
        assert 1 <= plan.random_at_questions[0] <= 19
        seen.add(plan.random_at_questions[0])
    assert len(seen) > 10


def test_default_rng_is_csprng() -> None:
    assert isinstance(default_rng(), secrets.SystemRandom)
    a, b = new_challenge_id(default_rng()), new_challenge_id(default_rng())
    assert a != b and len(a) == 32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"challenge_ttl_s": 0},
        {"study_block_s": 600.0, "study_min_gap_s": 300.0},
        {"max_consecutive_failures": 0},
        {"exam_random_captures": 0},
    ],
)
def test_policy_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CapturePolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_defaults_have_units() -> None:
    p = CapturePolicy()
    assert p.challenge_ttl_s == 90.0
    assert p.max_consecutive_failures == 3
    assert p.retry_guidance == "请正对摄像头"
