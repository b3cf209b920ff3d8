"""Measure the replay tests of issue 17 on the shared data (never copied into the project).

1. Reference replay: for genuine same-person pairs (a, b) of the face pair lists, ``a``
   is the reference. Copies of ``a`` (resized, re-encoded, cropped, mirrored) must be
   caught by :func:`check_reference_replay`; the genuine photo ``b`` must not be.
2. Session near-duplicates: frames of one clip at least ``gap_s`` apart (a person in
   front of a camera, as in a study session): how often does a genuine later frame hit
   the near-duplicate test (dHash within ``ReplayPolicy`` bits) of an earlier one?

``python -m proctor.bench.replay_measure`` prints both as JSON, with the shipped pipeline
(``ProctorSettings()`` defaults) and the shipped policies. Spreads are [min, p05, median, max].
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from proctor.bench.pairs import read_pairs
from proctor.calibration.video import read_manifests, sample_frames
from proctor.errors import ProctorError
from proctor.imaging.decode import pixel_sha256
from proctor.imaging.hashing import dhash64
from proctor.imaging.transform import encode_jpeg, mirrored_jpeg
from proctor.liveness.reference_replay import ReferenceReplayPolicy, check_reference_replay
from proctor.liveness.replay import ReplayPolicy, hamming_bits
from proctor.pipeline import Pipeline
from proctor.types import FaceMeasurement, RGBImage, Template

Row = tuple[float | None, float | None, int | None]  # (d reference, d mirrored, hash bits)


def _decode(data: bytes) -> RGBImage:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("undecodable photo")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)


def _resize(rgb: RGBImage, f: float) -> RGBImage:
    h, w = rgb.shape[:2]
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)


def _crop(rgb: RGBImage, keep: float) -> RGBImage:
    h, w = rgb.shape[:2]
    dy, dx = round(h * (1 - keep) / 2), round(w * (1 - keep) / 2)
    return np.ascontiguousarray(rgb[dy : h - dy, dx : w - dx])


def _flip(rgb: RGBImage) -> RGBImage:
    return np.ascontiguousarray(rgb[:, ::-1])


# The copies an attacker can make of the reference photo (issue 17 names these four).
COPIES: dict[str, Callable[[RGBImage], bytes]] = {
    "same_photo_q95": lambda x: encode_jpeg(x, 95),
    "resized_0.5": lambda x: encode_jpeg(_resize(x, 0.5), 92),
    "upscaled_1.6": lambda x: encode_jpeg(_resize(x, 1.6), 92),
    "reencoded_q30": lambda x: encode_jpeg(x, 30),
    "cropped_0.85": lambda x: encode_jpeg(_crop(x, 0.85), 92),
    "mirrored": lambda x: encode_jpeg(_flip(x), 92),
    "mirrored_resized_0.7_q50": lambda x: encode_jpeg(_resize(_flip(x), 0.7), 50),
}


@dataclass
class ReferenceRows:
    pairs: int = 0
    genuine: list[Row] = field(default_factory=list)
    copies: dict[str, list[Row]] = field(default_factory=dict)


def _row(template: Template, mirror: Template | None, r: FaceMeasurement) -> Row:
    dm = None
    if mirror is not None and r.probe is not None:
        dm = float(np.linalg.norm(r.probe.vector - mirror.vector))
    ham = (
        min(hamming_bits(h, r.perceptual_hash) for h in template.perceptual_hashes)
        if r.perceptual_hash and template.perceptual_hashes
        else None
    )
    return r.reference_l2, dm, ham


def measure_reference(
    pipe: Pipeline, face_dir: Path, pair_files: Sequence[str], limit: int
) -> ReferenceRows:
    out = ReferenceRows(copies={k: [] for k in COPIES})
    for name in pair_files:
        for p in [p for p in read_pairs(face_dir / name) if p.same][:limit]:
            a_bytes, b_bytes = (face_dir / p.a).read_bytes(), (face_dir / p.b).read_bytes()
            try:
                template = pipe.enroll([a_bytes])
                g = pipe.measure(template, b_bytes)
                m = mirrored_jpeg(a_bytes)
                mirror = None if m is None else pipe.enroll([m])
            except ProctorError:  # a refused reference or an unreadable file: not a pair
                continue
            if g.reference_l2 is None or not g.perceptual_hash:
                continue
            out.pairs += 1
            out.genuine.append(_row(template, mirror, g))
            rgb = _decode(a_bytes)
            for kind, make in COPIES.items():
                out.copies[kind].append(_row(template, mirror, pipe.measure(template, make(rgb))))
    return out


def _caught(row: Row, policy: ReferenceReplayPolicy) -> bool:
    d, dm, h = row
    top = 1 << 63  # a probe hash exactly h bits from the reference hash
    probe = 0 if h is None else top | ((1 << min(h, 63)) - 1)
    return check_reference_replay(probe, d, (top,), policy, mirror_distance=dm).replayed


def _spread(values: Sequence[float | int | None]) -> list[float] | None:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if not v.size:
        return None
    stats = (v.min(), np.percentile(v, 5), np.median(v), v.max())
    return [round(float(x), 3) for x in stats]


def reference_table(rows: ReferenceRows, policy: ReferenceReplayPolicy) -> dict[str, object]:
    copies = {
        k: {
            "caught": sum(_caught(r, policy) for r in v),
            "of": len(v),
            "distance": _spread([r[0] for r in v]),
            "mirror_distance": _spread([r[1] for r in v]),
            "hash_bits": _spread([r[2] for r in v]),
        }
        for k, v in rows.copies.items()
    }
    return {
        "policy": asdict(policy),
        "genuine_pairs": rows.pairs,
        "genuine_refused": sum(_caught(r, policy) for r in rows.genuine),
        "genuine_distance": _spread([r[0] for r in rows.genuine]),
        "genuine_mirror_distance": _spread([r[1] for r in rows.genuine]),
        "genuine_hash_bits": _spread([r[2] for r in rows.genuine]),
        "copies": copies,
    }


@dataclass
class SessionRows:
    clips: int = 0
    frames: int = 0
    pair_bits: list[int] = field(default_factory=list)
    later_nearest: list[int] = field(default_factory=list)
    exact: int = 0


def measure_session(pipe: Pipeline, video_dir: Path, gap_s: float, max_frames: int) -> SessionRows:
    out = SessionRows()
    policy = pipe.config.snapshot_quality
    for clip in read_manifests(video_dir):
        if clip.kind != "live":
            continue
        seen: list[tuple[int, str]] = []
        for rgb in sample_frames(clip.path, max_frames, every_s=gap_s):
            a = pipe.analyze(encode_jpeg(rgb, 90), policy)  # as a browser capture arrives
            if a.reasons or a.chip is None:
                continue
            seen.append((dhash64(a.chip), pixel_sha256(a.rgb)))
        if len(seen) < 2:
            continue
        out.clips += 1
        out.frames += len(seen)
        for i in range(1, len(seen)):
            bits = [hamming_bits(seen[i][0], h) for h, _ in seen[:i]]
            out.later_nearest.append(min(bits))
            out.pair_bits.extend(bits)
            out.exact += any(seen[i][1] == s for _, s in seen[:i])
    return out


def session_table(rows: SessionRows, policy: ReplayPolicy) -> dict[str, object]:
    limit = policy.near_duplicate_max_hamming_bits
    return {
        "near_duplicate_max_hamming_bits": limit,
        "clips": rows.clips,
        "frames": rows.frames,
        "later_frames": len(rows.later_nearest),
        "later_frames_hit": sum(b <= limit for b in rows.later_nearest),
        "pairs": len(rows.pair_bits),
        "pairs_hit": sum(b <= limit for b in rows.pair_bits),
        "exact_pixel_repeats": rows.exact,
        "pair_bits": _spread(rows.pair_bits),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="issue 17 replay measurements")
    ap.add_argument("--faces", type=Path, default=Path(os.environ.get("PROCTOR_FACE_DATA", "")))
    ap.add_argument("--video", type=Path, default=Path(os.environ.get("PROCTOR_VIDEO_DATA", "")))
    ap.add_argument("--pairs", nargs="*", default=["lfw_dev_pairs.tsv", "asian_dev_pairs.tsv"])
    ap.add_argument("--limit", type=int, default=60, help="genuine pairs per list")
    ap.add_argument("--gap-s", type=float, default=5.0)
    ap.add_argument("--max-frames", type=int, default=12)
    ap.add_argument("--skip-video", action="store_true")
    ap.add_argument("--skip-faces", action="store_true")
    ap.add_argument("--raw", type=Path, default=None, help="also write the raw rows (JSON)")
    args = ap.parse_args(argv)
    from proctor.bootstrap import build_pipeline
    from proctor.operating_policy import load_operating_policy

    pipe = build_pipeline()
    report: dict[str, object] = {
        "model_id": pipe.model_id,
        "threshold_l2": load_operating_policy(model_id=pipe.model_id).reference.match_l2,
    }
    if args.video.is_dir() and not args.skip_video:
        s = measure_session(pipe, args.video, args.gap_s, args.max_frames)
        report["session_near_duplicates"] = {
            f"{b}_bits": session_table(s, ReplayPolicy(b)) for b in (3, 5, 8)
        }
        report["session_gap_s"] = args.gap_s
    if args.faces.is_dir() and not args.skip_faces:
        r = measure_reference(pipe, args.faces, args.pairs, args.limit)
        shipped = ReferenceReplayPolicy()
        report["reference_replay"] = [
            reference_table(r, p)
            for p in (
                shipped,
                ReferenceReplayPolicy(
                    max_hamming_bits=0,
                    distance_floor_l2=shipped.distance_floor_l2,
                    mirror_floor_l2=shipped.mirror_floor_l2,
                ),
                ReferenceReplayPolicy(distance_floor_l2=0.0, mirror_floor_l2=0.0),
            )
        ]
        if args.raw is not None:
            args.raw.write_text(json.dumps({"genuine": r.genuine, "copies": r.copies}))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
