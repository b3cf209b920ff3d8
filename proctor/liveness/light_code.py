"""Screen-light code (炫彩 / 光线活体): the face must reflect the page's colours (pure core).

For every burst the server draws a short sequence of screen colours and durations
(``draw_light_code``). The driver page shows it full-screen while it records and
sends each frame's time from the code's start. The phone's screen is a light source
a few tens of centimetres from the face, so the skin's colour follows the code; the
background, metres away, barely does. Footage recorded or animated before the
challenge existed (a puppet, a splice, a replay, an injected clip) cannot carry a
code drawn at random for this burst.

Photosensitive safety (WCAG 2.2 success criterion 2.3.1 "Three Flashes or Below
Threshold", and ITU-R BT.1702 for broadcast): every colour of ``PALETTE`` has the
same relative luminance within 0.01 (a "general flash" needs a change of 0.1 or
more), none is a saturated red (WCAG: R/(R+G+B) ≥ 0.8; here ≤ 0.58), and no colour
lasts less than ``MIN_SEGMENT_S`` = 0.35 s, so any one second holds at most three
transitions (at most 1.5 flashes, below the 3 Hz limit of both guidelines, even if
the hue changes counted as flashes). ``check_safety`` enforces it on every code.

The check: ``measure_light_code`` (numbers), then ``judge_light_code`` (the limits of
``LightCodePolicy``, part of ``OperatingPolicy``; called by ``decide_capture``). Per
frame, the skin's mean colour (cheeks and nose) and the background's, in linear RGB. The
reflected part is the skin's log colour change from its own pre-code colour (the first,
grey, segment) minus the background's change (a camera's exposure and white balance move
both), with the luminance taken out (chromaticity only). At some display/camera latency
within ``LightCodePolicy.min_lag_s``..``max_lag_s`` it must step with every colour
change of the code, in the code's direction and by at least a stated size, and each
colour segment's level must point at its colour (details in ``LightCodePolicy``).
Outcomes and their reason codes (``proctor.decision.reasons``; public, never renamed):

- ``light_code_missing``: the face's colour steps are no larger than natural drift
  (no code reflected, a too dim screen or too bright room), or too few frames under
  the code;
- ``light_code_mismatch``: the face's colour changes, but not as this code;
- ``light_code_shifted``: it follows this code, but at a time offset outside the
  latency window (footage re-timed, or answered late).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

RGB = tuple[int, int, int]
FloatArray = npt.NDArray[np.float64]

# sRGB colours of equal relative luminance (0.296 ± 0.002): grey first (the pre-code
# colour), then six hues 60° apart at the saturation that luminance allows.
GREY: RGB = (149, 149, 149)
PALETTE: tuple[RGB, ...] = (
    (255, 92, 92),  # red (R share 0.58, not a "saturated red")
    (153, 153, 0),  # yellow
    (0, 172, 0),  # green
    (0, 165, 165),  # cyan
    (135, 135, 254),  # blue
    (255, 36, 255),  # magenta
)
MIN_SEGMENT_S = 0.35
MAX_FLASH_HZ = 3.0
MAX_LUMINANCE_STEP = 0.1  # WCAG general-flash threshold (relative luminance)
SATURATED_RED_SHARE = 0.8  # WCAG red-flash definition
# How the face is measured against a code (measurement parameters, not thresholds):
SEARCH_LAG_S = 1.0  # lags tried: ±1 s, in LAG_STEP_S steps (a shift is told from a miss)
LAG_STEP_S = 0.025
STEP_WINDOW_S = 0.25  # frames this close before/after a colour change measure its step
SEGMENT_MARGIN_S = 0.05  # frames this close to a segment's ends do not measure its level
PRE_MARGIN_S = 0.05  # pre-code frames end this long before the first colour


@dataclass(frozen=True, slots=True)
class LightSegment:
    rgb: RGB
    duration_s: float


@dataclass(frozen=True, slots=True)
class LightCode:
    """Colours shown from t = 0 (the code's start) in order; before and after: grey."""

    segments: tuple[LightSegment, ...]

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    @property
    def pre_s(self) -> float:
        """Length of the first (grey, pre-code) segment."""
        return self.segments[0].duration_s if self.segments else 0.0

    def colour_at(self, t_s: float) -> RGB:
        if t_s < 0:
            return GREY
        end = 0.0
        for seg in self.segments:
            end += seg.duration_s
            if t_s < end:
                return seg.rgb
        return GREY

    @classmethod
    def from_json(cls, segments: Sequence[dict[str, object]]) -> LightCode:
        """The inverse of ``as_json`` (what a client received)."""
        out = []
        for seg in segments:
            h = str(seg["rgb"]).lstrip("#")
            rgb = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
            ms = seg["ms"]
            out.append(
                LightSegment(rgb, float(ms) / 1000.0 if isinstance(ms, int | float) else 0.0)
            )
        return cls(tuple(out))

    def as_json(self) -> list[dict[str, object]]:
        """What the page shows: ``[{"rgb": "#rrggbb", "ms": 400}, ...]``."""
        return [
            {"rgb": "#{:02x}{:02x}{:02x}".format(*s.rgb), "ms": round(s.duration_s * 1000)}
            for s in self.segments
        ]


@dataclass(frozen=True, slots=True)
class CodeShape:
    """What a drawn code looks like (not a threshold). Times in seconds."""

    pre_s: float = 0.4
    colours: int = 4
    min_segment_s: float = 0.35
    max_segment_s: float = 0.45

    def __post_init__(self) -> None:
        if self.min_segment_s < MIN_SEGMENT_S:
            raise ValueError(f"segments shorter than {MIN_SEGMENT_S} s flash too fast")
        if not self.min_segment_s <= self.max_segment_s or self.colours < 2:
            raise ValueError("need min_segment_s <= max_segment_s and at least 2 colours")


@dataclass(frozen=True, slots=True)
class LightCodePolicy:
    """The light code's decision limits (part of ``OperatingPolicy``). Times in seconds.

    Display + camera latency accepted between the page's colour change and the frame
    that shows it (``min_lag_s``..``max_lag_s``: a frame's time is when the page grabbed
    it; the sensor saw the screen up to one or two frame periods earlier, and a screen
    refresh later). At some lag in that window, all of:

    - steps: the face's chromaticity change across each colour change against the code's
      (``measure_light_code``): correlation over all steps >= ``min_step_correlation``,
      each step's cosine >= ``min_step_cosine``, the steps' size >= ``min_step_amplitude``
      of the code's (natural colour drift of unlit footage: 0.008-0.033; a reflection of
      strength k measures about k);
    - levels: every frame's change from the pre-code colour against the code's:
      correlation >= ``min_correlation``, each colour segment's cosine >=
      ``min_segment_cosine``, the fitted gain > ``min_gain``;
    - enough frames: ``min_pre_frames`` before the code, ``min_frames_under_code`` under it.

    Set on modelled reflections of genuine bursts and on bursts judged against other
    challenges' codes (models/cards/liveness.md).
    """

    min_lag_s: float = -0.10
    max_lag_s: float = 0.25
    min_step_correlation: float = 0.85
    min_step_cosine: float = 0.5
    min_step_amplitude: float = 0.04
    min_correlation: float = 0.5
    min_segment_cosine: float = 0.3
    min_gain: float = 0.0
    min_frames_under_code: int = 8
    min_pre_frames: int = 2

    def __post_init__(self) -> None:
        if not self.min_lag_s < self.max_lag_s:
            raise ValueError("need min_lag_s < max_lag_s")
        if not (self.min_lag_s >= -SEARCH_LAG_S and self.max_lag_s <= SEARCH_LAG_S):
            raise ValueError(f"the latency window must lie within ±{SEARCH_LAG_S} s")
        if self.min_frames_under_code < 1 or self.min_pre_frames < 1:
            raise ValueError("need at least one frame before and under the code")

    def thresholds(self) -> dict[str, float]:
        return {f"light_{k}": float(getattr(self, k)) for k in self.__slots__}


# ---- drawing ----------------------------------------------------------------------------


def draw_light_code(rng: random.Random, shape: CodeShape | None = None) -> LightCode:
    """Grey for ``pre_s``, then ``colours`` palette colours (no two in a row alike)."""
    p = shape or CodeShape()
    segs = [LightSegment(GREY, p.pre_s)]
    prev: RGB | None = None
    for _ in range(p.colours):
        rgb = rng.choice([c for c in PALETTE if c != prev])
        dur = round(rng.uniform(p.min_segment_s, p.max_segment_s), 3)
        segs.append(LightSegment(rgb, dur))
        prev = rgb
    code = LightCode(tuple(segs))
    check_safety(code)
    return code


def light_code_for(challenge_id: str, shape: CodeShape | None = None) -> LightCode:
    """The code of a challenge: drawn from a generator seeded by its id.

    Challenge ids are 128 random bits from the server's CSPRNG, so the code is as
    unpredictable before the challenge is issued as one drawn then, and needs no
    storage: the page gets it with the challenge, the judge recomputes it.
    """
    seed = int.from_bytes(hashlib.sha256(b"light-code:" + challenge_id.encode()).digest()[:8])
    return draw_light_code(random.Random(seed), shape)


def relative_luminance(rgb: RGB) -> float:
    lin = srgb_to_linear(np.asarray(rgb, dtype=np.float64))
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def check_safety(code: LightCode) -> None:
    """Raise ValueError if the code could flash (WCAG 2.3.1 / ITU-R BT.1702 limits)."""
    lum = [relative_luminance(s.rgb) for s in code.segments]
    for a, b in itertools.pairwise(lum):
        if abs(a - b) >= MAX_LUMINANCE_STEP:
            raise ValueError("luminance step at or above the general-flash threshold")
    for s in code.segments:
        if s.duration_s < MIN_SEGMENT_S - 1e-9:
            raise ValueError("a colour shown for less than the minimum segment length")
        if sum(s.rgb) and s.rgb[0] / sum(s.rgb) >= SATURATED_RED_SHARE:
            raise ValueError("saturated red")
    # at most 3 changes in any 1 s window
    changes, t = [], 0.0
    for s in code.segments[:-1]:
        t += s.duration_s
        changes.append(t)
    for i, c in enumerate(changes):
        if sum(1 for d in changes[i:] if d - c < 1.0) > MAX_FLASH_HZ:
            raise ValueError("more than three colour changes in one second")


# ---- colour measures --------------------------------------------------------------------


def srgb_to_linear(c: FloatArray) -> FloatArray:
    x = np.clip(np.asarray(c, dtype=np.float64) / 255.0, 0.0, 1.0)
    out: FloatArray = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return out


def linear_to_srgb(c: FloatArray) -> FloatArray:
    x = np.clip(c, 0.0, 1.0)
    out: FloatArray = np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055) * 255.0
    return out


