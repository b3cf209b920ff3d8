"""Server-side capture schedules drawn from an injected (by default CSPRNG) random source.

Study: offsets in seconds from session open. Block ``i`` covers
``[i * block, (i + 1) * block)`` and receives ``study_captures_per_block``
captures placed uniformly at random, each at least ``study_min_gap_s`` after the
previous one (including the entry check at offset 0 and the previous block's
last capture). Uniform placement with gaps uses the "shrink, draw, re-expand"
construction: draw k uniforms in ``length - (k - 1) * gap``, sort, add ``j * gap``.

Exam: the random captures are attached to question indices drawn at random from
``1 .. question_count - 1`` (question 0 already follows the start check); the
capture is issued the moment that question is shown.

The client never sees a schedule: it learns of a capture only when one is due.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from proctor.capture.policy import CapturePolicy


def default_rng() -> random.Random:
    """The production random source: the OS CSPRNG."""
    return secrets.SystemRandom()


def study_capture_offsets_s(policy: CapturePolicy, rng: random.Random) -> tuple[float, ...]:
    """Random capture offsets (seconds after open) over ``policy.study_horizon_s``."""
    k = policy.study_captures_per_block
    gap = policy.study_min_gap_s
    offsets: list[float] = []
    last = 0.0  # the entry check
    block_start = 0.0
    while block_start < policy.study_horizon_s:
        block_end = block_start + policy.study_block_s
        lo = max(block_start, last + gap)
        free = (block_end - lo) - (k - 1) * gap
        if free <= 0:  # excluded by CapturePolicy validation; kept as a guard
            raise ValueError("capture policy leaves no room in a block")
        draws = sorted(rng.random() * free for _ in range(k))
        block = [lo + d + j * gap for j, d in enumerate(draws)]
        offsets.extend(block)
        last = block[-1]
        block_start = block_end
    return tuple(offsets)


@dataclass(frozen=True, slots=True)
class ExamCapturePlan:
    """Question indices (0-based) whose showing triggers a random capture."""

    random_at_questions: tuple[int, ...]


def exam_capture_plan(
    policy: CapturePolicy, rng: random.Random, question_count: int
) -> ExamCapturePlan:
    """Pick distinct random question indices for the in-exam captures."""
    if question_count < 1:
        raise ValueError("an exam needs at least one question")
    candidates = list(range(1, question_count)) or [0]
    n = min(policy.exam_random_captures, len(candidates))
    return ExamCapturePlan(tuple(sorted(rng.sample(candidates, n))))
