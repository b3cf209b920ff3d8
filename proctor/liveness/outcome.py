"""From a burst judgement to a session ``ComparisonOutcome`` (pure core).

A burst passes when its liveness passes *and* its best frame matches the
reference (with the snapshot's replay checks). A failed liveness is a failed
attempt, a strike like a mismatch; its reasons come first. It also raises the
``spoof_suspected`` flag for a human, unless the only problem was too few
usable frames (a poor camera is not evidence of a spoof). A flag never
blacklists by itself (PIPL Art. 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from proctor.liveness.judge import LandmarkSeries, LivenessReason, LivenessResult
from proctor.liveness.replay import ReplayCheck
from proctor.session.outcome import ComparisonOutcome, FlagPolicy, outcome_from_result
from proctor.session.states import FailureReason, FlagReason
from proctor.types import Template, VerificationResult


@dataclass(frozen=True, slots=True)
class BurstJudgement:
    """Liveness of the burst and the best frame's verification against the reference."""

    liveness: LivenessResult
    verification: VerificationResult | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    frames_decoded: int = 0
    frames_with_face: int = 0
    chosen_frames: tuple[int, ...] = ()
    # What the judgement saw (for evaluation; never persisted).
    series: LandmarkSeries | None = field(default=None, repr=False)
    identity_l2: tuple[float, ...] = ()


class BurstJudge(Protocol):
    """Port: judge a burst (list of image bytes, or one WebM/MP4 clip) for ``actions``.

    Raises an ``ImageError`` subclass for an unusable upload.
    """

    def judge_burst(
        self, reference: Template, upload: Sequence[bytes] | bytes, actions: Sequence[str]
    ) -> BurstJudgement: ...


NOT_SPOOF_EVIDENCE = frozenset({LivenessReason.TOO_FEW_FRAMES.value})


def outcome_from_burst(
    judgement: BurstJudgement,
    replay: ReplayCheck | None = None,
    policy: FlagPolicy | None = None,
) -> ComparisonOutcome:
    live = judgement.liveness
    result = judgement.verification
    timings = {f"burst_{k}": v for k, v in judgement.timings_ms.items()}
    if result is None:
        base = ComparisonOutcome(False, (FailureReason.NO_FACE.value,), timings_ms=timings)
    else:
        base = outcome_from_result(result, replay, policy)
    if live.passed:
        return replace(base, timings_ms={**base.timings_ms, **timings})
    flags = list(base.flags)
    if set(live.reasons) - NOT_SPOOF_EVIDENCE:
        flags.append(FlagReason.SPOOF_SUSPECTED.value)
    return ComparisonOutcome(
        passed=False,
        reasons=tuple(dict.fromkeys((*live.reasons, *base.reasons))),
        flags=tuple(dict.fromkeys(flags)),
        distance=base.distance,
        threshold=base.threshold,
        model_id=base.model_id,
        timings_ms={**base.timings_ms, **timings},
    )
