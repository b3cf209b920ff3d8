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

Two references (``real_person=True``, the shipped flow): before any session the driver
passes 实人认证 with image 1, decided by the authority photo alone; on a pass it becomes
the ``live_verified`` reference and every session capture (images 2.., the same captures
with or without it) is decided under the policy's two-reference rule. A proxy or swap
sits the session of a driver who did his own 实人认证. Counted by session, with 95% Wilson
intervals, and by subject: sessions of one driver (his rotations) are not independent,
so a driver-resampling bootstrap interval is given beside Wilson's.
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
    entered: bool = False  # the entry check passed (the session anchored)

    @property
    def stopped_at_entry(self) -> bool:
        """Sent to manual review, or terminated before the entry check ever passed: the
        issue-21 figure for genuine drivers."""
        return self.manual_review or (self.terminated and not self.entered)


Scorer = Callable[[np.ndarray], float]  # s-norm z of a capture against the reference


def play(
    reference: np.ndarray,
    captures: Sequence[np.ndarray | None],
    policy: OperatingPolicy,
    score: Scorer | None = None,
    live: np.ndarray | None = None,
    live_score: Scorer | None = None,
) -> SessionOutcome:
    """One session, every capture decided by ``decide_capture`` with ``policy`` (``score``:
    the capture's s-norm z against the reference, measured with the cohort as configured;
    ``live``/``live_score``: the driver's live_verified reference and the z against it; a
    ``None`` capture is one the quality gate refused: rejected, a strike)."""
    strikes = 0
    anchor: np.ndarray | None = None
    for vec in captures:
        if vec is None:  # refused by the quality gate: a rejected capture, a strike
            strikes += 1
            if strikes >= MAX_STRIKES:
                return SessionOutcome(True, False, False, anchor is not None)
            continue
        d_ref = float(np.linalg.norm(vec - reference))
        d_anchor = None if anchor is None else float(np.linalg.norm(vec - anchor))
        z = score(vec) if score is not None else None
        d_live = None if live is None else float(np.linalg.norm(vec - live))
        z_live = live_score(vec) if live is not None and live_score is not None else None
        m = CaptureMeasurements(
            reference_l2=d_ref,
            reference_z=z,
            anchor_l2=d_anchor,
            live_reference_l2=d_live,
            live_reference_z=z_live,
        )
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
                return SessionOutcome(True, False, False, anchor is not None)
    return SessionOutcome(False, False, True, anchor is not None)


def real_person_check(
    reference: np.ndarray, capture: np.ndarray, policy: OperatingPolicy, score: Scorer | None
) -> bool:
    """实人认证: the capture against the authority photo alone (entry zones, copy test)."""
    z = score(capture) if score is not None else None
    d = float(np.linalg.norm(capture - reference))
    m = CaptureMeasurements(reference_l2=d, reference_z=z)
    return decide_capture(m, CaptureContext(), policy).passed


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
    real_person: bool = False,
    every_proxy: bool = False,
) -> dict[str, dict[str, Any]]:
    """``rotations`` > 1: each driver also plays with their 2nd, 3rd... image as the
    reference (more sessions, correlated within a driver; Wilson intervals per session, the
    bootstrap ones per driver). ``real_person``: image 1 is the 实人认证 capture and the
    session captures start at image 2 (see the module doc). ``every_proxy``: every other
    person of the set plays the proxy and the swap of each driver session (more impostor
    sessions; they share drivers and proxies, so the driver bootstrap is the honest
    interval), instead of one drawn at random."""
    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, ident in enumerate(identities):
        by_id.setdefault(ident, []).append(i)
    drivers = sorted(k for k, v in by_id.items() if len(v) >= min_images)
    others = sorted(by_id)
    tallies: dict[str, list[SessionOutcome]] = {"genuine": [], "proxy": [], "swap": []}
    who: list[str] = []
    verified = 0
    first = 2 if real_person else 1
    who_imp: list[str] = []
    for name, r in ((n, r) for n in drivers for r in range(min(rotations, len(by_id[n])))):
        idx = by_id[name][r:] + by_id[name][:r]
        ref = vectors[idx[0]]
        pool = idx[first:]
        own = [vectors[pool[k % len(pool)]] for k in range(captures)]
        score = _scorer(cohort, ref, name)
        live = None
        if real_person and real_person_check(ref, vectors[idx[1]], policy, score):
            live, verified = vectors[idx[1]], verified + 1
        live_own = _scorer(cohort, live, name) if live is not None else None
        who.append(name)
        tallies["genuine"].append(play(ref, own, policy, score, live, live_own))
        if every_proxy:
            proxies = [o for o in others if o != name]
        else:
            proxy_name = name
            while proxy_name == name:
                proxy_name = others[int(rng.integers(len(others)))]
            proxies = [proxy_name]
        for proxy_name in proxies:
            pidx = by_id[proxy_name]
            proxy = [vectors[pidx[k % len(pidx)]] for k in range(captures)]
            impostor = _scorer(cohort, ref, name, proxy_name)
            live_imp = _scorer(cohort, live, name, proxy_name) if live is not None else None
            who_imp.append(name)
            tallies["proxy"].append(play(ref, proxy, policy, impostor, live, live_imp))
            # entry is the driver's own capture; later captures are judged by the anchor
            swap_live = None if live_own is None or live_imp is None else _swap(live_own, live_imp)
            tallies["swap"].append(
                play(ref, own[:1] + proxy[1:], policy, _swap_ref(score, impostor), live, swap_live)
            )
    out: dict[str, dict[str, Any]] = {}
    for kind, rows in tallies.items():
        out[kind] = tally(rows, who if kind == "genuine" else who_imp, seed)
    if real_person:
        out["real_person"] = {"drivers": len(who), "verified": verified}
    return out


