"""Burst adapter: decode a burst, track the face (68-point view per frame), judge liveness.

A burst arrives as a list of image bytes (one multipart request; each frame
goes through ``proctor.imaging.decode`` with the snapshot limits) or as one
short WebM/MP4 clip, decoded with OpenCV from a temporary file under caps on
bytes, pixels per frame, decoded frames and seconds. Anything unusable raises
an ``ImageError`` subclass with a stable code (``proctor.liveness.errors``).

Cost (FaceMesh, the default): the first frame with a face is analysed like a snapshot
(detection, FaceMesh alignment); from that mesh the face is tracked with one FaceMesh
call per frame (``proctor.landmarks.tracking``; BlazeFace re-detects only when the mesh
loses the face), and, in bursts asked for a blink, two iris-model calls per frame refine
the eyelids. The best frame is detected again for its quality checks but aligned from
its tracked mesh. Every embedding of the burst (the best frame, up to two identity
witnesses, the fused probe's frames) is computed once, in one batch, on chips aligned
from the tracked meshes. With ``PROCTOR_LANDMARKS=dlib68``: a HOG pass on a crop around
the previous face and dlib's 68-point predictor per frame (``BurstAnalyzer._track68``).

Frame times: a clip's own timestamps; for a list of frames, evenly spaced over
``BurstLimits.nominal_duration_s``. Both come from the client, so the duration
check is a sanity check, not a proof of timing; the challenge TTL is the
server's own clock.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from proctor.detection.dlib_hog import bbox_to_rect
from proctor.errors import ImageError
from proctor.imaging.decode import DecodeLimits, decode_image
from proctor.landmarks.facemesh import Mesh
from proctor.landmarks.ibug68 import to_ibug68
from proctor.landmarks.tracking import MeshTracker
from proctor.liveness.actions import Action
from proctor.liveness.burst_evidence import measure_evidence
from proctor.liveness.errors import BurstTooLarge, CorruptVideo, EmptyBurst, UnsupportedVideo
from proctor.liveness.geometry import (
    Points,
    eye_aspect_ratios,
    mouth_aspect_ratios,
    yaw_deg,
    yaw_degs,
)
from proctor.liveness.judge import (
    LandmarkSeries,
    LivenessPolicy,
    LivenessReason,
    LivenessResult,
    judge,
)
from proctor.liveness.outcome import BurstJudgement
from proctor.matching.fusion import FusionPolicy, frontal_quality, fuse, select_frames
from proctor.pipeline import Analysis, Pipeline
from proctor.types import BBox, Detection, RGBImage, Template

# Per-frame face search: a crop of ±ROI_HALF_SIDE face sizes around the previous face,
# scaled so the face is ROI_FACE_PX wide (HOG's window is 80 px: the face stays findable
# and the crop costs a few ms, not a whole-frame search).
ROI_HALF_SIDE = 1.0
ROI_FACE_PX = 100.0
MAX_FULL_REDETECTS = 1
# Identity witnesses within the burst are compared only when roughly frontal: beyond
# ~25° dlib's embedding drifts with pose more than with identity (a turn's last frames).
ID_MAX_YAW_DEG = 25.0
LANDMARK_SOURCES = ("facemesh", "dlib68")
EYELIDS = ("requested", "always")


@dataclass(frozen=True, slots=True)
class BurstLimits:
    """Upload caps. A list of frames: each frame also obeys the snapshot ``DecodeLimits``."""

    max_frames: int = 30
    max_total_bytes: int = 24 * 1024 * 1024
    nominal_duration_s: float = 2.0
    max_clip_bytes: int = 8 * 1024 * 1024
    max_clip_duration_s: float = 4.0
    max_clip_decoded_frames: int = 150
    max_clip_frame_pixels: int = 1920 * 1088
    frames_from_clip: int = 30

    def __post_init__(self) -> None:
        if self.max_frames < 2 or self.frames_from_clip < 2:
            raise ValueError("a burst needs at least 2 frames")
        if self.frames_from_clip > self.max_frames:
            raise ValueError("frames_from_clip must not exceed max_frames")


@dataclass(frozen=True, slots=True)
class DecodedBurst:
    frames: tuple[RGBImage, ...]
    times_s: tuple[float, ...]
    source: str  # "frames" | "clip"


# ---- decoding ---------------------------------------------------------------------------

_EBML = b"\x1a\x45\xdf\xa3"
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


def sniff_clip(data: bytes) -> str:
    """ "webm" or "mp4" from magic bytes; raises UnsupportedVideo otherwise."""
    if data[:4] == _EBML:
        return "webm"
    if len(data) >= 12 and data[4:8] in _MP4_BOXES:
        return "mp4"
    raise UnsupportedVideo("the clip is neither WebM/Matroska nor MP4/QuickTime")


def decode_frames(
    frames: Sequence[bytes], limits: BurstLimits, image_limits: DecodeLimits
) -> DecodedBurst:
    if not frames:
        raise EmptyBurst("no frames received")
    if len(frames) > limits.max_frames:
        raise BurstTooLarge(
            "too many frames", details={"frames": len(frames), "max_frames": limits.max_frames}
        )
    total = sum(len(f) for f in frames)
    if total > limits.max_total_bytes:
        raise BurstTooLarge(
            "burst is too large", details={"bytes": total, "max_bytes": limits.max_total_bytes}
        )
    rgbs: list[RGBImage] = []
    for i, data in enumerate(frames):
        try:
            rgbs.append(decode_image(data, image_limits).rgb)
        except ImageError as err:
            err.details.setdefault("frame", i)
            raise
    n = len(rgbs)
    step = limits.nominal_duration_s / (n - 1) if n > 1 else 0.0
    return DecodedBurst(tuple(rgbs), tuple(i * step for i in range(n)), "frames")


def decode_clip(data: bytes, limits: BurstLimits) -> DecodedBurst:
    """Decode a short clip with OpenCV (FFmpeg) from a private temporary file."""
    if not data:
        raise EmptyBurst("no clip bytes received")
    if len(data) > limits.max_clip_bytes:
        raise BurstTooLarge(
            "clip is too large", details={"bytes": len(data), "max_bytes": limits.max_clip_bytes}
        )
    kind = sniff_clip(data)
    fd, name = tempfile.mkstemp(suffix=f".{kind}", prefix="burst-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _read_clip(Path(name), limits)
    finally:
        Path(name).unlink(missing_ok=True)


def _read_clip(path: Path, limits: BurstLimits) -> DecodedBurst:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise CorruptVideo("the clip could not be opened")
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > limits.max_clip_frame_pixels:
            raise BurstTooLarge(
                "clip frames have too many pixels",
                details={"width": w, "height": h, "max_pixels": limits.max_clip_frame_pixels},
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        frames: list[np.ndarray] = []
        times: list[float] = []
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            if len(frames) >= limits.max_clip_decoded_frames:
                raise BurstTooLarge(
                    "clip has too many frames",
                    details={"max_frames": limits.max_clip_decoded_frames},
                )
            if (
                bgr.ndim != 3
                or bgr.shape[2] != 3
                or bgr.shape[0] * bgr.shape[1] > (limits.max_clip_frame_pixels)
            ):
                raise CorruptVideo("unexpected frame layout in the clip")
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
            frames.append(bgr)
            times.append(t)
    finally:
        cap.release()
    if not frames:
        raise CorruptVideo("the clip has no decodable frame")
    times = _clean_times(times, fps, limits)
    if times[-1] - times[0] > limits.max_clip_duration_s:
        raise BurstTooLarge(
            "clip is too long",
            details={"seconds": round(times[-1] - times[0], 3), "max": limits.max_clip_duration_s},
        )
    pick = _even_pick(times, limits.frames_from_clip)
    t0 = times[pick[0]]
    # BGR → RGB by reversing the channel axis (a copy: no decoder buffer survives).
    rgbs = tuple(np.ascontiguousarray(frames[i][:, :, ::-1]) for i in pick)
    return DecodedBurst(rgbs, tuple(times[i] - t0 for i in pick), "clip")


def _clean_times(times: list[float], fps: float, limits: BurstLimits) -> list[float]:
    """Container timestamps when sane (finite, non-decreasing, not all zero), else from fps."""
    ok = (
        all(math.isfinite(t) and t >= 0 for t in times)
        and all(b >= a for a, b in itertools.pairwise(times))
        and (len(times) == 1 or times[-1] > times[0])
    )
    if ok:
        return times
    rate = fps if math.isfinite(fps) and 1.0 <= fps <= 240.0 else 0.0
    if rate:
        return [i / rate for i in range(len(times))]
    step = limits.nominal_duration_s / max(len(times) - 1, 1)
    return [i * step for i in range(len(times))]


def _even_pick(times: Sequence[float], n: int) -> list[int]:
    """Indices of up to ``n`` frames spread evenly over the clip's time span."""
    if len(times) <= n:
        return list(range(len(times)))
    targets = np.linspace(times[0], times[-1], n)
    arr = np.asarray(times)
    out: list[int] = []
    for t in targets:
        i = int(np.argmin(np.abs(arr - t)))
        if not out or i > out[-1]:
            out.append(i)
    return out


