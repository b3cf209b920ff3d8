"""`proctor bench speed`: per-stage medians on one core, ours vs face_recognition, same process.

Images are processed in turn by both pipelines (interleaved), so machine noise
hits both alike; the ratio is baseline median ÷ ours.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from proctor.pipeline import STAGES, Pipeline
from proctor.quality.policy import QualityPolicy
from proctor.types import Template

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
BASELINE_STAGES = ("decode", "detect", "landmarks+embed", "compare")


_ALL_CORES: set[int] | None = None


def pin_one_core() -> int | None:
    """Pin this process to one CPU and single-threaded math; returns the core or None."""
    global _ALL_CORES
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass
    if not hasattr(os, "sched_setaffinity"):
        return None
    if _ALL_CORES is None:
        _ALL_CORES = set(os.sched_getaffinity(0))
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def matmul_gflops(n: int = 1024, repeats: int = 7) -> float:
    """This core's practical float32 ceiling: best of a few n×n numpy matmuls on ONE thread.

    Measured in a fresh interpreter with the BLAS thread variables set to 1 before numpy
    loads and pinned to one core: in this process the BLAS pool may already have started
    threads, which ``sched_setaffinity`` on the main thread does not move.
    """
    import json
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = (
        "import json, os; "
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}) "
        "if hasattr(os, 'sched_setaffinity') else None; "
        "from proctor.bench.speed import _matmul_here; "
        f"print(json.dumps(_matmul_here({n}, {repeats})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def _matmul_here(n: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def embedding_gflop() -> float:
    """FLOPs (2 per multiply-add) of one forward pass of dlib's ResNet, from the ONNX graph."""
    import onnx
    from onnx import shape_inference

    from proctor.embedding.registry import model_ids, model_spec

    # Counted on the float translation: the 8-bit graph does the same multiply-adds
    # (in integers) and its Conv weights sit behind DequantizeLinear nodes.
    specs = [model_spec(m) for m in model_ids()]
    spec = next((s for s in specs if s.onnx is not None and s.onnx.quant_table is None), specs[0])
    if spec.onnx is None or not spec.onnx.path.exists():
        return float("nan")
    model = shape_inference.infer_shapes(onnx.load(str(spec.onnx.path)))
    g = model.graph
    dims: dict[str, list[int]] = {}
    for v in list(g.value_info) + list(g.output):
        dims[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    inits = {t.name: list(t.dims) for t in g.initializer}
    flops = 0
    for node in g.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            out = dims.get(node.output[0], [])
            if len(out) == 4:
                flops += 2 * w[0] * w[1] * w[2] * w[3] * out[2] * out[3]
        elif node.op_type == "MatMul":
            w = inits[node.input[1]]
            flops += 2 * w[0] * w[1]
    return flops / 1e9


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


_WORKER: Pipeline | None = None


def _worker_init(cores: set[int] | None) -> None:
    global _WORKER
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    from proctor.bootstrap import build_pipeline

    _WORKER = build_pipeline()


def _worker_run(path: str) -> bool:
    assert _WORKER is not None
    a = _WORKER.analyze(Path(path).read_bytes(), QualityPolicy.permissive())
    if a.chip is not None:
        _WORKER.embed(a)
    return a.chip is not None


def throughput(images: list[Path], workers: int) -> float:
    """Images per second through the whole pipeline with a pool of ``workers`` processes."""
    with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(_ALL_CORES,)) as pool:
        list(pool.map(_worker_run, [str(images[0])] * workers))  # warm every worker
        t0 = time.perf_counter()
        list(pool.map(_worker_run, [str(p) for p in images], chunksize=4))
        return len(images) / (time.perf_counter() - t0)


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
        pipe.measure_analysis(ref, a)
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


def detector_name(pipe: Pipeline) -> str:
    """The detector the pipeline runs (``blazeface`` by default, ``hog`` when selected)."""
    return str(getattr(pipe.detector, "name", type(pipe.detector).__name__))


def run_speed(
    pipe: Pipeline, images: list[Path], *, baseline: bool = True, workers: Sequence[int] = (1, 2)
) -> dict[str, Any]:
    core = pin_one_core()
    ceiling = matmul_gflops()
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
        "detector": detector_name(pipe),
    }
    result["pipeline_p95_over_median"] = result["pipeline_ms_p95"] / result["pipeline_ms_median"]
    if base:
        result["baseline_stages"] = {s: _stats([b[s] for b in base]) for s in BASELINE_STAGES}
        result["baseline_ms_median"] = _stats([b["total"] for b in base])["median"]
        result["baseline_ms_p95"] = _stats([b["total"] for b in base])["p95"]
        result["baseline_faces_found"] = int(sum(b["face"] for b in base))
        result["ratio"] = result["baseline_ms_median"] / result["pipeline_ms_median"]
        emb_base = result["baseline_stages"]["landmarks+embed"]["median"]
        emb_ours = result["stages"]["landmarks"]["median"] + result["stages"]["embed"]["median"]
        result["embed_ratio"] = emb_base / emb_ours if emb_ours else float("nan")
    gflop = embedding_gflop()
    embed_ms = result["stages"]["embed"]["median"]
    achieved = gflop / (embed_ms / 1e3) if embed_ms else float("nan")
    result["embedding"] = {
        "runtime": getattr(pipe.encoder, "runtime", "dlib"),
        "model_id": pipe.model_id,
        "precision": "int8" if getattr(pipe.encoder, "quantized", False) else "float32",
        "gflop_per_face": gflop,
        "achieved_gflops": achieved,
        "matmul_ceiling_gflops": ceiling,
        "fraction_of_ceiling": achieved / ceiling,
    }
    result["peak_rss_mb"] = peak_rss_mb()
    result["throughput_img_s"] = {str(w): throughput(images, w) for w in workers}
    return result
