"""From a ``VerificationResult`` (+ replay check) to a comparison outcome with reasons and flags.

Proxy evidence for the flag (never a blacklist by itself):
- ``proxy_face``: a mismatch whose distance is at least ``proxy_margin_l2``
  past the threshold on a face with no quality reasons (a clear face of someone else);
- ``extra_people``: more than one face in frame;
- ``replay``: the exact pixels of an earlier snapshot;
- ``replay_suspected``: a perceptual near-duplicate of an earlier snapshot or the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from proctor.liveness.replay import ReplayCheck
from proctor.session.states import FailureReason, FlagReason
from proctor.types import Verdict, VerificationResult


@dataclass(frozen=True, slots=True)
class FlagPolicy:
    proxy_margin_l2: float = 0.15

    def __post_init__(self) -> None:
        if self.proxy_margin_l2 < 0:
            raise ValueError("proxy_margin_l2 must be non-negative")


@dataclass(frozen=True, slots=True)
class ComparisonOutcome:
    """What the session needs to know about one decided comparison (no image data)."""

    passed: bool
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    distance: float | None = None
    threshold: float | None = None
    model_id: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Between the zones of a reference check: at entry this sends the driver to a
    # manual identity review instead of counting a strike.
    uncertain: bool = False

    def __post_init__(self) -> None:
        if not self.passed and not self.reasons:
            raise ValueError("a failed comparison needs a reason")
        if self.uncertain and self.passed:
            raise ValueError("an uncertain comparison has not passed")


def outcome_from_result(
    result: VerificationResult,
    replay: ReplayCheck | None = None,
    policy: FlagPolicy | None = None,
) -> ComparisonOutcome:
    policy = policy or FlagPolicy()
    replay = replay or ReplayCheck()
    reasons = list(result.reasons)
    flags: list[str] = []
    if replay.exact:
        reasons.insert(0, FailureReason.REPLAY.value)
        flags.append(FlagReason.REPLAY.value)
    elif replay.near:
        flags.append(FlagReason.REPLAY_SUSPECTED.value)
    if (
        FailureReason.FACE_MISMATCH.value in result.reasons
        and result.distance is not None
        and result.distance >= result.threshold + policy.proxy_margin_l2
        and not result.quality_reasons
    ):
        flags.append(FlagReason.PROXY_FACE.value)
    if FailureReason.MULTIPLE_FACES.value in result.reasons or result.face_count > 1:
        flags.append(FlagReason.EXTRA_PEOPLE.value)
    passed = result.matched and not replay.exact
    uncertain = result.verdict is Verdict.UNCERTAIN and not replay.exact
    if uncertain and FailureReason.IDENTITY_UNCERTAIN.value not in reasons:
        reasons.append(FailureReason.IDENTITY_UNCERTAIN.value)
    if not passed and not reasons:
        reasons.append(result.verdict.value)
    return ComparisonOutcome(
        passed=passed,
        reasons=tuple(dict.fromkeys(reasons)),
        flags=tuple(dict.fromkeys(flags)),
        distance=result.distance,
        threshold=result.threshold,
        model_id=result.model_id,
        timings_ms=dict(result.timings_ms),
        uncertain=uncertain,
    )


def with_reference_replay(
    outcome: ComparisonOutcome, reasons: tuple[str, ...]
) -> ComparisonOutcome:
    """A capture that is the reference photo or a copy of it (``reasons`` from
    ``proctor.liveness.reference_replay``) fails, whatever the comparison said, and is
    flagged for a human (issue 17). Never uncertain: no ID review for a copy."""
    if not reasons:
        return outcome
    return replace(
        outcome,
        passed=False,
        uncertain=False,
        reasons=tuple(dict.fromkeys((*outcome.reasons, *reasons))),
        flags=tuple(dict.fromkeys((*outcome.flags, *reasons))),
    )


def outcome_from_error(code: str) -> ComparisonOutcome:
    """An undecodable snapshot is a failed attempt whose reason is the image error's code."""
    return ComparisonOutcome(passed=False, reasons=(code,))
