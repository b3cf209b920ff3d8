"""Outline / self-occlusion measurement (issue 20 item 3): a real 3-D head turn against the
2D warp of ``proctor.bench.attacks.puppet``. Measurement only: no check uses it.

Statistic per burst (``ring_motion``): in a real turn the head occludes and uncovers the
background at its outline, but the background itself stays put; a piecewise-affine warp
of a photo (border held still) drags the background next to the face along with it. Per
pair of consecutive tracked frames: the median optical-flow magnitude (Farneback, on
grey frames) in a ring from 0.15 to 0.45 face widths outside the landmarks' box, over
the median flow magnitude of the landmarks themselves; the burst's value is the median
over the pairs whose landmarks moved at least 1 px. A margin between the two
populations' ranges would make it a check. ``python -m proctor.bench.outline`` measures
the labelled genuine turns and the puppet's turns (6 East-Asian victims × 2 turns).

Measured 2026-12-07: genuine 0.005-0.044 (n=9), puppet 0.002-0.088 (n=12): the ranges
overlap, so no check uses it (models/cards/liveness.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from proctor.liveness.geometry import Points
from proctor.types import RGBImage


def ring_mask(shape: tuple[int, int], p: Points) -> np.ndarray:
    h, w = shape
    x1, y1 = p.min(axis=0)
    x2, y2 = p.max(axis=0)
    fw = x2 - x1
    yy, xx = np.mgrid[0:h, 0:w]

    def box(m: float) -> np.ndarray:
        inside: np.ndarray = (
            (xx >= x1 - m * fw) & (xx <= x2 + m * fw) & (yy >= y1 - m * fw) & (yy <= y2 + m * fw)
        )
        return inside

    out: np.ndarray = box(0.45) & ~box(0.15)
    return out


def ring_motion(frames: Sequence[RGBImage], pts: Sequence[Points]) -> float | None:
    """Median over moving frame pairs of ring flow / landmark motion (see module doc)."""
    ratios = []
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    for i in range(1, len(frames)):
        face = float(np.median(np.linalg.norm(pts[i] - pts[i - 1], axis=1)))
        if face < 1.0:
            continue
        flow = cv2.calcOpticalFlowFarneback(grey[i - 1], grey[i], None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mag = np.linalg.norm(flow, axis=2)
        ring = ring_mask(mag.shape, pts[i - 1])
        if ring.sum() < 50:
            continue
        ratios.append(float(np.median(mag[ring])) / face)
    return float(np.median(ratios)) if ratios else None


def main() -> None:
    from proctor.bench.attacks import puppet
    from proctor.bench.liveness import (
        BURST_S,
        _points_per_frame,
        load_annotations,
        read_clip,
        video_root,
        window,
    )
    from proctor.bench.liveness_attacks import EAST_ASIAN, _segment_points
    from proctor.liveness.actions import Action
    from proctor.liveness.burst import BurstAnalyzer
    from proctor.pipeline import build_verifier

    root = video_root()
    clips, _ = load_annotations()
    an = BurstAnalyzer(build_verifier())
    turns = (Action.TURN_LEFT, Action.TURN_RIGHT)

    def measure(frames: list[RGBImage]) -> float | None:
        s, f = an._first_face(frames, {})
        if s is None or f is None or f.primary is None:
            return None
        idx, pts, _, _, _ = an._track(frames, s, f, {})
        return ring_motion([frames[i] for i in idx], pts)

    real = []
    for clip in clips:
        events = [e for e in clip.events if e.action in turns]
        if events:
            frames, fps = read_clip(root / clip.path, clip.until_s)
            real += [measure(window(frames, fps, e.mid_s - BURST_S / 2, 30)[0]) for e in events]
    fake = []
    for victim in EAST_ASIAN[:6]:
        frames, _ = read_clip(root / "liveportrait" / f"{victim}.mp4", 8.0)
        photo = frames[len(frames) // 5] if len(frames) >= 10 else None
        pp = _points_per_frame(an, [photo]) if photo is not None else None
        for a in turns:
            drv = _segment_points(an, clips, root, a, BURST_S, 30, victim)
            if photo is not None and pp is not None and drv is not None:
                fake.append(measure(puppet(photo, pp[0], drv)))
    for name, vals in (("genuine turns", real), ("2D puppet turns", fake)):
        v = sorted(round(x, 3) for x in vals if x is not None)
        print(f"{name}: n={len(v)} range {v[0] if v else None}-{v[-1] if v else None}: {v}")


if __name__ == "__main__":
    main()
