"""Sessions played from the video clips' bursts: the multi-frame fused probe at entry.

The photo sessions (``proctor.bench.sessions``) have one photo per capture, so the fused
entry burst (issue 21 item 3, the shipped ``fusion_k``) can only be played on the clips of
``$PROCTOR_VIDEO_DATA``: each live clip gives 2-second bursts ``gap_s`` apart (back to
back by default), each analysed by the shipped burst analyzer's steps
(``proctor.bench.fusion``).

A clip with at least 3 bursts is a driver:
- reference: the first burst's best frame of *another video* of the same person where the
  data has one (``cross_video``: VX_7414, VX_5176), else the clip's own first burst's best
  frame (``same_sitting``: a reference from the same sitting, optimistic for genuine);
- entry: the second burst, fused as the policy says (and, for comparison, its single best
  frame); later captures: the best frames of the following bursts, cycled.
- proxy: every clip of another person plays the driver's session (entry fused too);
  swap: the driver's own entry, then the other person's later captures.
- a burst whose best frame fails the snapshot quality gate (e.g. ``face_too_small`` in the
  whole-body clips) is a rejected capture, as in the service; a clip whose reference frame
  fails it drives no session.

Every capture is decided by ``decide_capture`` with the policy; s-norm z on the bench's
cohort (photos of other people) when it is live. No 实人认证 here (no authority photo and
live capture pair exists in the clips), so the authority rule decides. Counted by session
(Wilson) and by driver clip (bootstrap); the East-Asian clips are reported apart.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from proctor.bench.fusion import Burst, collect_bursts
from proctor.bench.sessions import Scorer, SessionOutcome, play, tally
from proctor.calibration.reference_cohort import LabelledCohort
from proctor.calibration.video import EAST_ASIAN_CLIPS
from proctor.decision.policy import OperatingPolicy
from proctor.matching.fusion import FusionPolicy
from proctor.pipeline import Pipeline


def _by_clip(bursts: list[Burst]) -> dict[str, list[Burst]]:
    out: dict[str, list[Burst]] = {}
    for b in sorted(bursts, key=lambda b: (b.clip, b.start_s)):
        out.setdefault(b.clip, []).append(b)
    return out


def _z(cohort: LabelledCohort | None, ref: np.ndarray) -> Scorer | None:
    if cohort is None:
        return None
    return lambda vec: cohort.score(ref, vec, "", "")


def simulate_clips(
    bursts: list[Burst],
    policy: OperatingPolicy,
    cohort: LabelledCohort | None,
    fusion: FusionPolicy,
    *,
    captures: int = 6,
) -> dict[str, Any]:
    clips = {c: bs for c, bs in _by_clip(bursts).items() if len(bs) >= 3}
    person = {c: bs[0].person for c, bs in clips.items()}
    rows: dict[str, list[SessionOutcome]] = {"genuine": [], "proxy": [], "swap": []}
    who: dict[str, list[str]] = {"genuine": [], "proxy": [], "swap": []}
    ea: dict[str, list[tuple[SessionOutcome, str]]] = {"genuine": [], "proxy": []}
    kinds: dict[str, int] = {"cross_video": 0, "same_sitting": 0, "reference_refused": 0}

    def frame(b: Burst, fused: FusionPolicy) -> np.ndarray | None:
        return None if b.quality_reasons else b.probe(fused)  # the gate refuses it

    def session(c: str) -> list[np.ndarray | None]:
        bs = clips[c]
        later = [frame(b, FusionPolicy(k=1)) for b in bs[2:]]
        return [frame(bs[1], fusion)] + [later[k % len(later)] for k in range(captures - 1)]

    for c, bs in clips.items():
        other = [o for o in clips if o != c and person[o] == person[c]]
        ref_burst = clips[other[0]][0] if other else bs[0]
        if ref_burst.quality_reasons:  # no reference photo would be enrolled from it
            kinds["reference_refused"] += 1
            continue
        kinds["cross_video" if other else "same_sitting"] += 1
        ref = ref_burst.vectors[ref_burst.best_k]
        score = _z(cohort, ref)
        own = session(c)
        g = play(ref, own, policy, score)
        rows["genuine"].append(g)
        who["genuine"].append(c)
        if c in EAST_ASIAN_CLIPS:
            ea["genuine"].append((g, c))
        for q in clips:
            if person[q] == person[c]:
                continue
            theirs = session(q)
            p = play(ref, theirs, policy, score)
            rows["proxy"].append(p)
            who["proxy"].append(c)
            if c in EAST_ASIAN_CLIPS and q in EAST_ASIAN_CLIPS:
                ea["proxy"].append((p, c))
            rows["swap"].append(play(ref, own[:1] + theirs[1:], policy, score))
            who["swap"].append(c)
    out: dict[str, Any] = {"drivers": len(clips), "references": kinds}
    for kind in rows:
        out[kind] = tally(rows[kind], who[kind])
    for kind, pairs in ea.items():
        out[f"{kind}_east_asian"] = tally([p for p, _ in pairs], [w for _, w in pairs])
    return out


def run_clip_sessions(
    pipe: Pipeline,
    video: Path,
    policy: OperatingPolicy,
    cohort: LabelledCohort | None,
    *,
    gap_s: float = 2.0,
    per_clip: int = 8,
) -> dict[str, Any]:
    """Clip sessions with the policy's fused entry probe, and with the single best frame."""
    from proctor.liveness.burst import BurstAnalyzer

    bursts = collect_bursts(video, BurstAnalyzer(pipe), gap_s=gap_s, per_clip=per_clip)
    fused = policy.fusion
    return {
        "policy_id": policy.policy_id,
        "bursts": len(bursts),
        "gap_s": gap_s,
        "fusion": {"k": fused.k, "weighting": fused.weighting.value},
        "fused_entry": simulate_clips(bursts, policy, cohort, fused),
        "single_frame_entry": simulate_clips(bursts, policy, cohort, replace(fused, k=1)),
    }
