"""Active liveness judgement over a burst's 68-landmark time series (pure core).

Input: the burst's frame times (seconds from its first frame), the 68 landmarks
of the tracked face in every usable frame, the actions the challenge asked
for, and the L2 distances of a few witness frames' embeddings to the verified
(most frontal) frame's. Output: ``LivenessResult(passed, reasons, ...)``.

Checks, each with a stable reason code (never rename them):

- ``too_few_frames``: fewer usable frames than ``min_frames``, or the burst is
  shorter than ``min_duration_s`` or longer than ``max_duration_s``;
- ``action_missing``: a requested action was not seen anywhere in the burst;
- ``action_wrong_order``: every action was seen, but not in the requested order;
- ``flat_motion_suspected``: the face moved out of plane, yet a single
  homography explains the motion of its rigid points (a photo or a screen
  moved or tilted in front of the camera, not a head turning);
- ``identity_changed_in_burst``: a witness frame's embedding is farther than
  ``identity_max_l2`` from the verified (most frontal) frame's;
- ``liveness_passed``: none of the above.

Action detectors (times are those of the deciding frame):

- blink: the eye aspect ratio (corrected for pitch by the nose bridge's
  foreshortening) drops at least ``blink_min_drop`` (a fraction)
  below the burst's median and reopens to within half that drop afterwards, with
  an open frame before it;
- turn_left / turn_right: the yaw moves at least ``turn_min_deg`` (or
  ``turn_noise_factor`` × the burst's own yaw jitter, if larger) from the median yaw
  of the first frames, in the asked direction, for ``turn_min_frames`` frames in a row;
- open_mouth: the mouth aspect ratio reaches ``mouth_open_min_mar`` and rises at
  least ``mouth_open_min_rise`` above the burst's smallest value; every opening
  counts (the mouth closing in between), so talking before the asked one is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from proctor.liveness.actions import Action
from proctor.liveness.geometry import (
    Points,
    as_points,
    eye_aspect_ratios,
    homography_residuals_iod,
    mouth_aspect_ratios,
    nose_bridge_ratios,
    similarity_residuals_iod,
    stack_points,
    yaw_degs,
)


class LivenessReason(StrEnum):
    """Public, persisted reason codes: never rename them."""

    LIVENESS_PASSED = "liveness_passed"
    ACTION_MISSING = "action_missing"
    ACTION_WRONG_ORDER = "action_wrong_order"
    IDENTITY_CHANGED_IN_BURST = "identity_changed_in_burst"
    TOO_FEW_FRAMES = "too_few_frames"
    FLAT_MOTION_SUSPECTED = "flat_motion_suspected"


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """Thresholds of the judgement. Units are in the names (s, deg, l2; ratios unitless).

    ``*_iod`` lengths are in inter-ocular distances of the first frame.
    """

    min_frames: int = 8
    max_frames: int = 30
    min_duration_s: float = 0.8
    max_duration_s: float = 4.0
    blink_min_drop: float = 0.2
    turn_min_deg: float = 12.0
    mouth_open_min_mar: float = 0.35
    mouth_open_min_rise: float = 0.25
    flat_min_motion_iod: float = 0.08
    flat_max_residual_iod: float = 0.035
    # The flat test judges only bursts with out-of-plane motion in at least this many
    # frames: one frame's landmark slip made an honest burst "flat" (issue 20).
    flat_min_motion_frames: int = 2
    # Yaw noise floor (issue 20): the turn's baseline is the median yaw of the first
    # ``turn_baseline_frames`` frames, the yaw must stay past the threshold for
    # ``turn_min_frames`` consecutive frames, and the threshold rises to
    # ``turn_noise_factor`` × the burst's own yaw jitter (robust std of its second
    # differences) when that is larger than ``turn_min_deg``: sensor noise alone moved
    # one photo's yaw by 6.7° between single frames.
    turn_baseline_frames: int = 3
    turn_min_frames: int = 2
    turn_noise_factor: float = 5.0
    # ... but never above this: a fast real turn tracked through motion blur is jittery
    # itself (real.mov 6.2 s: 15° of "jitter" in a 58° turn).
    turn_noise_cap_deg: float = 20.0
    # A new mouth opening needs the ratio to fall below this fraction of the opening
    # threshold first (hysteresis: one opening is one event).
    mouth_close_fraction: float = 0.7
    # Calibrated on 299 sliding 2 s windows of 18 clips and on impostor frame pairs
    # (models/cards/liveness.md): 2.7% of genuine windows above, 3.8% of East-Asian
    # impostor pairs below.
    identity_max_l2: float = 0.5

    def __post_init__(self) -> None:
        if not 2 <= self.min_frames <= self.max_frames:
            raise ValueError("need 2 <= min_frames <= max_frames")
        if not 0 <= self.min_duration_s < self.max_duration_s:
            raise ValueError("need 0 <= min_duration_s < max_duration_s")
        if not 0 < self.blink_min_drop < 1:
            raise ValueError("blink_min_drop must be in (0, 1)")
        if self.turn_min_deg <= 0 or self.identity_max_l2 <= 0:
            raise ValueError("turn_min_deg and identity_max_l2 must be positive")
        if self.flat_min_motion_iod <= 0 or self.flat_max_residual_iod <= 0:
            raise ValueError("flat motion thresholds must be positive")
        if self.flat_min_motion_frames < 2:
            raise ValueError("the flat test needs at least 2 motion frames")
        if self.turn_baseline_frames < 1 or self.turn_min_frames < 1:
            raise ValueError("turn_baseline_frames and turn_min_frames must be >= 1")
        if self.turn_noise_factor < 0 or not 0 < self.mouth_close_fraction < 1:
            raise ValueError("need turn_noise_factor >= 0 and mouth_close_fraction in (0, 1)")


@dataclass(frozen=True, slots=True)
class ActionEvent:
    action: Action
    t_s: float
    frame: int


@dataclass(frozen=True, slots=True)
class LandmarkSeries:
    """Per usable frame: time (s from the burst's first frame) and 68 landmarks."""

    times_s: tuple[float, ...]
    points: tuple[Points, ...]

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.points):
            raise ValueError("one time per landmark set")
        if any(b < a for a, b in zip(self.times_s, self.times_s[1:], strict=False)):
            raise ValueError("frame times must not decrease")
        object.__setattr__(self, "points", tuple(as_points(p) for p in self.points))

    def __len__(self) -> int:
        return len(self.times_s)

    @property
    def duration_s(self) -> float:
        return self.times_s[-1] - self.times_s[0] if self.times_s else 0.0