@dataclass(frozen=True, slots=True)
class ColourSample:
    """Mean linear RGB of the skin (cheeks and nose) and of the background of one frame."""

    face: tuple[float, float, float]
    background: tuple[float, float, float] | None


def skin_box(points: FloatArray) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) over cheeks and nose: between the outer eye corners, from below
    the eyes to the nose's base (no eyelids, brows or lips, which move)."""
    eyes_y = float(points[[36, 39, 42, 45], 1].mean())
    base_y = float(points[33, 1])
    x1, x2 = sorted((float(points[36, 0]), float(points[45, 0])))
    return x1, eyes_y + 0.35 * (base_y - eyes_y), x2, base_y


def colour_sample(rgb: npt.NDArray[np.uint8], points: FloatArray, step: int = 2) -> ColourSample:
    """Skin and background colours of one frame (``points``: its 68 landmarks)."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = skin_box(points)
    xa, xb = max(0, int(x1)), min(w, math.ceil(x2))
    ya, yb = max(0, int(y1)), min(h, math.ceil(y2))
    if xb - xa < 2 or yb - ya < 2:
        patch = rgb[max(0, ya - 1) : ya + 2, max(0, xa - 1) : xa + 2]
    else:
        patch = rgb[ya:yb:step, xa:xb:step]
    face = srgb_to_linear(patch.reshape(-1, 3).mean(axis=0))
    # Background: the frame's left and right strips beside the head, and the top strip
    # above it, each at least half a face width away from the landmarks.
    fx1, fy1 = float(points[:, 0].min()), float(points[:, 1].min())
    fx2, fy2 = float(points[:, 0].max()), float(points[:, 1].max())
    fw, fh = fx2 - fx1, fy2 - fy1
    parts = []
    top = int(fy1 - 0.8 * fh)
    if top >= 8:
        parts.append(rgb[0:top:4, 0:w:4].reshape(-1, 3))
    lo, hi = max(0, int(fy1 - 0.5 * fh)), min(h, int(fy2))
    left, right = int(fx1 - 0.7 * fw), int(fx2 + 0.7 * fw)
    if left >= 8 and hi - lo >= 8:
        parts.append(rgb[lo:hi:4, 0:left:4].reshape(-1, 3))
    if w - right >= 8 and hi - lo >= 8:
        parts.append(rgb[lo:hi:4, right:w:4].reshape(-1, 3))
    bg = None
    if parts:
        allbg = np.concatenate(parts).astype(np.float64)
        b = srgb_to_linear(allbg.mean(axis=0))
        bg = (float(b[0]), float(b[1]), float(b[2]))
    return ColourSample((float(face[0]), float(face[1]), float(face[2])), bg)


# ---- the check --------------------------------------------------------------------------


def _chroma(v: FloatArray) -> FloatArray:
    """Remove the luminance-like common part of per-channel log changes (rows: frames)."""
    out: FloatArray = v - v.mean(axis=-1, keepdims=True)
    return out


def expected_chroma(code: LightCode, times_s: Sequence[float], lag_s: float) -> FloatArray:
    """Per frame: the expected chromaticity change of a diffuse reflector lit by the code
    (linear screen colour minus the pre-code grey, luminance removed)."""
    rows = [_linear(code.colour_at(t - lag_s)) for t in times_s]
    return _chroma(np.asarray(rows) - _linear(GREY))


def observed_chroma(
    samples: Sequence[ColourSample], times_s: Sequence[float], pre_s: float
) -> FloatArray | None:
    """Per frame: the skin's log colour change from its pre-code colour, minus the
    background's (when every frame has one), luminance removed; None without pre frames."""
    face = np.log(np.maximum(np.asarray([s.face for s in samples]), 1e-4))
    pre = [i for i, t in enumerate(times_s) if t < pre_s - PRE_MARGIN_S]
    if not pre:
        return None
    d = face - np.median(face[pre], axis=0)
    if all(s.background is not None for s in samples):
        bg = np.log(np.maximum(np.asarray([s.background for s in samples]), 1e-4))
        d = d - (bg - np.median(bg[pre], axis=0))
    return _chroma(d)


