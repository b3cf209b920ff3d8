"""The burst judge's port and its result (pure core).

A burst is *measured* here (liveness outcome, the best frame's face measurement); it is
decided with every other capture by ``proctor.decision.capture.decide_capture``: a failed
liveness is a failed attempt, a strike like a mismatch, with its reasons first and the
``spoof_suspected`` flag for a human unless the only problem was too few usable frames.
A flag never blacklists by itself (PIPL Art. 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from proctor.liveness.continuity import ContinuityMeasures
from proctor.liveness.judge import LandmarkSeries, LivenessResult
from proctor.liveness.light_code import ColourSample
from proctor.types import FaceMeasurement, RGBImage, Template


@dataclass(frozen=True, slots=True)
class BurstJudgement:
    """Liveness of the burst and the best frame's verification against the reference."""

    liveness: LivenessResult
    verification: FaceMeasurement | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    frames_decoded: int = 0
    frames_with_face: int = 0
    chosen_frames: tuple[int, ...] = ()
    # What the judgement saw (for evaluation; never persisted).
    series: LandmarkSeries | None = field(default=None, repr=False)
    identity_l2: tuple[float, ...] = ()
    # Issue 20 evidence, measured on the tracked frames (numbers only, never persisted):
    # every decoded frame's time, which frames were tracked, each tracked frame's skin and
    # background colours (for the light code, measured against it by the session), and the
    # frame-to-frame jumps (continuity).
    frame_times_s: tuple[float, ...] = field(default=(), repr=False)
    tracked: tuple[int, ...] = field(default=(), repr=False)
    colours: tuple[ColourSample, ...] = field(default=(), repr=False)
    continuity: ContinuityMeasures | None = field(default=None, repr=False)


class DecodedFrames(Protocol):
    """A burst decoded once, before its challenge is claimed (``check_burst``)."""

    @property
    def frames(self) -> tuple[RGBImage, ...]: ...

    @property
    def times_s(self) -> tuple[float, ...]: ...


BurstUpload = Sequence[bytes] | bytes


class BurstJudge(Protocol):
    """Port: judge a burst (list of image bytes, or one WebM/MP4 clip) for ``actions``.

    ``decoded`` is the upload's ``check_burst`` result when the caller decoded it first
    (it travels explicitly: no second decode). Raises an ``ImageError`` subclass for an
    unusable upload.
    """

    def judge_burst(
        self,
        reference: Template,
        upload: BurstUpload,
        actions: Sequence[str],
        decoded: DecodedFrames | None = None,
    ) -> BurstJudgement: ...


class BurstChecker(Protocol):
    """Port: decode a burst only, raising its ``ImageError`` before anything is claimed."""

    def check_burst(self, upload: BurstUpload) -> DecodedFrames: ...
