"""`proctor bench speed`: per-stage medians on one core, ours vs face_recognition, same process.

Images are processed in turn by both pipelines (interleaved), so machine noise
hits both alike; the ratio is baseline median ÷ ours.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from proctor.pipeline import STAGES, Pipeline
from proctor.quality.policy import QualityPolicy
from proctor.types import Template

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
BASELINE_STAGES = ("decode", "detect", "landmarks+embed", "compare")


def pin_one_core() -> int | None:
    """Pin this process to one CPU and single-threaded math; returns the core or None."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def list_images(directory: Path, limit: int | None = None) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return files[:limit] if limit else files


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    arr = np.asarray(values)
    return {
        "median": float(statistics.median(values)),
        "p95": float(np.percentile(arr, 95)),
        "n": len(values),
    }


def _ours(pipe: Pipeline, data: bytes, ref: Template, policy: QualityPolicy) -> dict[str, float]:
    t0 = time.perf_counter()
    a = pipe.analyze(data, policy)
    if a.chip is not None:
        pipe.verify_analysis(ref, a)
    total = (time.perf_counter() - t0) * 1000.0
    return {**a.timings_ms, "total": total, "face": float(a.chip is not None)}


def _baseline(fr: Any, path: Path, ref: np.ndarray) -> dict[str, float]:
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    img = fr.load_image_file(str(path))
    t1 = time.perf_counter()
    locs = fr.face_locations(img)
    t2 = time.perf_counter()
    encs = fr.face_encodings(img, locs)
    t3 = time.perf_counter()
    if encs:
        fr.face_distance([ref], encs[0])
    t4 = time.perf_counter()
    t.update(decode=(t1 - t0) * 1e3, detect=(t2 - t1) * 1e3)
    t["landmarks+embed"] = (t3 - t2) * 1e3
    t["compare"] = (t4 - t3) * 1e3
    t["total"] = (t4 - t0) * 1e3
    t["face"] = float(bool(encs))
    return t


def run_speed(pipe: Pipeline, images: list[Path], *, baseline: bool = True) -> dict[str, Any]:
    core = pin_one_core()
    policy = QualityPolicy.permissive()
    fr = None
    if baseline:
        from proctor.bench.reference import load_face_recognition

        fr = load_face_recognition()
    ref = Template(pipe.model_id, np.zeros(128))
    ref_base = np.zeros(128)
    # warm-up: first call loads caches and allocates
    warm = images[0].read_bytes()
    _ours(pipe, warm, ref, policy)
    if fr is not None:
        _baseline(fr, images[0], ref_base)
    ours: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for path in images:
        data = path.read_bytes()
        ours.append(_ours(pipe, data, ref, policy))
        if fr is not None:
            base.append(_baseline(fr, path, ref_base))
    result: dict[str, Any] = {
        "images": len(images),
        "core": core,
        "stages": {s: _stats([o.get(s, 0.0) for o in ours]) for s in STAGES},
        "pipeline_ms_median": _stats([o["total"] for o in ours])["median"],
        "pipeline_ms_p95": _stats([o["total"] for o in ours])["p95"],
        "faces_found": int(sum(o["face"] for o in ours)),
    }
    if base:
        result["baseline_stages"] = {s: _stats([b[s] for b in base]) for s in BASELINE_STAGES}
        result["baseline_ms_median"] = _stats([b["total"] for b in base])["median"]
        result["baseline_ms_p95"] = _stats([b["total"] for b in base])["p95"]
        result["baseline_faces_found"] = int(sum(b["face"] for b in base))
        result["ratio"] = result["baseline_ms_median"] / result["pipeline_ms_median"]
    return result
