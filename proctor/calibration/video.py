"""Same-session distances from short clips, for the session-anchor threshold.

A clip is one session of one person (``manifest_*.csv``: clip_id, path, person,
session, kind). Frames are sampled about one second apart (at most
``max_frames`` per clip) and pass the *snapshot* quality gate, as live captures
would. The first accepted frame is the anchor. Genuine pairs: the anchor against
later frames of its clip. Impostor pairs: each clip's anchor against the frames
of clips of other people.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from proctor.imaging.transform import encode_jpeg
from proctor.pipeline import Pipeline
from proctor.types import Embedding, RGBImage

EAST_ASIAN_CLIPS = frozenset({"LP_d0", "LP_d9", "LP_d11", "LP_d12", "LP_d13", "LP_d14", "LP_d20"})


@dataclass(frozen=True, slots=True)
class Clip:
    clip_id: str
    path: Path
    person: str
    kind: str


@dataclass(slots=True)
class ClipEmbeddings:
    clip: Clip
    vectors: list[Embedding] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)


def read_manifests(video_dir: Path) -> list[Clip]:
    clips: list[Clip] = []
    for manifest in sorted(video_dir.glob("manifest_*.csv")):
        with manifest.open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                clips.append(Clip(r["clip_id"], video_dir / r["path"], r["person"], r["kind"]))
    return clips


def sample_frames(path: Path, max_frames: int = 10, every_s: float = 1.0) -> list[RGBImage]:
    """RGB frames about ``every_s`` apart from an mp4 or a folder of numbered JPEGs."""
    if path.is_dir():
        files = sorted(path.glob("*.jpg"))
        step = max(1, round(25 * every_s))
        out: list[RGBImage] = []
        for f in files[::step][:max_frames]:
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is not None:
                out.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8))
        return out
    cap = cv2.VideoCapture(str(path))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, round(fps * every_s))
        frames: list[RGBImage] = []
        index = 0
        while len(frames) < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            if index % step == 0:
                frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8))
            index += 1
        return frames
    finally:
        cap.release()


def embed_clip(pipe: Pipeline, clip: Clip, max_frames: int = 10) -> ClipEmbeddings:
    out = ClipEmbeddings(clip)
    policy = pipe.config.snapshot_quality
    for rgb in sample_frames(clip.path, max_frames):
        # Round-trip through JPEG as a browser capture would arrive.
        a = pipe.analyze(encode_jpeg(rgb, 90), policy)
        if a.reasons or a.chip is None:
            for r in a.reasons:
                out.rejected[r] = out.rejected.get(r, 0) + 1
            continue
        out.vectors.append(pipe.embed(a, 1))
    return out


@dataclass(frozen=True, slots=True)
class AnchorDistances:
    genuine: np.ndarray
    impostor: np.ndarray
    impostor_east_asian: np.ndarray
    genuine_east_asian: np.ndarray
    clips_used: int
    frames_used: int
    frames_rejected: int


def anchor_distances(embedded: list[ClipEmbeddings]) -> AnchorDistances:
    usable = [c for c in embedded if len(c.vectors) >= 2 and c.clip.kind == "live"]
    gen: list[float] = []
    gen_ea: list[float] = []
    imp: list[float] = []
    imp_ea: list[float] = []
    for c in usable:
        anchor = c.vectors[0]
        d = [float(np.linalg.norm(v - anchor)) for v in c.vectors[1:]]
        gen.extend(d)
        if c.clip.clip_id in EAST_ASIAN_CLIPS:
            gen_ea.extend(d)
        for o in usable:
            if o.clip.person == c.clip.person:
                continue
            di = [float(np.linalg.norm(v - anchor)) for v in o.vectors[1:]]
            imp.extend(di)
            if c.clip.clip_id in EAST_ASIAN_CLIPS and o.clip.clip_id in EAST_ASIAN_CLIPS:
                imp_ea.extend(di)
    return AnchorDistances(
        np.asarray(gen),
        np.asarray(imp),
        np.asarray(imp_ea),
        np.asarray(gen_ea),
        len(usable),
        sum(len(c.vectors) for c in usable),
        sum(sum(c.rejected.values()) for c in embedded),
    )
