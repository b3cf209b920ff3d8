"""`proctor bench liveness`: action detection, APCER per attack type, BPCER and burst cost.

Genuine data: the hand-labelled clips of ``fixtures/liveness/annotations.toml``
(timestamps only) from ``../shared/data/video`` (PROCTOR_VIDEO_DATA). A burst
is emulated as 2 s of a clip sampled at ``frames_per_burst`` evenly spaced
frames. Per action:

- detection rate: labelled events whose centred 2 s burst shows the action;
- false detection rate: 2 s bursts (1 s apart) with no labelled event of that
  action (0.3 s margin) in which the detector still fires.

Presentations, each judged against all 16 challenges (4 single actions, 12
ordered pairs); accepted = liveness passed and the best frame matched:

- bona fide: each labelled event's burst, challenged with its own action
  (an optimistic stand-in for a driver following the instruction) → BPCER; the
  reference is the clip's most neutral frame at least 0.5 s outside the burst
  (``reference_outside``), never one of the burst's own frames;
- ``replay``: 2 s windows of ``fake.mp4`` cropped to the phone screen, referenced
  against the same man's ``real.mov``;
- ``still``: one frame of each genuine clip repeated as a burst;
- ``photo2d``: ``fixtures/images/downloaded/obama.jpg`` moved, scaled, rolled and
  tilted by homographies to imitate turns and nods, with sensor noise.

Cost: per-stage milliseconds of the bona fide bursts, next to one snapshot
``verify`` of the same frames. Tiny data: every rate comes with its counts.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import OperatingPolicy
from proctor.liveness.actions import Action
from proctor.liveness.judge import LandmarkSeries, LivenessPolicy, detect_actions, judge
from proctor.liveness.outcome import BurstJudgement
from proctor.types import RGBImage, Template

if TYPE_CHECKING:  # the CLI imports this module: no cv2 / dlib until the command runs
    from proctor.liveness.burst import BurstAnalyzer

ROOT = Path(__file__).resolve().parents[2]
ANNOTATIONS = ROOT / "fixtures" / "liveness" / "annotations.toml"
PHOTO = ROOT / "fixtures" / "images" / "downloaded" / "obama.jpg"
BURST_S = 2.0
CHALLENGES: tuple[tuple[Action, ...], ...] = (
    *((a,) for a in Action),
    *itertools.permutations(Action, 2),
)


def video_root() -> Path:
    return Path(
        os.environ.get("PROCTOR_VIDEO_DATA", str(ROOT.parent / "shared" / "data" / "video"))
    )


@dataclass(frozen=True, slots=True)
class Event:
    action: Action
    start_s: float
    end_s: float

    @property
    def mid_s(self) -> float:
        return (self.start_s + self.end_s) / 2.0


@dataclass(frozen=True, slots=True)
class Clip:
    id: str
    path: str
    until_s: float
    complete: tuple[Action, ...]
    events: tuple[Event, ...]


def load_annotations(path: Path = ANNOTATIONS) -> tuple[list[Clip], dict[str, Any]]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    clips = [
        Clip(
            c["id"],
            c["path"],
            float(c["until_s"]),
            tuple(Action(a) for a in c.get("complete", [])),
            tuple(
                Event(Action(e["action"]), float(e["start_s"]), float(e["end_s"]))
                for e in c.get("events", [])
            ),
        )
        for c in raw["clips"]
    ]
    return clips, dict(raw.get("attacks", {}))


def read_clip(
    path: Path, until_s: float | None = None, crop_xyxy: Sequence[int] | None = None
) -> tuple[list[RGBImage], float]:
    """RGB frames (optionally cropped) up to ``until_s``, and the clip's frame rate."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    frames: list[RGBImage] = []
    try:
        while until_s is None or len(frames) / fps <= until_s + 1e-6:
            ok, bgr = cap.read()
            if not ok:
                break
            if crop_xyxy is not None:
                x1, y1, x2, y2 = crop_xyxy
                bgr = bgr[y1:y2, x1:x2]
            frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    finally:
        cap.release()
    return frames, fps


def window(
    frames: Sequence[RGBImage], fps: float, start_s: float, n: int
) -> tuple[list[RGBImage], list[float]]:
    last = len(frames) - 1
    start_s = max(0.0, min(start_s, last / fps - BURST_S))
    idx = [min(last, round((start_s + BURST_S * k / (n - 1)) * fps)) for k in range(n)]
    return [frames[i] for i in idx], [i / fps - idx[0] / fps for i in idx]