# ---- tracking and judgement -------------------------------------------------------------


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - t0) * 1000.0


def _extent(p: Points) -> tuple[float, float, float, float]:
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


class BurstAnalyzer:
    """Judges bursts with a ``Pipeline`` (detector, aligner, encoder) and 68 landmarks.

    The landmarks come from MediaPipe's FaceMesh (default), tracked from frame to frame
    (``proctor.landmarks.tracking``), or, with ``landmarks="dlib68"`` (or
    ``PROCTOR_LANDMARKS=dlib68``), from dlib's 68-point predictor, whose training data
    is licensed for research only (models/cards/liveness.md).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        landmarks68: Path | None = None,
        policy: LivenessPolicy | None = None,
        limits: BurstLimits | None = None,
        fusion: FusionPolicy | None = None,
        *,
        landmarks: str | None = None,
        eyelids: str = "requested",
    ) -> None:
        self.pipeline = pipeline
        self.policy = policy or LivenessPolicy()
        self.limits = limits or BurstLimits()
        # Multi-frame probe: the identity comparison uses the fused embedding of the k best
        # frames (issue 21); k = 1 compares the single best frame as before.
        self.fusion = fusion or FusionPolicy()
        source = (landmarks or os.environ.get("PROCTOR_LANDMARKS") or "facemesh").strip().lower()
        if source not in LANDMARK_SOURCES:
            raise ValueError(f"unknown landmark source {source!r}: use facemesh or dlib68")
        self.landmark_source = source
        if eyelids not in EYELIDS:
            raise ValueError(f"unknown eyelids mode {eyelids!r}: use requested or always")
        # "requested": the iris model refines the eyelids only in bursts asked for a blink
        # (no other measure reads them); "always": in every burst (benchmarks re-judge one
        # burst against every challenge).
        self.eyelids = eyelids
        self._mesh: MeshTracker | None = None
        if source == "facemesh":
            from proctor.landmarks.facemesh import FaceMesh
            from proctor.landmarks.iris import IrisModel

            self._mesh = MeshTracker(FaceMesh(), pipeline.detector.detect, IrisModel())
            return
        if landmarks68 is None:
            from proctor.embedding.registry import model_spec, verify_files

            spec = model_spec(pipeline.model_id)
            verify_files(spec)
            landmarks68 = spec.file("landmarks68")
        self._shape68 = dlib.shape_predictor(str(landmarks68))
        self._hog = dlib.get_frontal_face_detector()

    # -- entry points ---------------------------------------------------------------------
    def decode(self, upload: Sequence[bytes] | bytes) -> DecodedBurst:
        if isinstance(upload, bytes | bytearray | memoryview):
            return decode_clip(bytes(upload), self.limits)
        return decode_frames(list(upload), self.limits, self.pipeline.config.decode_limits)

    def judge_burst(
        self, reference: Template, upload: Sequence[bytes] | bytes, actions: Sequence[str]
    ) -> BurstJudgement:
        """Decode and judge; raises an ``ImageError`` subclass for an unusable upload."""
        t: dict[str, float] = {}
        with _timed(t, "decode"):
            burst = self.decode(upload)
        return self.judge_frames(reference, burst.frames, burst.times_s, actions, t)

    def landmarks68(self, rgb: RGBImage, box: BBox) -> Points:
        if self._mesh is not None:
            r = self._mesh.from_box(rgb, box)
            return to_ibug68(self._mesh.refined(rgb, r, {}))
        shape = self._shape68(rgb, bbox_to_rect(box))
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float64)

    def judge_frames(
        self,
        reference: Template,
        frames: Sequence[RGBImage],
        times_s: Sequence[float],
        actions: Sequence[str],
        timings: dict[str, float] | None = None,
    ) -> BurstJudgement:
        t = timings if timings is not None else {}
        pipe = self.pipeline
        quality = pipe.config.snapshot_quality
        with _timed(t, "detect_first"):
            start, first = self._first_face(frames, t)
        if start is None or first is None or first.primary is None:
            lr = LivenessResult(False, (LivenessReason.TOO_FEW_FRAMES.value,), tuple(actions))
            verification = pipe.measure_analysis(reference, first) if first is not None else None
            return BurstJudgement(lr, verification, t, len(frames), 0)
        eyes = self.eyelids == "always" or Action.BLINK.value in actions
        idx, pts, rel, found, raw = self._track(frames, start, first, t, eyes=eyes)
        series = LandmarkSeries(tuple(times_s[i] - times_s[idx[0]] for i in idx), tuple(pts))
        # Chosen frames, all re-found by the tracker: the most frontal open-eyed frame of
        # the burst (verified against the reference), and the most frontal ones of its
        # first and final thirds. Those two are compared with the verified frame, not with
        # the burst's first frame: a first frame caught mid-blink, blurred or turned is a
        # poor witness of identity and made honest bursts fail (models/cards/liveness.md).
        # A third with no frame within ``ID_MAX_YAW_DEG`` of frontal (a turn held to the
        # end) gives no witness: a profile's embedding is not comparable with a frontal one.
        third = max(1, len(pts) // 3)
        best_k = self._best_frontal(pts, found, 0, len(pts))
        head_k = self._best_frontal(pts, found, 0, third)
        tail_k = self._best_frontal(pts, found, len(pts) - third, len(pts))
        witnesses = [k for k in (head_k, tail_k) if abs(yaw_deg(pts[k])) <= ID_MAX_YAW_DEG]
        best_i = idx[best_k]
        jitters = pipe.config.probe_jitters
        with _timed(t, "embed_chosen"):
            # The verified frame is detected again (its quality checks, a second person)
            # but aligned from its tracked mesh: no second mesh call.
            best_analysis = (
                first
                if best_i == start
                else pipe.analyze_rgb(frames[best_i], quality, {}, mesh=raw[best_k])
            )
            others = [k for k in dict.fromkeys(witnesses) if k != best_k]
            q = self.frame_qualities(pts, found)
            rest = self._fusion_frames(q, best_k) if best_analysis.chip is not None else []
            # Every embedding of the burst in one batch: the verified frame, the identity
            # witnesses and the fused probe's other frames (each frame embedded once).
            chips: dict[int, RGBImage] = {}
            for k in dict.fromkeys([*others, *rest]):
                chip = self._chip_at(frames[idx[k]], pts[k], rel, raw[k])
                if chip is not None:
                    chips[k] = chip
            batch = [best_analysis.chip] if best_analysis.chip is not None else []
            vectors = self._encode([*batch, *chips.values()], jitters)
            anchor = vectors[0] if batch else None
            known = dict(zip(chips, vectors[len(batch) :], strict=True))
            vecs = [known[k] for k in others if k in known]
            if anchor is None and vecs:  # the verified frame has no chip: compare the others
                anchor = vecs.pop(0)
            distances = [float(np.linalg.norm(v - anchor)) for v in vecs if anchor is not None]
        with _timed(t, "verify_best"):
            probe = None
            if batch and anchor is not None:
                fused = self._fuse(anchor, best_k, rest, q, known)
                probe = fused if fused is not None else anchor
            verification = pipe.measure_analysis(reference, _fresh(best_analysis), probe)
        with _timed(t, "evidence"):  # issue 20: colours for the light code, continuity
            colours, continuity = measure_evidence(frames, idx, pts)
        with _timed(t, "judge"):
            lr = judge(series, actions, self.policy, distances)
        chosen = tuple(dict.fromkeys(idx[k] for k in (best_k, *others)))
        return BurstJudgement(
            lr,
            verification,
            t,
            len(frames),
            len(idx),
            chosen,
            series,
            tuple(distances),
            tuple(times_s),
            tuple(idx),
            colours,
            continuity,
        )

    # -- internals ------------------------------------------------------------------------
    def _first_face(
        self, frames: Sequence[RGBImage], t: dict[str, float]
    ) -> tuple[int | None, Analysis | None]:
        quality = self.pipeline.config.snapshot_quality
        first: Analysis | None = None
        # A face must appear within the first third of the burst.
        for i in range(max(1, len(frames) // 3)):
            a = self.pipeline.analyze_rgb(frames[i], quality, {})
            first = first or a
            if a.primary is not None:
                return i, a
        return None, first

    def _track(
        self,
        frames: Sequence[RGBImage],
        start: int,
        first: Analysis,
        t: dict[str, float],
        *,
        eyes: bool = True,
    ) -> tuple[
        list[int],
        list[Points],
        tuple[float, float, float, float],
        list[bool],
        list[Mesh | None],
    ]:
        """68 landmarks on every frame from ``start`` (``first``: that frame's analysis),
        and each frame's raw mesh (None with dlib's 68 points).

        FaceMesh (default): ``MeshTracker.track``, seeded with the mesh the pipeline's
        aligner already ran on the first frame; eyelids refined when ``eyes``.

        dlib's 68 points: each frame's face re-found by HOG.

        Seeding the predictor from the previous frame's landmarks alone drifts when the
        head moves between frames (6–15 fps): the points slide off a turning or laughing
        face and the yaw flips sign. So each frame gets one cheap HOG pass on a crop
        around the previous face, scaled so the face is ``ROI_FACE_PX`` wide. When HOG
        finds nothing there (motion blur, a near-profile pose), the frame falls back to
        the seeded predictor (two passes) and is marked untracked: kept for the action
        measures when plausible, never chosen for an embedding.
        """
        assert first.primary is not None
        box0 = first.primary.bbox
        if self._mesh is not None:
            track = self._mesh.track(frames, start, box0, t, seed=first.mesh, eyes=eyes)
            raw: list[Mesh | None] = list(track.raw)
            return track.idx, track.pts, _box_rel(box0, track.pts[0]), track.found, raw
        idx, pts, rel, found = self._track68(frames, start, box0, t)
        return idx, pts, rel, found, [None] * len(idx)

    def _track68(
        self, frames: Sequence[RGBImage], start: int, box0: BBox, t: dict[str, float]
    ) -> tuple[list[int], list[Points], tuple[float, float, float, float], list[bool]]:
        with _timed(t, "landmarks68"):
            p0 = self.landmarks68(frames[start], box0)
        lx1, ly1, lx2, ly2 = _extent(p0)
        size0 = max(lx2 - lx1, ly2 - ly1, 1.0)
        # The detector box relative to the landmark extent, in units of the extent's size.
        rel = (
            (box0.x1 - lx1) / size0,
            (box0.y1 - ly1) / size0,
            (box0.x2 - lx2) / size0,
            (box0.y2 - ly2) / size0,
        )
        idx, pts, found = [start], [p0], [True]
        prev = p0
        full_redetects = 0
        for i in range(start + 1, len(frames)):
            rgb = frames[i]
            with _timed(t, "track_detect"):
                box = self._roi_detect(rgb, prev)
            if box is not None:
                with _timed(t, "landmarks68"):
                    p = self.landmarks68(rgb, box)
                if _plausible(p, prev):
                    idx.append(i)
                    pts.append(p)
                    found.append(True)
                    prev = p
                    continue
            p_seed = self._seeded(rgb, prev, rel, t)
            if p_seed is None and full_redetects < MAX_FULL_REDETECTS:
                # Lost near the crop: one bounded whole-frame search per burst.
                full_redetects += 1
                with _timed(t, "redetect"):
                    dets = self.pipeline.detector.detect(rgb)
                if dets:
                    near = min(dets, key=lambda d: _centre_gap(d.bbox, prev))
                    with _timed(t, "landmarks68"):
                        p = self.landmarks68(rgb, near.bbox)
                    if _plausible(p, prev):
                        idx.append(i)
                        pts.append(p)
                        found.append(True)
                        prev = p
                continue
            if p_seed is not None:
                idx.append(i)
                pts.append(p_seed)
                found.append(False)
                prev = p_seed
        return idx, pts, rel, found

    def _roi_detect(self, rgb: RGBImage, prev: Points) -> BBox | None:
        """One HOG pass on a crop around the previous face; the box nearest its centre."""
        x1, y1, x2, y2 = _extent(prev)
        size = max(x2 - x1, y2 - y1, 1.0)
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        h, w = rgb.shape[:2]
        half = ROI_HALF_SIDE * size
        rx1, ry1 = max(0, int(cx - half)), max(0, int(cy - half))
        rx2, ry2 = min(w, int(cx + half)), min(h, int(cy + half))
        if rx2 - rx1 < 16 or ry2 - ry1 < 16:
            return None
        scale = ROI_FACE_PX / size
        crop = rgb[ry1:ry2, rx1:rx2]
        interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        small = np.ascontiguousarray(
            cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interp)
        )
        rects = self._hog(small, 0)
        if not rects:
            return None
        boxes = [
            BBox(
                max(0, round(r.left() / scale) + rx1),
                max(0, round(r.top() / scale) + ry1),
                min(w, round((r.right() + 1) / scale) + rx1),
                min(h, round((r.bottom() + 1) / scale) + ry1),
            )
            for r in rects
        ]
        boxes = [b for b in boxes if b.x2 - b.x1 >= 8 and b.y2 - b.y1 >= 8]
        if not boxes:
            return None
        return min(boxes, key=lambda b: _centre_gap(b, prev))

    def _seeded(
        self,
        rgb: RGBImage,
        prev: Points,
        rel: tuple[float, float, float, float],
        t: dict[str, float],
    ) -> Points | None:
        """Landmarks seeded from the previous frame's, refined once from their own result."""
        p: Points | None = prev
        for _ in range(2):
            assert p is not None
            box = _box_from(p, rel, rgb.shape[1], rgb.shape[0])
            if box is None:
                return None
            with _timed(t, "landmarks68"):
                p = self.landmarks68(rgb, box)
        assert p is not None
        return p if _plausible(p, prev) else None

    def _best_frontal(self, pts: Sequence[Points], found: Sequence[bool], lo: int, hi: int) -> int:
        """Index in [lo, hi) of the most frontal, open-eyed, closed-mouth frame, preferring
        frames whose face HOG found (tracked-only frames may carry drifted points)."""
        ears = eye_aspect_ratios(pts)
        open_eyes = float(np.median(ears)) * 0.85
        ks = [k for k in range(lo, hi) if found[k]] or list(range(lo, hi))
        sel = np.asarray(ks)
        scores = (
            np.abs(yaw_degs(np.asarray(pts)[sel]))
            + 50.0 * mouth_aspect_ratios(np.asarray(pts)[sel])
            + np.where(ears[sel] < open_eyes, 100.0, 0.0)
        )
        return ks[int(np.argmin(scores))]

    def frame_qualities(self, pts: Sequence[Points], found: Sequence[bool]) -> list[float]:
        """Fusion quality of each tracked frame: frontality (``frontal_quality`` of the yaw,
        0 beyond ``ID_MAX_YAW_DEG``); NaN for frames HOG did not re-find or caught with the
        eyes closed (the same test as ``_best_frontal``), which never take part."""
        ears = eye_aspect_ratios(pts)
        open_eyes = float(np.median(ears)) * 0.85 if len(ears) else 0.0
        yaws = yaw_degs(pts)
        return [
            frontal_quality(float(yaws[k]), ID_MAX_YAW_DEG)
            if found[k] and ears[k] >= open_eyes
            else float("nan")
            for k in range(len(pts))
        ]

    def _fusion_frames(self, q: Sequence[float], best_k: int) -> list[int]:
        """The fused probe's frames besides the verified one (none when fusion is off)."""
        if self.fusion.k <= 1:
            return []
        return [k for k in select_frames(q, self.fusion) if k != best_k][: self.fusion.k - 1]

    def _fuse(
        self,
        best_vec: np.ndarray,
        best_k: int,
        rest: Sequence[int],
        q: Sequence[float],
        known: dict[int, np.ndarray],
    ) -> np.ndarray | None:
        """The burst's identity probe: the best frame fused with the next best (None: the
        best frame alone, when fusion is off or no other frame qualifies)."""
        vecs, weights = [best_vec], [q[best_k] if np.isfinite(q[best_k]) else 1.0]
        for k in rest:
            if k in known:  # a frame whose tracked face left the frame has no vector
                vecs.append(known[k])
                weights.append(q[k])
        return fuse(vecs, weights, self.fusion.weighting) if len(vecs) > 1 else None

    def _encode(self, chips: Sequence[RGBImage], jitters: int) -> list[np.ndarray]:
        """Embeddings of aligned chips: one batched forward pass when the encoder has one."""
        enc = self.pipeline.encoder
        if not chips:
            return []
        batched = getattr(enc, "encode_chips", None)
        if jitters <= 1 and batched is not None:
            return list(batched(list(chips)))
        return [enc.encode_chip(c, jitters) for c in chips]

    def _chip_at(
        self,
        rgb: RGBImage,
        pts: Points,
        rel: tuple[float, float, float, float],
        mesh: Mesh | None = None,
    ) -> RGBImage | None:
        """The aligned chip of a tracked frame (from its raw mesh when there is one);
        None when the tracked face left the frame."""
        box = _box_from(pts, rel, rgb.shape[1], rgb.shape[0])
        if box is None:
            return None
        eyes = (tuple(pts[36:42].mean(axis=0)), tuple(pts[42:48].mean(axis=0)))
        shape, _, _ = self.pipeline.align(rgb, Detection(box, 1.0, keypoints=eyes), mesh)
        chip: RGBImage = self.pipeline.encoder.chip(rgb, shape)
        return chip


