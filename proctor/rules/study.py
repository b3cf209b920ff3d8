"""Online study time accounting (GF2020; 163 第27条).

A :class:`StudySegment` is one continuous period of verified study reported by the proctoring core:
a failed face check ends the current segment. Only the part inside the study window counts, a
segment counts only if that part lasts at least ``min_segment_minutes``, and segments of a session
terminated by face checks (``terminated_sessions``) never count.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from proctor.rules.deadlines import Window
from proctor.rules.policy import StudyPolicy
from proctor.rules.timeutil import require_aware


@dataclass(frozen=True, slots=True)
class StudySegment:
    started_at: datetime
    ended_at: datetime
    session_id: str = "s1"

    def __post_init__(self) -> None:
        require_aware(self.started_at, "started_at")
        require_aware(self.ended_at, "ended_at")
        if self.ended_at < self.started_at:
            raise ValueError("a study segment cannot end before it starts")


def counted_seconds(
    segments: Iterable[StudySegment],
    window: Window,
    policy: StudyPolicy,
    terminated_sessions: Collection[str] = (),
) -> int:
    """Total valid study time in whole seconds."""
    minimum = timedelta(minutes=policy.min_segment_minutes)
    total = timedelta()
    for seg in segments:
        if seg.session_id in terminated_sessions:
            continue
        start = max(seg.started_at, window.opens_at)
        end = min(seg.ended_at, window.deadline.ends_at)
        if end - start >= minimum:
            total += end - start
    return int(total.total_seconds())


def study_complete(seconds: int, policy: StudyPolicy) -> bool:
    return seconds >= policy.required_total_minutes * 60


def consecutive_failures_reached(results: Sequence[bool], limit: int) -> bool:
    """True once ``limit`` face checks in a row failed; a pass resets the count."""
    run = 0
    for passed in results:
        run = 0 if passed else run + 1
        if run >= limit:
            return True
    return False