@dataclass(slots=True)
class Rate:
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.total += 1

    def __str__(self) -> str:
        if not self.total:
            return "n/a (0)"
        return f"{self.hits / self.total:.1%} ({self.hits}/{self.total})"


@dataclass(slots=True)
class Report:
    detection: dict[str, Rate] = field(default_factory=dict)
    false_detection: dict[str, Rate] = field(default_factory=dict)
    bpcer: Rate = field(default_factory=Rate)
    bpcer_liveness: Rate = field(default_factory=Rate)  # liveness alone, face match aside
    bpcer_reasons: Counter[str] = field(default_factory=Counter)
    apcer: dict[str, Rate] = field(default_factory=dict)
    apcer_single: dict[str, Rate] = field(default_factory=dict)
    apcer_pair: dict[str, Rate] = field(default_factory=dict)
    attack_reasons: dict[str, Counter[str]] = field(default_factory=dict)
    cost_ms: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _cost(report: Report, key: str, ms: float) -> None:
    report.cost_ms.setdefault(key, []).append(ms)


def reference_from(analyzer: BurstAnalyzer, rgb: RGBImage) -> Template | None:
    pipe = analyzer.pipeline
    a = pipe.analyze_rgb(rgb, pipe.config.reference_quality)
    if a.chip is None:
        a = pipe.analyze_rgb(rgb, pipe.config.snapshot_quality)
    if a.chip is None:
        return None
    return Template(pipe.model_id, pipe.embed(a))


def reference_outside(
    analyzer: BurstAnalyzer, frames: Sequence[RGBImage], fps: float, start_s: float
) -> Template | None:
    """A reference from a neutral frame of the clip away from the burst [start_s, +2 s].

    The bona fide burst must not be judged against one of its own frames (distance 0).
    Like an enrolment photo, the reference is the most frontal open-eyed closed-mouth
    frame (every 0.25 s) at least 0.5 s outside the burst; on a clip too short for that,
    the farthest frame.
    """
    from proctor.liveness.geometry import eye_aspect_ratio, mouth_aspect_ratio, yaw_deg

    pipe = analyzer.pipeline
    step = max(1, round(fps / 4))
    lo, hi = start_s - 0.5, start_s + BURST_S + 0.5
    cands = [i for i in range(0, len(frames), step) if not lo <= i / fps <= hi]
    if not cands:
        mid = start_s + BURST_S / 2.0
        cands = [max(range(len(frames)), key=lambda i: abs(i / fps - mid))]
    scored: list[tuple[float, int]] = []
    for i in cands:
        a = pipe.analyze_rgb(frames[i], pipe.config.reference_quality)
        if a.primary is None or a.chip is None:
            continue
        p = analyzer.landmarks68(frames[i], a.primary.bbox)
        closed = eye_aspect_ratio(p) < 0.2
        scored.append((abs(yaw_deg(p)) + 50.0 * mouth_aspect_ratio(p) + 100.0 * closed, i))
    for _, i in sorted(scored):
        if (ref := reference_from(analyzer, frames[i])) is not None:
            return ref
    return None


def _identity(j: BurstJudgement) -> tuple[bool, tuple[str, ...]]:
    """The best frame's identity decision, by ``decide_capture`` at the model's registry
    threshold (one reference threshold, as these figures have always been measured)."""
    face = j.verification
    if face is None:
        return False, ()
    from proctor.embedding.registry import model_spec

    policy = OperatingPolicy.single_threshold(face.model_id, model_spec(face.model_id).threshold_l2)
    d = decide_capture(CaptureMeasurements.of_face(face), CaptureContext(), policy)
    return d.passed, d.reasons


def identity_matched(j: BurstJudgement) -> bool:
    return _identity(j)[0]


def identity_reasons(j: BurstJudgement) -> tuple[str, ...]:
    return _identity(j)[1]


def judge_all(
    j: BurstJudgement, policy: LivenessPolicy
) -> Iterator[tuple[tuple[Action, ...], bool, tuple[str, ...]]]:
    """Every challenge against one judged burst: (challenge, accepted, reasons)."""
    matched = identity_matched(j)
    for ch in CHALLENGES:
        if j.series is None:
            yield ch, False, j.liveness.reasons
            continue
        lr = judge(j.series, ch, policy, j.identity_l2)
        reasons = lr.reasons if matched else (*lr.reasons, "face_not_matched")
        yield ch, lr.passed and matched, reasons