def segment_cosines(
    code: LightCode, times_s: Sequence[float], o: FloatArray, lag_s: float, margin_s: float
) -> list[float]:
    """Per coloured segment with frames inside it: the cosine between the mean observed
    and the expected chromaticity change (0 for a segment with no frame inside)."""
    out = []
    start = code.pre_s
    for seg in code.segments[1:]:
        end = start + seg.duration_s
        rows = [i for i, t in enumerate(times_s) if start + margin_s <= t - lag_s < end - margin_s]
        start = end
        if not rows:
            continue
        e = _code_chroma(seg.rgb)
        m = o[rows].mean(axis=0)
        den = float(np.linalg.norm(m) * np.linalg.norm(e))
        out.append(float(m @ e) / den if den > 1e-12 else 0.0)
    return out


@functools.lru_cache(maxsize=64)
def _linear(rgb: RGB) -> FloatArray:
    """An sRGB screen colour in linear light (a handful of colours: cached, read-only)."""
    out = srgb_to_linear(np.asarray(rgb, dtype=np.float64))
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _code_chroma(rgb: RGB) -> FloatArray:
    out: FloatArray = _chroma((_linear(rgb) - _linear(GREY))[None, :])[0]
    out.flags.writeable = False
    return out


def step_scores(
    code: LightCode, times_s: Sequence[float], o: FloatArray, lag_s: float, window_s: float
) -> tuple[float, float, float]:
    """(correlation, least cosine, relative size) of the face's chromaticity steps across
    the code's colour changes against the code's own steps; zeros with fewer than 3."""
    t = np.asarray(times_s, dtype=np.float64) - lag_s
    obs, exp = [], []
    edge = 0.0
    for a, b in itertools.pairwise(code.segments):
        edge += a.duration_s
        before = (t >= edge - window_s) & (t < edge - 0.03)
        after = (t >= edge + 0.03) & (t < edge + window_s)
        if before.any() and after.any():
            obs.append(o[after].mean(axis=0) - o[before].mean(axis=0))
            exp.append(_code_chroma(b.rgb) - _code_chroma(a.rgb))
    if len(obs) < 3:
        return 0.0, 0.0, 0.0
    ob, ex = np.asarray(obs), np.asarray(exp)
    r, _ = _fit(ob, ex)
    norms = np.linalg.norm(ob, axis=1) * np.linalg.norm(ex, axis=1)
    cos = float(np.min((ob * ex).sum(axis=1) / np.maximum(norms, 1e-12)))
    amp = float(np.sqrt((ob * ob).sum() / max(float((ex * ex).sum()), 1e-12)))
    return r, cos, amp


