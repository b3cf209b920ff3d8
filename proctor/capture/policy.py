"""CapturePolicy: every capture and three-strike parameter, with its unit in its name.

Defaults follow DOMAIN.md §G and issue 3: an entry check, at least two random
checks per 30 minutes of study with a minimum gap, an exam check at the start,
at least one at a random question and one after the last answer; challenges
expire after 90 s; the third consecutive failure terminates the session.
"""

from __future__ import annotations

from dataclasses import dataclass

from proctor.liveness.actions import parse_action_names


@dataclass(frozen=True, slots=True)
class CapturePolicy:
    """Frozen capture parameters. Durations are seconds (``_s``)."""

    challenge_ttl_s: float = 90.0
    study_block_s: float = 1800.0
    study_captures_per_block: int = 2
    study_min_gap_s: float = 300.0
    study_horizon_s: float = 4 * 3600.0
    exam_random_captures: int = 1
    max_consecutive_failures: int = 3
    retry_guidance: str = "请正对摄像头"
    # A comparison claimed but never decided (server crash mid-compare) is given up after
    # this long; the driver is not blamed for it: no counter moves and a retry is issued.
    abandoned_comparison_s: float = 300.0
    # A session waiting for a manual identity review (uncertain entry check) that no
    # reviewer decides within this long ends as ``identity_review_expired``: not a strike
    # and not a flag; the driver starts a new session.
    identity_review_timeout_s: float = 24 * 3600.0
    # Liveness bursts (issue 10). Off by default; when on, entry and exam-start challenges
    # (and the retries of challenges that asked) always ask for 1-2 actions, and a random
    # capture asks with probability ``liveness_random_share``. Flat scalars: persisted.
    liveness_bursts: bool = False
    liveness_random_share: float = 0.3
    liveness_min_actions: int = 1
    liveness_max_actions: int = 2
    # comma-separated ``proctor.liveness.actions.Action`` values challenges draw from
    liveness_actions: str = "blink,turn_left,turn_right,open_mouth"

    def __post_init__(self) -> None:
        if self.challenge_ttl_s <= 0:
            raise ValueError("challenge_ttl_s must be positive")
        if self.identity_review_timeout_s <= 0:
            raise ValueError("identity_review_timeout_s must be positive")
        if self.study_captures_per_block < 1:
            raise ValueError("study_captures_per_block must be at least 1")
        if self.study_min_gap_s < 0:
            raise ValueError("study_min_gap_s must be non-negative")
        # Block i may have to start one gap after the last capture of block i-1; k captures
        # with k-1 inner gaps must still fit, with room left to be random.
        if self.study_block_s <= self.study_captures_per_block * self.study_min_gap_s:
            raise ValueError("study_block_s must exceed study_captures_per_block * study_min_gap_s")
        if self.study_horizon_s < self.study_block_s:
            raise ValueError("study_horizon_s must cover at least one block")
        if self.exam_random_captures < 1:
            raise ValueError("an exam needs at least one random capture")
        if self.max_consecutive_failures < 1:
            raise ValueError("max_consecutive_failures must be at least 1")
        if self.abandoned_comparison_s <= 0:
            raise ValueError("abandoned_comparison_s must be positive")
        if not 0.0 <= self.liveness_random_share <= 1.0:
            raise ValueError("liveness_random_share must be in [0, 1]")
        allowed = parse_action_names(self.liveness_actions)  # ValueError on unknown names
        if not 1 <= self.liveness_min_actions <= self.liveness_max_actions <= len(allowed):
            raise ValueError(
                "need 1 <= liveness_min_actions <= liveness_max_actions <= allowed actions"
            )