def _attack(report: Report, name: str, j: BurstJudgement, policy: LivenessPolicy) -> None:
    tally = report.attack_reasons.setdefault(name, Counter())
    for ch, accepted, reasons in judge_all(j, policy):
        report.apcer.setdefault(name, Rate()).add(accepted)
        (report.apcer_single if len(ch) == 1 else report.apcer_pair).setdefault(name, Rate()).add(
            accepted
        )
        tally.update(reasons)


# ---- genuine ----------------------------------------------------------------------------


def evaluate_genuine(
    analyzer: BurstAnalyzer, clips: Sequence[Clip], root: Path, n: int, report: Report
) -> list[tuple[Clip, list[RGBImage], float]]:
    policy = analyzer.policy
    loaded = []
    for clip in clips:
        path = root / clip.path
        if not path.exists():
            report.notes.append(f"missing clip {clip.path}")
            continue
        frames, fps = read_clip(path, clip.until_s)
        loaded.append((clip, frames, fps))
        # detection + bona fide
        for ev in clip.events:
            burst, times = window(frames, fps, ev.mid_s - BURST_S / 2, n)
            ref = reference_outside(analyzer, frames, fps, ev.mid_s - BURST_S / 2)
            t0 = time.perf_counter()
            j = analyzer.judge_frames(ref, burst, times, [ev.action.value], {}) if ref else None
            total = (time.perf_counter() - t0) * 1000.0
            if j is None or j.series is None:
                report.detection.setdefault(ev.action.value, Rate()).add(False)
                report.bpcer.add(True)
                report.bpcer_reasons.update(["no_reference_or_face"])
                continue
            seen = {e.action for e in detect_actions(j.series, policy)}
            report.detection.setdefault(ev.action.value, Rate()).add(ev.action in seen)
            accepted = j.liveness.passed and identity_matched(j)
            report.bpcer_liveness.add(not j.liveness.passed)
            report.bpcer.add(not accepted)
            if not accepted:
                report.bpcer_reasons.update(j.liveness.reasons)
                if j.verification is not None and not identity_matched(j):
                    report.bpcer_reasons.update(identity_reasons(j) or ("face_not_matched",))
            _burst_cost(analyzer, report, burst, j, total, ref)
        # false detections on sliding windows, from one tracked series per window
        start = 0.0
        while start + BURST_S <= len(frames) / fps - 1e-6:
            burst, times = window(frames, fps, start, n)
            s = _series(analyzer, burst, times)
            for action in clip.complete:
                busy = any(
                    e.action is action
                    and e.end_s + 0.3 > start
                    and e.start_s - 0.3 < start + BURST_S
                    for e in clip.events
                )
                if busy or s is None:
                    continue
                fired = any(e.action is action for e in detect_actions(s, policy))
                report.false_detection.setdefault(action.value, Rate()).add(fired)
            start += 1.0
    return loaded


def _series(
    analyzer: BurstAnalyzer, frames: Sequence[RGBImage], times: Sequence[float]
) -> LandmarkSeries | None:
    start, first = analyzer._first_face(frames, {})
    if start is None or first is None or first.primary is None:
        return None
    idx, pts, _, _, _ = analyzer._track(frames, start, first, {}, eyes=True)
    return LandmarkSeries(tuple(times[i] - times[idx[0]] for i in idx), tuple(pts))


def _burst_cost(
    analyzer: BurstAnalyzer,
    report: Report,
    burst: Sequence[RGBImage],
    j: BurstJudgement,
    total_ms: float,
    ref: Template | None,
) -> None:
    t = j.timings_ms
    frames = max(j.frames_with_face, 1)
    _cost(report, "burst: total (excl. decode)", total_ms)
    _cost(report, "burst: detect (first frame)", t.get("detect_first", 0.0))
    _cost(report, "burst: 68 landmarks, all frames", t.get("landmarks68", 0.0))
    _cost(report, "burst: 68 landmarks, per frame", t.get("landmarks68", 0.0) / frames)
    _cost(report, "burst: per-frame face search (HOG on a crop)", t.get("track_detect", 0.0))
    _cost(report, "burst: FaceMesh, all frames", t.get("facemesh", 0.0))
    _cost(report, "burst: FaceMesh, per frame", t.get("facemesh", 0.0) / frames)
    _cost(report, "burst: eyelids (iris model), all frames", t.get("iris", 0.0))
    _cost(report, "burst: judge", t.get("judge", 0.0))
    _cost(report, "burst: re-detections", t.get("redetect", 0.0))
    _cost(report, "burst: chosen-frame embeddings", t.get("embed_chosen", 0.0))
    _cost(report, "burst: verify best frame", t.get("verify_best", 0.0))
    if ref is not None:
        from proctor.imaging.transform import encode_jpeg

        pipe = analyzer.pipeline
        data = encode_jpeg(burst[0], 92)
        t0 = time.perf_counter()
        pipe.measure(ref, data)
        _cost(report, "snapshot: verify one JPEG (incl. decode)", (time.perf_counter() - t0) * 1e3)