def without_offset(o: FloatArray, e: FloatArray) -> FloatArray:
    """``o`` less its per-channel offset, fitted jointly with the code's gain on all frames
    (o ≈ g·e + a): the face's own colour is not taken from the few pre-code frames alone,
    where one blink or a turning head biased it and made honest bursts fail the levels
    (2 of 27 genuine bursts at k = 0.2; models/cards/liveness.md)."""
    n = len(o)
    x = np.concatenate([e.reshape(-1, 1), np.tile(np.eye(3), (n, 1))], axis=1)
    beta, *_ = np.linalg.lstsq(x, o.reshape(-1), rcond=None)
    out: FloatArray = o - beta[1:][None, :]
    return out


def _fit(o: FloatArray, e: FloatArray) -> tuple[float, float]:
    ee = float((e * e).sum())
    oo = float((o * o).sum())
    if ee <= 1e-12 or oo <= 1e-12:
        return 0.0, 0.0
    oe = float((o * e).sum())
    return oe / math.sqrt(ee * oo), oe / ee


@dataclass(frozen=True, slots=True)
class LagScore:
    """How well the face followed the code if the frames were ``lag_s`` late."""

    lag_s: float
    step_correlation: float
    min_step_cosine: float
    step_amplitude: float
    correlation: float
    gain: float
    min_segment_cosine: float


