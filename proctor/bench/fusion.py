"""`proctor bench fusion`: single best frame against fused multi-frame probes, on the clips.

Each live clip of ``$PROCTOR_VIDEO_DATA`` gives 2-second bursts (30 frames, the shipped
burst) at least ``gap_s`` apart. Every burst runs the shipped burst analyzer's own steps
(first face, 68-point tracking, ``frame_qualities``, the best frontal frame), and every
qualifying frame is embedded once; the fusion rules are then scored offline on those
embeddings, so each rule sees exactly the same frames.

Comparisons (L2 distance, lower is more alike):
- ``same_session``: a later burst against the single best frame of the clip's first burst
  (a live reference of the same sitting, like the session anchor);
- ``cross_video``: a burst against the first-burst frame of *another video* of the same
  person (VX_7414 and VX_5176 have two videos each): the nearest the data comes to a
  reference photo taken on another day;
- ``impostor``: a burst against every other person's reference frame (``impostor_ea``:
  East-Asian clips among themselves).

The clips are dev data: k and the weighting are chosen here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from proctor.calibration.video import EAST_ASIAN_CLIPS, Clip, read_manifests
from proctor.liveness.burst import BurstAnalyzer
from proctor.matching.fusion import FusionPolicy, Weighting, fuse, select_frames
from proctor.types import RGBImage

# Persons whose clips are the same man under another label (the manifest's UNC_ ids).
SAME_PERSON = {"UNC_5176": "VX_5176", "UNC_5816": "VX_5816_img"}
KS = (1, 2, 3, 5, 8, 12, 30)


@dataclass(slots=True)
class Burst:
    clip: str
    person: str
    start_s: float
    best_k: int
    qualities: list[float]
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    # the best frame's snapshot quality reasons: the service rejects such a capture
    quality_reasons: tuple[str, ...] = ()

    def probe(self, policy: FusionPolicy) -> np.ndarray:
        """What the shipped analyzer compares: the best frame fused with the next best."""
        best = self.vectors[self.best_k]
        if policy.k <= 1:
            return best
        q = [x if k in self.vectors else float("nan") for k, x in enumerate(self.qualities)]
        rest = [k for k in select_frames(q, policy) if k != self.best_k][: policy.k - 1]
        if not rest:
            return best
        qb = q[self.best_k] if np.isfinite(q[self.best_k]) else 1.0
        return fuse(
            [best, *(self.vectors[k] for k in rest)], [qb, *(q[k] for k in rest)], policy.weighting
        )


def _frames(path: Path, fps_default: float = 25.0) -> tuple[list[RGBImage], float]:
    import cv2

    if path.is_dir():
        out: list[RGBImage] = []
        for f in sorted(path.glob("*.jpg")):
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is not None:
                out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
        return out, fps_default
    from proctor.bench.liveness import read_clip

    return read_clip(path)


def bursts_of(
    analyzer: BurstAnalyzer, clip: Clip, *, gap_s: float, per_clip: int, n: int = 30
) -> list[Burst]:
    from proctor.bench.liveness import window

    frames, fps = _frames(clip.path)
    if len(frames) < n:
        return []
    duration = len(frames) / fps
    out: list[Burst] = []
    start = 0.0
    while len(out) < per_clip and start + 2.0 <= duration:
        burst, _ = window(frames, fps, start, n)
        b = _analyse(analyzer, clip, start, burst)
        if b is not None:
            out.append(b)
        start += gap_s
    return out


def _analyse(
    analyzer: BurstAnalyzer, clip: Clip, start_s: float, frames: Sequence[RGBImage]
) -> Burst | None:
    pipe = analyzer.pipeline
    t: dict[str, float] = {}
    first_i, first = analyzer._first_face(frames, t)
    if first_i is None or first is None or first.primary is None:
        return None
    idx, pts, rel, found, raw = analyzer._track(frames, first_i, first, t, eyes=True)
    q = analyzer.frame_qualities(pts, found)
    best_k = analyzer._best_frontal(pts, found, 0, len(pts))
    a = pipe.analyze_rgb(frames[idx[best_k]], pipe.config.snapshot_quality, {}, mesh=raw[best_k])
    if a.chip is None:
        return None
    person = SAME_PERSON.get(clip.person, clip.person)
    b = Burst(clip.clip_id, person, start_s, best_k, q, {best_k: pipe.embed(a)}, a.reasons)
    for k, qk in enumerate(q):
        if k != best_k and np.isfinite(qk):
            chip = analyzer._chip_at(frames[idx[k]], pts[k], rel, raw[k])
            if chip is not None:
                b.vectors[k] = pipe.encoder.encode_chip(chip, pipe.config.probe_jitters)
    return b


def score(bursts: list[Burst], policy: FusionPolicy) -> dict[str, list[float]]:
    """Distances of each comparison kind for one fusion rule (references: single frames)."""
    firsts: dict[str, Burst] = {}
    for b in bursts:
        firsts.setdefault(b.clip, b)
    refs = {c: b.vectors[b.best_k] for c, b in firsts.items()}
    out: dict[str, list[float]] = {
        "same_session": [],
        "cross_video": [],
        "impostor": [],
        "impostor_ea": [],
    }
    for b in bursts:
        v = b.probe(policy)
        for clip, ref in refs.items():
            other = firsts[clip]
            d = float(np.linalg.norm(v - ref))
            if clip == b.clip:
                if b is not other:
                    out["same_session"].append(d)
            elif other.person == b.person:
                out["cross_video"].append(d)
            else:
                out["impostor"].append(d)
                if clip in EAST_ASIAN_CLIPS and b.clip in EAST_ASIAN_CLIPS:
                    out["impostor_ea"].append(d)
    return out


def summarise(dist: dict[str, list[float]], thresholds: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, ds in dist.items():
        a = np.asarray(ds)
        row: dict[str, Any] = {"n": int(a.size)}
        if a.size:
            row |= {
                "median": round(float(np.median(a)), 4),
                "p95": round(float(np.percentile(a, 95)), 4),
            }
            row |= {"p05": round(float(np.percentile(a, 5)), 4)}
            for t in thresholds:
                k = int((a <= t).sum())
                row[f"below_{t}"] = [k, round(k / a.size, 4)]
        out[kind] = row
    gen = np.asarray(dist["same_session"] + dist["cross_video"])
    imp = np.asarray(dist["impostor"])
    if gen.size and imp.size:
        pooled = np.sqrt(0.5 * (gen.var() + imp.var()))
        out["d_prime"] = round(float((imp.mean() - gen.mean()) / pooled), 3)
    return out


def run_fusion(
    video_dir: Path,
    analyzer: BurstAnalyzer,
    *,
    gap_s: float = 6.0,
    per_clip: int = 4,
    thresholds: Sequence[float] = (0.43, 0.444),
) -> dict[str, Any]:
    bursts = collect_bursts(video_dir, analyzer, gap_s=gap_s, per_clip=per_clip)
    return fusion_report(bursts, gap_s, thresholds)


def collect_bursts(
    video_dir: Path, analyzer: BurstAnalyzer, *, gap_s: float = 6.0, per_clip: int = 4
) -> list[Burst]:
    clips = [c for c in read_manifests(video_dir) if c.kind == "live"]
    bursts: list[Burst] = []
    for c in clips:
        bursts.extend(bursts_of(analyzer, c, gap_s=gap_s, per_clip=per_clip))
    return bursts


def fusion_report(bursts: list[Burst], gap_s: float, thresholds: Sequence[float]) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    for k in KS:
        for w in (Weighting.QUALITY, Weighting.UNIFORM) if k > 1 else (Weighting.QUALITY,):
            name = "single" if k == 1 else f"k{k}_{w.value}"
            rules[name] = summarise(score(bursts, FusionPolicy(k, w)), thresholds)
    frames_used = [len(b.vectors) for b in bursts]
    return {
        "clips": len({b.clip for b in bursts}),
        "bursts": len(bursts),
        "frames_embedded_per_burst": {
            "median": float(np.median(frames_used)) if frames_used else 0.0,
            "min": min(frames_used, default=0),
        },
        "gap_s": gap_s,
        "thresholds": list(thresholds),
        "rules": rules,
    }


def scored_pairs(
    bursts: list[Burst], policy: FusionPolicy, cohort: Any | None
) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) similarities of burst probes against the clips' reference frames:
    −L2 without a cohort, s-norm z with one (``LabelledCohort`` of other people)."""
    firsts: dict[str, Burst] = {}
    for b in bursts:
        firsts.setdefault(b.clip, b)
    gen: list[float] = []
    imp: list[float] = []
    for b in bursts:
        v = b.probe(policy)
        for other in firsts.values():
            if other is b:
                continue
            ref = other.vectors[other.best_k]
            d = float(np.linalg.norm(v - ref))
            s = -d if cohort is None else cohort.score(ref, v, "", "")
            (gen if other.person == b.person else imp).append(s)
    return np.asarray(gen), np.asarray(imp)
