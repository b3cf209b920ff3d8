"""`proctor bench accuracy --sessions`: three-strike sessions simulated from labelled photos.

Identities with at least 4 usable images give sessions: image 0 is the real-name
reference, image 1 the entry capture, the rest later captures (cycled to fill
``captures``). Three kinds of session are played under the shipped rules:

- genuine: every capture is the driver;
- proxy: every capture is another person (a proxy sits the whole session);
- swap: the driver passes entry, then another person takes over.

Entry is judged against the reference with three zones (``uncertain`` goes to
manual review, not a strike); later captures against the session anchor and,
loosely, the reference. Three consecutive failures terminate. Photos of one
person are not one webcam session, so anchor distances here are pessimistic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proctor.calibration.reference_cohort import LabelledCohort
from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import OperatingPolicy, ZonePolicy
from proctor.pipeline import Pipeline
from proctor.types import Verdict

MAX_STRIKES = 3


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    terminated: bool
    manual_review: bool
    passed: bool  # completed all captures without termination or manual review


Scorer = Callable[[np.ndarray], float]  # s-norm z of a capture against the reference


def play(
    reference: np.ndarray,
    captures: Sequence[np.ndarray],
    policy: OperatingPolicy,
    score: Scorer | None = None,
) -> SessionOutcome:
    """One session, every capture decided by ``decide_capture`` with ``policy`` (``score``:
    the capture's s-norm z against the reference, measured with the cohort as configured)."""
    strikes = 0
    anchor: np.ndarray | None = None
    for vec in captures:
        d_ref = float(np.linalg.norm(vec - reference))
        d_anchor = None if anchor is None else float(np.linalg.norm(vec - anchor))
        z = score(vec) if score is not None else None
        m = CaptureMeasurements(reference_l2=d_ref, reference_z=z, anchor_l2=d_anchor)
        verdict = decide_capture(m, CaptureContext(anchored=anchor is not None), policy).verdict
        if verdict is Verdict.MATCH:
            strikes = 0
            if anchor is None:
                anchor = vec
        elif verdict is Verdict.UNCERTAIN and anchor is None:
            return SessionOutcome(False, True, False)
        else:
            strikes += 1
            if strikes >= MAX_STRIKES:
                return SessionOutcome(True, False, False)
    return SessionOutcome(False, False, True)


def simulate(
    vectors: np.ndarray,
    identities: Sequence[str],
    policy: OperatingPolicy,
    *,
    captures: int = 6,
    min_images: int = 4,
    seed: int = 0,
    cohort: LabelledCohort | None = None,
    rotations: int = 1,
) -> dict[str, dict[str, Any]]:
    """``rotations`` > 1: each driver also plays with their 2nd, 3rd... image as the
    reference (more sessions, correlated within a driver; intervals stay per session)."""
    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, ident in enumerate(identities):
        by_id.setdefault(ident, []).append(i)
    drivers = sorted(k for k, v in by_id.items() if len(v) >= min_images)
    others = sorted(by_id)
    tallies: dict[str, list[SessionOutcome]] = {"genuine": [], "proxy": [], "swap": []}
    for name, r in ((n, r) for n in drivers for r in range(min(rotations, len(by_id[n])))):
        idx = by_id[name][r:] + by_id[name][:r]
        ref = vectors[idx[0]]
        own = [vectors[idx[1 + (k % (len(idx) - 1))]] for k in range(captures)]
        proxy_name = name
        while proxy_name == name:
            proxy_name = others[int(rng.integers(len(others)))]
        pidx = by_id[proxy_name]
        proxy = [vectors[pidx[k % len(pidx)]] for k in range(captures)]
        score = _scorer(cohort, ref, name)
        impostor = _scorer(cohort, ref, name, proxy_name)
        tallies["genuine"].append(play(ref, own, policy, score))
        tallies["proxy"].append(play(ref, proxy, policy, impostor))
        # entry is the driver's own capture; later captures are judged by the anchor
        tallies["swap"].append(play(ref, own[:1] + proxy[1:], policy, score))
    out: dict[str, dict[str, Any]] = {}
    for kind, rows in tallies.items():
        n = len(rows)
        counts = {
            "terminated": sum(r.terminated for r in rows),
            "manual_review": sum(r.manual_review for r in rows),
            "passed": sum(r.passed for r in rows),
            # a genuine driver stopped: sent to a human or terminated (the issue-21 figure)
            "review_or_terminated": sum(r.manual_review or r.terminated for r in rows),
        }
        out[kind] = {"sessions": n, **counts}
        for name, k in counts.items():
            out[kind][f"{name}_rate"] = k / n if n else 0.0
            out[kind][f"{name}_ci95"] = list(wilson(k, n))
    return out


def _scorer(
    cohort: LabelledCohort | None, ref: np.ndarray, identity: str, probe_identity: str = ""
) -> Scorer | None:
    if cohort is None:
        return None
    return lambda vec: cohort.score(ref, vec, identity, probe_identity)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sound at k = 0 and small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def run_sessions(
    pipe: Pipeline, images_tsv: Path, root: Path, population: str, rotations: int = 1
) -> dict[str, Any]:
    """Sessions under the loaded ``OperatingPolicy`` (three zones at entry, on the s-norm z
    with the cohort as configured, + anchor, every capture through ``decide_capture``) and,
    for comparison, raw zones (no cohort) and a single raw reference threshold (the
    registry's) at entry. Photos, not bursts: the multi-frame fusion of entry bursts is not
    simulated here (``proctor bench fusion`` measures it)."""
    from dataclasses import replace

    from proctor.bench.policy import bench_cohort, bench_policy, describe
    from proctor.calibration.runner import embed_labelled, read_images_tsv
    from proctor.config import ProctorSettings
    from proctor.embedding.registry import model_spec

    settings = ProctorSettings()
    data = embed_labelled(pipe, root, read_images_tsv(images_tsv, population))
    cohort = bench_cohort(settings, pipe, images_tsv)
    shipped = bench_policy(settings, pipe, cohort)
    anchor = shipped.anchor
    zones = shipped.reference
    registry_l2 = model_spec(pipe.model_id, settings.models_dir).threshold_l2
    raw = replace(
        shipped,
        snorm=None,
        cohort_id=None,
        anchor=anchor and replace(anchor, reference_loose_z=None),
    )
    raw_zones = replace(raw, reference=ZonePolicy(zones.match_l2, zones.no_match_l2))
    single = replace(raw, reference=ZonePolicy(registry_l2, registry_l2))

    def run(p: OperatingPolicy, c: LabelledCohort | None) -> dict[str, Any]:
        z = p.reference
        normed = c is not None and z.normalised
        limits = [z.match_z, z.no_match_z] if normed else [z.match_l2, z.no_match_l2]
        return {
            "policy_id": p.policy_id,
            "zones": limits,
            "score": "snorm_z" if normed else "raw_l2",
        } | simulate(data.vectors, data.identities, p, cohort=c, rotations=rotations)

    return {
        "population": population,
        "policy": describe(settings, pipe, cohort),
        "policy_id": shipped.policy_id,
        "rotations": rotations,
        "anchor": None if anchor is None else anchor.thresholds(),
        "shipped": run(shipped, cohort),
        "raw_zones": run(raw_zones, None),
        "single_threshold": run(single, None),
    }