@dataclass(frozen=True, slots=True)
class LightCodeMeasures:
    """What ``measure_light_code`` saw (numbers only; ``judge_light_code`` decides)."""

    pre_frames: int
    frames_under_code: int
    chroma_rms: float = 0.0
    lags: tuple[LagScore, ...] = ()  # every lag of the search grid, in order


def measure_light_code(
    code: LightCode, times_s: Sequence[float], samples: Sequence[ColourSample]
) -> LightCodeMeasures:
    """The face's chromaticity against ``code`` at every lag of ±``SEARCH_LAG_S``."""
    if len(times_s) != len(samples):
        raise ValueError("one colour sample per frame time")
    pre = sum(1 for t in times_s if t < code.pre_s - PRE_MARGIN_S)
    under = sum(1 for t in times_s if code.pre_s <= t < code.duration_s)
    o = observed_chroma(samples, times_s, code.pre_s)
    if o is None or under < 3:
        return LightCodeMeasures(pre, under)
    rms = float(np.sqrt((o * o).sum(axis=1).mean()))
    grid = np.arange(-SEARCH_LAG_S, SEARCH_LAG_S + 1e-9, LAG_STEP_S)
    lags = []
    for lag in (round(float(v), 4) for v in grid):
        e = expected_chroma(code, times_s, lag)
        od = without_offset(o, e)
        sr, sc, amp = step_scores(code, times_s, od, lag, STEP_WINDOW_S)
        r, g = _fit(od, e)
        cos = segment_cosines(code, times_s, od, lag, SEGMENT_MARGIN_S)
        lags.append(LagScore(lag, sr, sc, amp, r, g, min(cos, default=0.0)))
    return LightCodeMeasures(pre, under, rms, tuple(lags))


