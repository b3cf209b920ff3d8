"""`proctor bench speed --burst CLIP`: what one liveness burst costs next to one snapshot.

Bursts are 2 s windows of a real clip sampled at ``frames`` evenly spaced frames (the
reference page sends 30: 15 fps), judged by the same ``BurstAnalyzer`` the service uses
(FaceMesh tracked on every frame by default, embeddings on the few chosen frames), on
the pinned core.
Decoding is excluded on both sides. A snapshot is one ``measure_analysis`` of a single
frame of the same clip against the same reference.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from proctor.pipeline import Pipeline


def run_burst_speed(
    pipe: Pipeline, clip: Path, *, bursts: int = 15, frames: int = 30
) -> dict[str, Any]:
    from proctor.bench.liveness import read_clip, reference_from, window
    from proctor.bootstrap import burst_analyzer_factory
    from proctor.config import ProctorSettings

    analyzer = burst_analyzer_factory(ProctorSettings())(pipe)
    rgb, fps = read_clip(clip)
    if len(rgb) < fps * 3:
        raise SystemExit(f"{clip} is shorter than 3 s")
    reference = reference_from(analyzer, rgb[0])
    if reference is None:
        raise SystemExit(f"no face on the first frame of {clip}")
    span_s = len(rgb) / fps - 2.5
    burst_ms: list[float] = []
    snap_ms: list[float] = []
    stages: dict[str, list[float]] = {}
    for k in range(bursts):
        window_frames, times = window(rgb, fps, 0.5 + span_s * k / max(1, bursts - 1), frames)
        t0 = time.perf_counter()
        j = analyzer.judge_frames(reference, window_frames, times, ("blink",))
        burst_ms.append((time.perf_counter() - t0) * 1000)
        for name, ms in j.timings_ms.items():
            stages.setdefault(name, []).append(ms)
        middle = window_frames[len(window_frames) // 2]
        t0 = time.perf_counter()
        a = pipe.analyze_rgb(middle, pipe.config.snapshot_quality)
        pipe.measure_analysis(reference, a)
        snap_ms.append((time.perf_counter() - t0) * 1000)
    burst, snap = statistics.median(burst_ms), statistics.median(snap_ms)
    return {
        "clip": str(clip),
        "bursts": bursts,
        "frames_per_burst": frames,
        "landmarks": analyzer.landmark_source,
        "burst_ms_median": round(burst, 1),
        "burst_ms_p95": round(float(np.percentile(burst_ms, 95)), 1),
        "snapshot_ms_median": round(snap, 1),
        "burst_in_snapshots": round(burst / snap, 2),
        "burst_stage_ms_median": {k: round(statistics.median(v), 1) for k, v in stages.items()},
    }