@dataclass(frozen=True, slots=True)
class SeriesMeasures:
    ear: tuple[float, ...]
    mar: tuple[float, ...]
    yaw_deg: tuple[float, ...]

    @classmethod
    def of(cls, series: LandmarkSeries) -> SeriesMeasures:
        # A photo tilted about the horizontal axis squashes the eyes like a blink would;
        # so does a real nod. Dividing by the nose bridge's foreshortening (relative to
        # the first frame) cancels both, and a blink leaves the nose alone.
        pts = stack_points(series.points)
        bridge = nose_bridge_ratios(pts)
        b0 = float(bridge[0]) if len(bridge) and bridge[0] > 0 else 1.0
        tilt = np.where(bridge > 0, b0 / np.where(bridge > 0, bridge, 1.0), 1.0)
        ear = eye_aspect_ratios(pts) * tilt
        return cls(
            tuple(float(v) for v in ear),
            tuple(float(v) for v in mouth_aspect_ratios(pts)),
            tuple(float(v) for v in yaw_degs(pts)),
        )


@dataclass(frozen=True, slots=True)
class FlatMotion:
    """Out-of-plane motion frames and the homography residual over them (iod units)."""

    motion_frames: int
    max_similarity_residual_iod: float
    median_homography_residual_iod: float | None
    flat: bool


@dataclass(frozen=True, slots=True)
class LivenessResult:
    passed: bool
    reasons: tuple[str, ...]
    requested: tuple[str, ...] = ()
    events: tuple[ActionEvent, ...] = ()
    frames: int = 0
    flat_motion: FlatMotion | None = None
    identity_max_l2: float | None = None
    details: Mapping[str, float] = field(default_factory=dict)


# ---- detectors --------------------------------------------------------------------------


def detect_blinks(
    times_s: Sequence[float], ear: Sequence[float], policy: LivenessPolicy
) -> list[ActionEvent]:
    if len(ear) < 3:
        return []
    e = np.asarray(ear, dtype=np.float64)
    base = float(np.median(e))
    if base <= 0:
        return []
    closed = base * (1.0 - policy.blink_min_drop)
    reopened = base * (1.0 - policy.blink_min_drop / 2.0)
    events: list[ActionEvent] = []
    i = 1
    while i < len(e) - 1:
        if e[i] <= closed and float(e[:i].max()) >= reopened:
            j = i
            while j < len(e) and e[j] <= reopened:
                j += 1
            if j < len(e):  # eyes open again after the closure
                k = i + int(np.argmin(e[i:j]))
                events.append(ActionEvent(Action.BLINK, times_s[k], k))
            i = j + 1
            continue
        i += 1
    return events


def yaw_jitter_deg(yaw: Sequence[float]) -> float:
    """Robust std (deg) of the yaw's frame-to-frame noise: MAD of its second differences
    over sqrt(6) (white noise of std s has second differences of std s*sqrt(6)); a smooth
    turn barely moves it."""
    if len(yaw) < 3:
        return 0.0
    d2 = np.diff(np.asarray(yaw, dtype=np.float64), n=2)
    return float(1.4826 * np.median(np.abs(d2)) / math.sqrt(6.0))


def turn_threshold_deg(yaw: Sequence[float], policy: LivenessPolicy) -> float:
    """The yaw change a turn needs in this burst: the policy's, or above its noise floor."""
    floor = min(policy.turn_noise_factor * yaw_jitter_deg(yaw), policy.turn_noise_cap_deg)
    return max(policy.turn_min_deg, floor)