# ---- attacks ----------------------------------------------------------------------------


def evaluate_replay(
    analyzer: BurstAnalyzer, spec: dict[str, Any], root: Path, n: int, report: Report
) -> None:
    path, ref_path = root / spec["path"], root / spec["reference_clip"]
    if not path.exists() or not ref_path.exists():
        report.notes.append("replay clip missing")
        return
    ref_frames, _ = read_clip(ref_path, 1.0)
    ref = next((r for f in ref_frames if (r := reference_from(analyzer, f)) is not None), None)
    frames, fps = read_clip(path, None, spec.get("crop_xyxy"))
    start = 0.0
    while start + BURST_S <= len(frames) / fps - 1e-6:
        burst, times = window(frames, fps, start, n)
        j = analyzer.judge_frames(ref, burst, times, [], {}) if ref else None
        if j is not None:
            _attack(report, "replay (fake.mp4, phone screen)", j, analyzer.policy)
        start += 0.5


def evaluate_still(
    analyzer: BurstAnalyzer,
    loaded: Sequence[tuple[Clip, list[RGBImage], float]],
    n: int,
    report: Report,
) -> None:
    for _clip, frames, fps in loaded:
        ref = reference_from(analyzer, frames[len(frames) // 2])
        for at in (0.25, 0.75):
            still = frames[int(at * (len(frames) - 1))]
            times = [BURST_S * k / (n - 1) for k in range(n)]
            j = analyzer.judge_frames(ref, [still] * n, times, [], {}) if ref else None
            if j is not None:
                _attack(report, "still frame as burst", j, analyzer.policy)
        del fps


def photo_bursts(photo: RGBImage, n: int, seed: int = 0) -> Iterator[tuple[str, list[RGBImage]]]:
    """The photo on a 640×480 scene, moved by homographies that imitate a live head."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    scale0 = 300.0 / max(h, w)
    moves: dict[str, Callable[[float], dict[str, float]]] = {
        "tilt_left": lambda k: {"yaw": 40 * math.sin(math.pi * k)},
        "tilt_right": lambda k: {"yaw": -40 * math.sin(math.pi * k)},
        "nod": lambda k: {"pitch": 30 * math.sin(math.pi * k)},
        "move_scale_roll": lambda k: {
            "dx": 60 * k,
            "dy": -20 * k,
            "s": 1 + 0.3 * k,
            "roll": 12 * k,
        },
        "tilt_and_move": lambda k: {
            "yaw": 35 * math.sin(2 * math.pi * k),
            "dx": 30 * k,
            "roll": 6 * k,
        },
    }
    for name, fn in moves.items():
        frames = []
        for i in range(n):
            p = fn(i / (n - 1))
            hmat = _photo_homography(
                w,
                h,
                scale0 * p.get("s", 1.0),
                p.get("yaw", 0.0),
                p.get("pitch", 0.0),
                p.get("roll", 0.0),
                p.get("dx", 0.0),
                p.get("dy", 0.0),
            )
            img = cv2.warpPerspective(photo, hmat, (640, 480), borderValue=(90, 90, 90))
            noisy = img.astype(np.float32) + rng.normal(0, 2.0, img.shape)
            frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
        yield name, frames


def _photo_homography(
    w: int, h: int, scale: float, yaw: float, pitch: float, roll: float, dx: float, dy: float
) -> np.ndarray:
    """Pinhole view of the photo plane rotated in 3D (degrees), then shifted (px)."""
    f = 700.0
    ry, rx, rz = (math.radians(v) for v in (yaw, pitch, roll))
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]])
    rot_z = np.array([[math.cos(rz), -math.sin(rz), 0], [math.sin(rz), math.cos(rz), 0], [0, 0, 1]])
    rot = rot_z @ rot_x @ rot_y
    # photo pixel (u, v) → plane point (scale*(u - w/2), scale*(v - h/2), 0) → camera at z = f.
    plane = np.array([[scale, 0, -scale * w / 2], [0, scale, -scale * h / 2], [0, 0, 0]])
    cam = rot @ plane + np.array([[0, 0, 0], [0, 0, 0], [0, 0, f]])
    k = np.array([[f, 0, 320 + dx], [0, f, 240 + dy], [0, 0, 1]])
    hmat = k @ cam
    return np.asarray(hmat / hmat[2, 2], dtype=np.float64)


def evaluate_photo(analyzer: BurstAnalyzer, n: int, report: Report) -> None:
    import cv2

    if not PHOTO.exists():
        report.notes.append("fixture photo missing: run python -m proctor.fixtures_setup")
        return
    bgr = cv2.imread(str(PHOTO))
    if bgr is None:
        report.notes.append("fixture photo unreadable")
        return
    photo: RGBImage = np.ascontiguousarray(bgr[:, :, ::-1])
    ref = reference_from(analyzer, photo)
    times = [BURST_S * k / (n - 1) for k in range(n)]
    for seed in range(2):
        for _name, frames in photo_bursts(photo, n, seed):
            j = analyzer.judge_frames(ref, frames, times, [], {}) if ref else None
            if j is not None:
                _attack(report, "2D photo moved/scaled/tilted", j, analyzer.policy)


# ---- command ----------------------------------------------------------------------------


def run(frames_per_burst: int = 30, attacks: bool = True) -> Report:
    from proctor.liveness.burst import BurstAnalyzer
    from proctor.pipeline import build_verifier

    root = video_root()
    if not root.exists():
        raise FileNotFoundError(f"video data not found at {root} (set PROCTOR_VIDEO_DATA)")
    clips, attack_specs = load_annotations()
    # Eyelids refined in every burst: each burst is re-judged against every challenge.
    analyzer = BurstAnalyzer(build_verifier(), eyelids="always")
    report = Report()
    loaded = evaluate_genuine(analyzer, clips, root, frames_per_burst, report)
    if attacks:
        if "replay" in attack_specs:
            evaluate_replay(analyzer, attack_specs["replay"], root, frames_per_burst, report)
        evaluate_still(analyzer, loaded, frames_per_burst, report)
        evaluate_photo(analyzer, frames_per_burst, report)
    return report


def render(report: Report) -> str:
    lines = ["## Genuine clips: per-action detection", ""]
    lines += ["| action | detected where it happens | fired where it does not |", "|---|---|---|"]
    for a in Action:
        d = report.detection.get(a.value, Rate())
        f = report.false_detection.get(a.value, Rate())
        lines.append(f"| {a.value} | {d} | {f} |")
    lines += ["", "## Presentations (accepted = liveness passed and best frame matched)", ""]
    lines += ["| presentation | rate | single action | two actions | top reasons |"]
    lines += ["|---|---|---|---|---|"]
    top = ", ".join(f"{k} {v}" for k, v in report.bpcer_reasons.most_common(4))
    lines.append(f"| bona fide: BPCER | {report.bpcer} | – | – | {top} |")
    lines.append(f"| bona fide: liveness alone rejects | {report.bpcer_liveness} | – | – | |")
    for name, r in report.apcer.items():
        top = ", ".join(f"{k} {v}" for k, v in report.attack_reasons[name].most_common(4))
        s1 = report.apcer_single.get(name, Rate())
        s2 = report.apcer_pair.get(name, Rate())
        lines.append(f"| attack {name}: APCER | {r} | {s1} | {s2} | {top} |")
    lines += ["", "## Cost per burst (ms, median / min over bona fide bursts)", ""]
    lines += ["| stage | median | min | n |", "|---|---|---|---|"]
    for k, v in report.cost_ms.items():
        lines.append(f"| {k} | {statistics.median(v):.1f} | {min(v):.1f} | {len(v)} |")
    if report.notes:
        lines += ["", "Notes: " + "; ".join(report.notes)]
    return "\n".join(lines)


def liveness(
    frames_per_burst: Annotated[
        int, typer.Option(help="frames sampled per 2 s burst (30: 15 fps, what the page sends)")
    ] = 30,
    attacks: Annotated[bool, typer.Option(help="also run the attack presentations")] = True,
) -> None:
    """Liveness bursts: action detection, APCER per attack, BPCER, cost (see module doc)."""
    from proctor.bench.speed import pin_one_core

    pin_one_core()
    try:
        report = run(frames_per_burst, attacks)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from exc
    print(render(report))
