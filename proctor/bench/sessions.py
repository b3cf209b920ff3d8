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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import AnchorPolicy, OperatingPolicy, ZonePolicy
from proctor.pipeline import Pipeline
from proctor.types import Verdict

MAX_STRIKES = 3


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    terminated: bool
    manual_review: bool
    passed: bool  # completed all captures without termination or manual review


def play(
    reference: np.ndarray,
    captures: Sequence[np.ndarray],
    zones: ZonePolicy,
    anchor_policy: AnchorPolicy | None,
) -> SessionOutcome:
    strikes = 0
    anchor: np.ndarray | None = None
    policy = OperatingPolicy("bench", zones, anchor_policy)
    for vec in captures:
        d_ref = float(np.linalg.norm(vec - reference))
        d_anchor = None if anchor is None else float(np.linalg.norm(vec - anchor))
        m = CaptureMeasurements(reference_l2=d_ref, anchor_l2=d_anchor)
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
    zones: ZonePolicy,
    anchor_policy: AnchorPolicy | None,
    *,
    captures: int = 6,
    min_images: int = 4,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, ident in enumerate(identities):
        by_id.setdefault(ident, []).append(i)
    drivers = sorted(k for k, v in by_id.items() if len(v) >= min_images)
    others = sorted(by_id)
    tallies: dict[str, list[SessionOutcome]] = {"genuine": [], "proxy": [], "swap": []}
    for name in drivers:
        idx = by_id[name]
        ref = vectors[idx[0]]
        own = [vectors[idx[1 + (k % (len(idx) - 1))]] for k in range(captures)]
        proxy_name = name
        while proxy_name == name:
            proxy_name = others[int(rng.integers(len(others)))]
        pidx = by_id[proxy_name]
        proxy = [vectors[pidx[k % len(pidx)]] for k in range(captures)]
        tallies["genuine"].append(play(ref, own, zones, anchor_policy))
        tallies["proxy"].append(play(ref, proxy, zones, anchor_policy))
        tallies["swap"].append(play(ref, own[:1] + proxy[1:], zones, anchor_policy))
    out: dict[str, dict[str, Any]] = {}
    for kind, rows in tallies.items():
        n = len(rows)
        counts = {
            "terminated": sum(r.terminated for r in rows),
            "manual_review": sum(r.manual_review for r in rows),
            "passed": sum(r.passed for r in rows),
        }
        out[kind] = {"sessions": n, **counts}
        for name, k in counts.items():
            out[kind][f"{name}_rate"] = k / n if n else 0.0
            out[kind][f"{name}_ci95"] = list(wilson(k, n))
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sound at k = 0 and small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def run_sessions(pipe: Pipeline, images_tsv: Path, root: Path, population: str) -> dict[str, Any]:
    """Sessions at the shipped settings (three zones at entry + anchor) and, for comparison,
    with a single reference threshold (the registry's) at entry."""
    from proctor.calibration.runner import embed_labelled, read_images_tsv
    from proctor.config import ProctorSettings
    from proctor.embedding.registry import model_spec
    from proctor.operating_policy import load_operating_policy

    settings = ProctorSettings()
    data = embed_labelled(pipe, root, read_images_tsv(images_tsv, population))
    shipped = load_operating_policy(settings, pipe.model_id)
    anchor = shipped.anchor
    registry_l2 = model_spec(pipe.model_id, settings.models_dir).threshold_l2
    single = ZonePolicy(registry_l2, registry_l2)
    zones = shipped.reference
    out: dict[str, Any] = {
        "population": population,
        "policy_id": shipped.policy_id,
        "anchor": None if anchor is None else [anchor.anchor_l2, anchor.reference_loose_l2],
        "shipped": {"zones": [zones.match_l2, zones.no_match_l2]}
        | simulate(data.vectors, data.identities, zones, anchor),
        "single_threshold": {"zones": [single.match_l2, single.no_match_l2]}
        | simulate(data.vectors, data.identities, single, anchor),
    }
    return out