def detect_turns(
    times_s: Sequence[float], yaw: Sequence[float], policy: LivenessPolicy
) -> list[ActionEvent]:
    if len(yaw) < 2:
        return []
    ref = float(np.median(yaw[: policy.turn_baseline_frames]))
    need = turn_threshold_deg(yaw, policy)
    events: list[ActionEvent] = []
    for action, sign in ((Action.TURN_LEFT, 1.0), (Action.TURN_RIGHT, -1.0)):
        run = 0
        for i, y in enumerate(yaw):
            run = run + 1 if sign * (y - ref) >= need else 0
            if run >= policy.turn_min_frames:
                k = i - run + 1  # the turn is seen from the first frame past the threshold
                events.append(ActionEvent(action, times_s[k], k))
                break
    return events


def detect_mouth_open(
    times_s: Sequence[float], mar: Sequence[float], policy: LivenessPolicy
) -> list[ActionEvent]:
    """Every opening (not only the first: a driver who talks before the asked opening
    must not fail the order), each needing the mouth to close in between."""
    if len(mar) < 2:
        return []
    low = min(mar)
    closed_below = policy.mouth_open_min_mar * policy.mouth_close_fraction
    events: list[ActionEvent] = []
    armed = True
    for i, m in enumerate(mar):
        if armed and m >= policy.mouth_open_min_mar and m - low >= policy.mouth_open_min_rise:
            events.append(ActionEvent(Action.OPEN_MOUTH, times_s[i], i))
            armed = False
        elif not armed and m < closed_below:
            armed = True
    return events


def detect_actions(
    series: LandmarkSeries, policy: LivenessPolicy, measures: SeriesMeasures | None = None
) -> list[ActionEvent]:
    m = measures or SeriesMeasures.of(series)
    t = series.times_s
    events = [
        *detect_blinks(t, m.ear, policy),
        *detect_turns(t, m.yaw_deg, policy),
        *detect_mouth_open(t, m.mar, policy),
    ]
    return sorted(events, key=lambda ev: (ev.t_s, ev.action.value))


def in_order(requested: Sequence[Action], events: Sequence[ActionEvent]) -> bool:
    """Whether the events contain the requested actions in order (strictly later frames)."""
    after = -1
    for action in requested:
        nxt = [ev.frame for ev in events if ev.action is action and ev.frame > after]
        if not nxt:
            return False
        after = min(nxt)
    return True


def flat_motion(series: LandmarkSeries, policy: LivenessPolicy) -> FlatMotion:
    first = series.points[0]
    others = stack_points(series.points[1:])
    sims = similarity_residuals_iod(first, others)
    # The homography only where there was motion.
    homs = homography_residuals_iod(first, others[sims >= policy.flat_min_motion_iod])
    med = float(np.median(homs)) if len(homs) else None
    return FlatMotion(
        motion_frames=len(homs),
        max_similarity_residual_iod=float(sims.max()) if len(sims) else 0.0,
        median_homography_residual_iod=med,
        flat=(
            med is not None
            and len(homs) >= policy.flat_min_motion_frames
            and med < policy.flat_max_residual_iod
        ),
    )


# ---- judgement --------------------------------------------------------------------------


def judge(
    series: LandmarkSeries,
    requested: Sequence[Action | str],
    policy: LivenessPolicy | None = None,
    identity_l2: Sequence[float] = (),
) -> LivenessResult:
    """Judge one burst. ``identity_l2``: witness frames' distances to the verified frame."""
    policy = policy or LivenessPolicy()
    wanted = tuple(Action(a) for a in requested)
    names = tuple(a.value for a in wanted)
    reasons: list[LivenessReason] = []
    if (
        len(series) < policy.min_frames
        or series.duration_s < policy.min_duration_s
        or series.duration_s > policy.max_duration_s
    ):
        return LivenessResult(
            False, (LivenessReason.TOO_FEW_FRAMES.value,), names, frames=len(series)
        )
    measures = SeriesMeasures.of(series)
    events = detect_actions(series, policy, measures)
    seen = {ev.action for ev in events}
    if any(a not in seen for a in wanted):
        reasons.append(LivenessReason.ACTION_MISSING)
    elif not in_order(wanted, events):
        reasons.append(LivenessReason.ACTION_WRONG_ORDER)
    flat = flat_motion(series, policy)
    if flat.flat:
        reasons.append(LivenessReason.FLAT_MOTION_SUSPECTED)
    worst = max(identity_l2, default=None)
    if worst is not None and worst > policy.identity_max_l2:
        reasons.append(LivenessReason.IDENTITY_CHANGED_IN_BURST)
    details = {
        "ear_median": float(np.median(measures.ear)),
        "ear_min": min(measures.ear),
        "mar_max": max(measures.mar),
        "yaw_range_deg": max(measures.yaw_deg) - min(measures.yaw_deg),
        "duration_s": series.duration_s,
    }
    passed = not reasons
    codes = (LivenessReason.LIVENESS_PASSED.value,) if passed else tuple(r.value for r in reasons)
    return LivenessResult(passed, codes, names, tuple(events), len(series), flat, worst, details)
