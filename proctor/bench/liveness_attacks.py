"""The attacks of issue 20 in `proctor bench liveness --attacks`: puppet, splice, paste.

- puppet: for each East-Asian driver (a frame of their clip as the stolen photo, a
  neutral frame far from it as the enrolment reference), and for every challenge, the
  photo is animated by labelled action segments of *other* people's clips (1 s each
  for two actions, 2 s for one), cut together in the asked order with a 3-frame blend
  at the cut (an attacker smoothing the join). Judged as injected frames (a file or a
  virtual camera: no screen light reflected), and, for the light code, as the same
  frames carrying another challenge's code or this challenge's code 0.5 s late.
- splice: each labelled clip's own footage, 1 s around one labelled action then 1 s
  around the next, for every challenge whose actions that clip has (2 s around the
  event for one action: a replay of earlier footage); injected.
- paste: the driver's still face pasted over a live proxy's face (genuine bursts
  of other clips) in every frame; injected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from proctor.bench.attacks import paste, puppet
from proctor.bench.liveness import (
    BURST_S,
    CHALLENGES,
    GEOMETRY,
    Clip,
    Report,
    _attack,
    _points_per_frame,
    injected,
    lit_by,
    read_clip,
    reference_from,
    window,
)
from proctor.liveness.actions import Action
from proctor.liveness.burst import BurstAnalyzer
from proctor.liveness.light_code import LightCode, light_code_for
from proctor.types import RGBImage

EAST_ASIAN = ("d0", "d9", "d11", "d12", "d13", "d14", "d20")
FPS_OUT = 15.0


def _times(n: int) -> list[float]:
    return [BURST_S * k / (n - 1) for k in range(n)]


def _segment_points(
    analyzer: BurstAnalyzer,
    clips: Sequence[Clip],
    root: Path,
    action: Action,
    seconds: float,
    n: int,
    avoid: str,
) -> list[np.ndarray] | None:
    """Landmarks of ``n`` frames over ``seconds`` centred on a labelled ``action`` of
    another clip than ``avoid``."""
    for clip in clips:
        if avoid in clip.path:
            continue
        for ev in clip.events:
            if ev.action is not action:
                continue
            frames, fps = read_clip(root / clip.path, clip.until_s)
            if not frames:
                continue
            start = max(0.0, ev.mid_s - seconds / 2)
            idx = [
                min(len(frames) - 1, round((start + seconds * k / max(n - 1, 1)) * fps))
                for k in range(n)
            ]
            pts = _points_per_frame(analyzer, [frames[i] for i in idx])
            if pts is not None:
                return pts
    return None


def _blend_cut(a: list[np.ndarray], b: list[np.ndarray], over: int = 3) -> list[np.ndarray]:
    """b re-anchored to continue from a's last frame, blending over ``over`` frames."""
    out = list(a)
    shift = a[-1] - b[0]
    for i, p in enumerate(b):
        w = max(0.0, 1.0 - (i + 1) / (over + 1))
        out.append(p + w * shift)
    return out


