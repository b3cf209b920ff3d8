"""Review thresholds from the calibrated operating points (data, not code).

The match/no-match zone is the bootstrap confidence interval of the threshold at
the review FMR target; the ring link threshold is the threshold at the stricter
ring FMR target (a false link accuses two innocent drivers). Falls back to the
registry's threshold when no operating point is calibrated.
"""

from __future__ import annotations

import math
from pathlib import Path

from proctor.calibration.points import load_points
from proctor.embedding.registry import default_models_dir, model_spec
from proctor.review.report import ReviewZones


def review_zones(
    model_id: str | None = None,
    population: str = "asian-dev",
    review_fmr: str = "0.01",
    ring_fmr: str = "0.001",
    models_dir: Path | None = None,
) -> ReviewZones:
    spec = model_spec(model_id, models_dir)
    points = load_points(models_dir or default_models_dir())
    raw = points.get(spec.model_id, {}).get(population, {}).get("raw_l2", {})
    if review_fmr not in raw:
        t = spec.threshold_l2
        return ReviewZones(t, t, t)
    point = raw[review_fmr]
    lo, hi = (float(x) for x in point.get("threshold_ci", (math.nan, math.nan)))
    t = float(point["threshold"])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo = hi = t
    ring = float(raw[ring_fmr]["threshold"]) if ring_fmr in raw else min(lo, t)
    return ReviewZones(min(lo, t), max(hi, t), ring)