def _box_rel(box: BBox, p: Points) -> tuple[float, float, float, float]:
    """The detector box relative to the landmark extent, in units of the extent's size."""
    lx1, ly1, lx2, ly2 = _extent(p)
    size = max(lx2 - lx1, ly2 - ly1, 1.0)
    return (
        (box.x1 - lx1) / size,
        (box.y1 - ly1) / size,
        (box.x2 - lx2) / size,
        (box.y2 - ly2) / size,
    )


def _fresh(a: Analysis) -> Analysis:
    """The analysis with its own timing dict, so the verification reports only its stages."""
    return Analysis(a.rgb, a.detections, a.primary, a.quality, a.chip, dict(a.timings_ms))


def _box_from(
    p: Points, rel: tuple[float, float, float, float], width: int, height: int
) -> BBox | None:
    x1, y1, x2, y2 = _extent(p)
    size = max(x2 - x1, y2 - y1, 1.0)
    bx1 = max(0, round(x1 + rel[0] * size))
    by1 = max(0, round(y1 + rel[1] * size))
    bx2 = min(width, round(x2 + rel[2] * size))
    by2 = min(height, round(y2 + rel[3] * size))
    if bx2 - bx1 < 8 or by2 - by1 < 8:
        return None
    return BBox(bx1, by1, bx2, by2)


def _plausible(p: Points, prev: Points) -> bool:
    """Tracking kept the face: similar size, and it did not jump by more than its width."""
    w_prev = float(np.ptp(prev[:, 0])) or 1.0
    w = float(np.ptp(p[:, 0]))
    jump = float(np.hypot(*(p.mean(axis=0) - prev.mean(axis=0))))
    return 0.6 < w / w_prev < 1.6 and jump < 0.5 * w_prev


def _centre_gap(box: BBox, p: Points) -> float:
    cx, cy = (box.x1 + box.x2) / 2.0, (box.y1 + box.y2) / 2.0
    m = p.mean(axis=0)
    return float(np.hypot(cx - m[0], cy - m[1]))
