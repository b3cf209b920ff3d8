"""Calibrating the continuity check on genuine clips (issue 20), for `proctor bench liveness`.

Genuine bursts: every 2 s window of every labelled clip, 1 s apart (the same windows as
the false-detection rates), tracked as the analyzer tracks a burst, and their
frame-to-frame jumps measured (``measure_continuity``). The clips are split by clip:
**dev** = the clips at even positions of ``fixtures/liveness/annotations.toml``, **test**
= the odd ones. Each limit (face spike, background spike) is set on dev to the smallest
value that rejects at most ``TARGET_BPCER`` of the dev windows by itself, times a
``MARGIN``; the BPCER is then reported on test. The attack side is the continuity check
alone on the injected splice and puppet bursts (the light code off: the fallback).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from proctor.liveness.continuity import (
    ContinuityMeasures,
    ContinuityPolicy,
    judge_continuity,
    measure_continuity,
    spike_values,
)

if TYPE_CHECKING:
    from proctor.bench.liveness import Clip, Report
    from proctor.liveness.burst import BurstAnalyzer
    from proctor.types import RGBImage

TARGET_BPCER = 0.02  # per check, on the dev windows
MARGIN = 1.1  # the chosen limit sits this far above the dev value that meets the target
SPLICE_AND_PUPPET = ("splice", "puppet")


@dataclass(frozen=True, slots=True)
class Window:
    clip_id: str
    start_s: float
    measures: ContinuityMeasures


def genuine_windows(
    analyzer: BurstAnalyzer,
    loaded: Sequence[tuple[Clip, list[RGBImage], float]],
    n: int,
) -> list[Window]:
    """The continuity measures of every 2 s window (1 s apart) of every genuine clip."""
    from proctor.bench.liveness import BURST_S, window
    from proctor.liveness.burst_evidence import thumbnails

    out = []
    for clip, frames, fps in loaded:
        start = 0.0
        while start + BURST_S <= len(frames) / fps - 1e-6:
            burst, _ = window(frames, fps, start, n)
            first_i, first = analyzer._first_face(burst, {})
            if first_i is not None and first is not None and first.primary is not None:
                idx, pts, _, _, _ = analyzer._track(burst, first_i, first, {})
                thumbs, masks = thumbnails(burst, idx, pts)
                out.append(Window(clip.id, start, measure_continuity(pts, thumbs, masks)))
            start += 1.0
    return out


def split(
    windows: Sequence[Window], clip_order: Sequence[str]
) -> tuple[list[Window], list[Window]]:
    """(dev, test): clips at even positions of the annotations are dev, odd are test."""
    dev_ids = {c for i, c in enumerate(clip_order) if i % 2 == 0}
    dev = [w for w in windows if w.clip_id in dev_ids]
    return dev, [w for w in windows if w.clip_id not in dev_ids]


def _limit(values: Sequence[float], target: float, floor: float) -> float:
    """The smallest limit that rejects at most ``target`` of ``values`` (> limit rejects),
    times ``MARGIN``, and above ``floor`` (a ContinuityPolicy limit must exceed 1)."""
    allowed = math.floor(target * len(values))
    ordered = sorted(values, reverse=True)
    at = ordered[allowed] if allowed < len(ordered) else 0.0
    return max(floor, round(at * MARGIN, 2))


def calibrate(dev: Sequence[Window], base: ContinuityPolicy | None = None) -> ContinuityPolicy:
    """Limits for ``TARGET_BPCER`` per check on ``dev`` (floors and factor as ``base``)."""
    p = base or ContinuityPolicy()
    spikes = [spike_values(w.measures, p) for w in dev]
    face = _limit([s[0] for s in spikes], TARGET_BPCER, 1.5)
    bg = _limit([s[2] for s in spikes], TARGET_BPCER, 1.5)
    return replace(p, max_face_spike=face, max_background_spike=bg)


def rejected(windows: Sequence[ContinuityMeasures], p: ContinuityPolicy) -> int:
    return sum(not judge_continuity(m, p).passed for m in windows)


def render(report: Report, windows: Sequence[Window], clip_order: Sequence[str]) -> list[str]:
    """The calibration: the split, the limits chosen on dev, BPCER on test (and on the
    labelled bona fide bursts), and the check's own APCER on splice and puppet."""
    from proctor.bench.liveness import Rate

    if not windows:
        return []
    dev, test = split(windows, clip_order)
    shipped = ContinuityPolicy()
    fitted = calibrate(dev, shipped)
    lines = [
        "",
        "## Continuity check: calibration on genuine windows (light code off)",
        "",
        f"Split by clip: dev = {sorted({w.clip_id for w in dev})} ({len(dev)} windows), "
        f"test = {sorted({w.clip_id for w in test})} ({len(test)} windows). Target on dev: "
        f"≤ {TARGET_BPCER:.0%} per check, limit × {MARGIN}.",
        f"Fitted on dev: max_face_spike {fitted.max_face_spike}, max_background_spike "
        f"{fitted.max_background_spike}; shipped: {shipped.max_face_spike}, "
        f"{shipped.max_background_spike}.",
        "",
        "| limits | dev BPCER | test BPCER | bona fide events | "
        + " | ".join(f"{k} APCER (continuity alone)" for k in SPLICE_AND_PUPPET)
        + " |",
        "|---|---|---|---|" + "---|" * len(SPLICE_AND_PUPPET),
    ]
    for name, p in (("shipped", shipped), ("fitted on dev", fitted)):
        cells = []
        for group in (
            [w.measures for w in dev],
            [w.measures for w in test],
            report.continuity_genuine,
        ):
            r = Rate(rejected(group, p), len(group))
            cells.append(r.with_ci())
        for key in SPLICE_AND_PUPPET:
            attacks = [
                m
                for k, ms in report.attack_continuity.items()
                if key in k and "code" not in k
                for m in ms
            ]
            passed = len(attacks) - rejected(attacks, p)
            cells.append(Rate(passed, len(attacks)).with_ci())
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