class LightOutcome(StrEnum):
    """What ``judge_light_code`` found (``proctor.decision.reasons`` names the codes)."""

    PASSED = "passed"
    MISSING = "missing"  # no code reflected, too dim, or too few frames
    MISMATCH = "mismatch"  # the face's colour changes, but not as this code
    SHIFTED = "shifted"  # this code, at a time offset outside the latency window


@dataclass(frozen=True, slots=True)
class LightCheck:
    outcome: LightOutcome
    best: LagScore | None  # the deciding lag (a passing one, else the best in the window)

    @property
    def passed(self) -> bool:
        return self.outcome is LightOutcome.PASSED


def lag_passes(m: LagScore, p: LightCodePolicy) -> bool:
    return (
        m.step_correlation >= p.min_step_correlation
        and m.min_step_cosine >= p.min_step_cosine
        and m.step_amplitude >= p.min_step_amplitude
        and m.correlation >= p.min_correlation
        and m.min_segment_cosine >= p.min_segment_cosine
        and m.gain > p.min_gain
    )


def judge_light_code(m: LightCodeMeasures, p: LightCodePolicy) -> LightCheck:
    """Passed at some lag in the latency window; else shifted (passes outside it),
    missing (too few frames, or steps no larger than natural drift), or mismatch."""
    if m.pre_frames < p.min_pre_frames or m.frames_under_code < p.min_frames_under_code:
        return LightCheck(LightOutcome.MISSING, None)
    window = [s for s in m.lags if p.min_lag_s - 1e-9 <= s.lag_s <= p.max_lag_s + 1e-9]
    ok = [s for s in window if lag_passes(s, p)]
    best = max(ok or window, key=lambda s: s.step_correlation, default=None)
    if ok:
        return LightCheck(LightOutcome.PASSED, best)
    if any(lag_passes(s, p) for s in m.lags):
        return LightCheck(LightOutcome.SHIFTED, best)
    if best is None or best.step_amplitude < p.min_step_amplitude:
        return LightCheck(LightOutcome.MISSING, best)
    return LightCheck(LightOutcome.MISMATCH, best)


def usable_client_times(times_s: Sequence[float] | None, frames: int) -> tuple[float, ...] | None:
    """The client's frame times (seconds from the code's start) when usable: one per
    frame, finite, non-decreasing, within 0-10 s; else None (the burst's own times)."""
    if times_s is None or len(times_s) != frames:
        return None
    ts = tuple(float(t) for t in times_s)
    if not all(math.isfinite(t) and 0.0 <= t <= 10.0 for t in ts):
        return None
    if any(b < a for a, b in itertools.pairwise(ts)):
        return None
    return ts


def measure_burst(
    code: LightCode,
    frame_times_s: Sequence[float],
    tracked: Sequence[int],
    colours: Sequence[ColourSample],
    client_times_s: Sequence[float] | None = None,
) -> LightCodeMeasures:
    """``measure_light_code`` on a burst's tracked frames (``tracked``: their positions
    among all ``frame_times_s``), timed by the client's clock when it sent usable times."""
    times = usable_client_times(client_times_s, len(frame_times_s)) or tuple(frame_times_s)
    if not tracked or len(tracked) != len(colours):
        return LightCodeMeasures(0, 0)
    return measure_light_code(code, [times[i] for i in tracked], colours)