def evaluate_puppet(
    analyzer: BurstAnalyzer, clips: Sequence[Clip], root: Path, n: int, report: Report
) -> None:
    cache: dict[tuple[str, Action, float, int], list[np.ndarray] | None] = {}
    for victim in EAST_ASIAN:
        path = root / "liveportrait" / f"{victim}.mp4"
        frames, _fps = read_clip(path, 8.0)
        if len(frames) < 10:
            report.notes.append(f"puppet: {path.name} missing")
            continue
        photo = frames[len(frames) // 5]
        ref = reference_from(analyzer, frames[(4 * len(frames)) // 5])
        photo_pts = _points_per_frame(analyzer, [photo])
        if ref is None or photo_pts is None:
            report.notes.append(f"puppet: no face in {victim}")
            continue
        for ch in CHALLENGES:
            per = n if len(ch) == 1 else n // 2
            secs = BURST_S if len(ch) == 1 else BURST_S / 2
            segs = []
            for a in ch:
                key = (victim, a, secs, per)
                if key not in cache:
                    cache[key] = _segment_points(analyzer, clips, root, a, secs, per, victim)
                segs.append(cache[key])
            if any(sg is None for sg in segs):
                report.notes.append(f"puppet: no driving segment for {ch}")
                continue
            driving = list(segs[0] or [])
            for sg in segs[1:]:
                driving = _blend_cut(driving, list(sg or []))
            video = puppet(photo, photo_pts[0], driving[:n])
            j = analyzer.judge_frames(ref, video, _times(len(video)), [], {})
            _attack(report, "2D puppet (photo warped, driven, cut)", j, analyzer.policy, only=[ch])
            _attack(
                report,
                "2D puppet + another challenge's code reflected",
                j,
                analyzer.policy,
                lit_by(j, GEOMETRY.k, code_of=_another),
                only=[ch],
            )
            _attack(
                report,
                "2D puppet + this code reflected 0.5 s late",
                j,
                analyzer.policy,
                lit_by(j, GEOMETRY.k, shift_s=0.5),
                only=[ch],
            )


def _another(code: LightCode) -> LightCode:
    """The code of another challenge (a recording made under an earlier challenge)."""
    return light_code_for("another:" + "".join(f"{s.rgb}" for s in code.segments))


def evaluate_splice(
    analyzer: BurstAnalyzer,
    loaded: Sequence[tuple[Clip, list[RGBImage], float]],
    n: int,
    report: Report,
) -> None:
    for clip, frames, fps in loaded:
        by_action: dict[Action, list[float]] = {}
        for ev in clip.events:
            by_action.setdefault(ev.action, []).append(ev.mid_s)
        ref_frame = frames[0]
        ref = reference_from(analyzer, ref_frame)
        if ref is None:
            continue
        for ch in CHALLENGES:
            if any(a not in by_action for a in ch):
                continue
            if len(ch) == 1:
                burst, times = window(frames, fps, by_action[ch[0]][0] - BURST_S / 2, n)
            else:
                half = n // 2
                parts = []
                for a in ch:
                    mid = by_action[a][0]
                    seg, _ = window(frames, fps, mid - BURST_S / 2, n)
                    parts.extend(seg[half // 2 : half // 2 + half])
                burst, times = parts, _times(len(parts))
            j = analyzer.judge_frames(ref, burst, times, [], {})
            _attack(report, "splice of own footage", j, analyzer.policy, injected(j), only=[ch])


def evaluate_paste(
    analyzer: BurstAnalyzer,
    loaded: Sequence[tuple[Clip, list[RGBImage], float]],
    root: Path,
    n: int,
    report: Report,
) -> None:
    victims = []
    for v in EAST_ASIAN[:5]:
        frames, _ = read_clip(root / "liveportrait" / f"{v}.mp4", 8.0)
        if len(frames) < 10:
            continue
        photo = frames[len(frames) // 5]
        pts = _points_per_frame(analyzer, [photo])
        ref = reference_from(analyzer, frames[(4 * len(frames)) // 5])
        if pts is not None and ref is not None:
            victims.append((v, photo, pts[0], ref))
    proxies = [(c, f, fps) for c, f, fps in loaded if c.events][: len(victims)]
    for (v, photo, photo_pts, ref), (clip, frames, fps) in zip(victims, proxies, strict=False):
        if v in clip.path:
            continue
        ev = clip.events[0]
        live, times = window(frames, fps, ev.mid_s - BURST_S / 2, n)
        pts = _points_per_frame(analyzer, live)
        if pts is None:
            continue
        video = paste(photo, photo_pts, live, pts)
        j = analyzer.judge_frames(ref, video, times, [], {})
        _attack(report, "paste (still face over a live proxy)", j, analyzer.policy)


def evaluate(
    analyzer: BurstAnalyzer,
    clips: Sequence[Clip],
    loaded: Sequence[tuple[Clip, list[RGBImage], float]],
    root: Path,
    n: int,
    report: Report,
) -> None:
    evaluate_puppet(analyzer, clips, root, n, report)
    evaluate_splice(analyzer, loaded, n, report)
    evaluate_paste(analyzer, loaded, root, n, report)