def tally(rows: Sequence[SessionOutcome], who: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Counts, rates and 95% intervals: Wilson per session, and a driver bootstrap (sessions
    of one driver resampled together) with the number of drivers concerned."""
    n = len(rows)
    flags = {
        "terminated": [r.terminated for r in rows],
        "manual_review": [r.manual_review for r in rows],
        "passed": [r.passed for r in rows],
        # a genuine driver stopped anywhere: sent to a human or terminated
        "review_or_terminated": [r.manual_review or r.terminated for r in rows],
        # stopped at entry: manual review, or terminated before entry passed (issue 21)
        "stopped_at_entry": [r.stopped_at_entry for r in rows],
    }
    out: dict[str, Any] = {"sessions": n, "drivers": len(set(who))}
    for name, hits in flags.items():
        k = sum(hits)
        out[name] = k
        out[f"{name}_rate"] = k / n if n else 0.0
        out[f"{name}_ci95"] = list(wilson(k, n))
        out[f"{name}_drivers"] = len({w for w, h in zip(who, hits, strict=True) if h})
        out[f"{name}_ci95_by_driver"] = list(driver_bootstrap(hits, who, seed=seed))
    return out


def driver_bootstrap(
    hits: Sequence[bool], who: Sequence[str], *, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of the session rate, resampling drivers with replacement."""
    if not hits:
        return (0.0, 1.0)
    names = sorted(set(who))
    per = {w: [0, 0] for w in names}
    for w, h in zip(who, hits, strict=True):
        per[w][0] += int(h)
        per[w][1] += 1
    k = np.array([per[w][0] for w in names], dtype=np.float64)
    n = np.array([per[w][1] for w in names], dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    rates = k[draws].sum(axis=1) / n[draws].sum(axis=1)
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return (round(float(lo), 4), round(float(hi), 4))


def _swap(own: Scorer, other: Scorer) -> Scorer:
    """The swap session's scorer: the driver's own entry capture, then the proxy's."""
    calls = [0]

    def run(vec: np.ndarray) -> float:
        calls[0] += 1
        return own(vec) if calls[0] == 1 else other(vec)

    return run


def _swap_ref(own: Scorer | None, other: Scorer | None) -> Scorer | None:
    return None if own is None or other is None else _swap(own, other)


def _scorer(
    cohort: LabelledCohort | None, ref: np.ndarray, identity: str, probe_identity: str = ""
) -> Scorer | None:
    """z against ``ref`` with the reference's (and the probe's) people left out."""
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
    pipe: Pipeline,
    images_tsv: Path,
    root: Path,
    population: str,
    rotations: int = 1,
    video: Path | None = None,
    every_proxy: bool = False,
) -> dict[str, Any]:
    """Sessions under the loaded ``OperatingPolicy`` (three zones at entry, on the s-norm z
    with the cohort as configured, + anchor, + the two-reference rule after 实人认证, every
    capture through ``decide_capture``) and, for comparison on the same sessions, the
    authority photo alone, raw zones (no cohort) and a single raw reference threshold (the
    registry's) at entry. ``rotations`` 0: every image of a driver takes its turn as the
    reference. Photos have no bursts: with ``video`` the clips' bursts play sessions whose
    entry is the fused multi-frame probe (``proctor.bench.clip_sessions``)."""
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
    authority = replace(shipped, two_references=None)
    raw = replace(
        authority,
        snorm=None,
        cohort_id=None,
        anchor=anchor and replace(anchor, reference_loose_z=None),
    )
    raw_zones = replace(raw, reference=ZonePolicy(zones.match_l2, zones.no_match_l2))
    single = replace(raw, reference=ZonePolicy(registry_l2, registry_l2))
    turns = rotations if rotations > 0 else 10**6

    def run(p: OperatingPolicy, c: LabelledCohort | None) -> dict[str, Any]:
        z = p.reference
        normed = c is not None and z.normalised
        limits = [z.match_z, z.no_match_z] if normed else [z.match_l2, z.no_match_l2]
        return {
            "policy_id": p.policy_id,
            "zones": limits,
            "score": "snorm_z" if normed else "raw_l2",
            "two_references": None if p.two_references is None else p.two_references.rule,
        } | simulate(
            data.vectors,
            data.identities,
            p,
            cohort=c,
            rotations=turns,
            real_person=True,
            every_proxy=every_proxy,
        )

    out: dict[str, Any] = {
        "population": population,
        "policy": describe(settings, pipe, cohort),
        "policy_id": shipped.policy_id,
        "rotations": "all" if rotations <= 0 else rotations,
        "counted": "by session (Wilson 95%) and by driver (driver-resampling bootstrap 95%)",
        "proxies": "every other person" if every_proxy else "one drawn per driver session",
        "layout": "image 0 authority, image 1 实人认证 capture, images 2.. session captures",
        "anchor": None if anchor is None else anchor.thresholds(),
        "shipped": run(shipped, cohort),
        "authority_only": run(authority, cohort),
        "raw_zones": run(raw_zones, None),
        "single_threshold": run(single, None),
    }
    if video is not None:
        from proctor.bench.clip_sessions import run_clip_sessions

        out["clips"] = run_clip_sessions(pipe, video, shipped, cohort)
    return out
