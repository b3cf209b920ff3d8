"""Per-case recommendations and proxy-ring linking from re-verified snapshots. Pure core.

Inputs are measurements (distances in L2 units of the model's embedding, quality
metrics, replay hashes), never images. Thresholds are data: the review zones come
from the calibrated operating point (``models/operating_points.toml``) and its
bootstrap confidence interval: a snapshot *matches* when every model/runtime puts it
at or below the interval's lower bound, *mismatches* when every one puts it above
the upper bound, and is *uncertain* otherwise. A case is ``uphold_match`` when all
usable snapshots match, ``confirm_mismatch`` when all mismatch, else ``needs_human``.

Rings: embeddings of mismatching snapshots are linked across *different drivers*
when closer than ``ring_l2`` (single linkage); every connected component that spans
two or more drivers is one case group.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proctor.liveness.replay import Fingerprint, ReplayPolicy, check_replay
from proctor.review.queue import Recommendation


@dataclass(frozen=True, slots=True)
class ReviewZones:
    """Review thresholds (L2): match ≤ match_l2 < uncertain ≤ no_match_l2 < mismatch."""

    match_l2: float
    no_match_l2: float
    ring_l2: float

    def __post_init__(self) -> None:
        if not 0 < self.match_l2 <= self.no_match_l2 < 2 or not 0 < self.ring_l2 < 2:
            raise ValueError("need 0 < match_l2 <= no_match_l2 < 2 and 0 < ring_l2 < 2")


@dataclass(frozen=True, slots=True)
class QualityLimits:
    """Review quality limits on a face crop: sizes in crop pixels, angles in degrees."""

    min_face_px: int = 60
    max_abs_yaw_deg: float = 30.0
    min_sharpness: float = 30.0  # variance of the Laplacian on the grey face region
    min_brightness: float = 40.0
    max_brightness: float = 220.0


@dataclass(frozen=True, slots=True)
class SnapshotMeasure:
    """What the review profile measured on one evidence crop (no pixels, no embedding)."""

    evidence_id: str
    status: str  # "ok" | "retention_expired" | "evidence_missing" | image error code
    face_count: int = 0
    face_px: int = 0
    yaw_deg: float = 0.0
    sharpness: float = 0.0
    brightness: float = 0.0
    distances: Mapping[str, float] = field(default_factory=dict)  # "model/runtime" -> L2
    pixel_sha256: str = ""
    perceptual_hash: int = 0


def quality_reasons(m: SnapshotMeasure, limits: QualityLimits) -> tuple[str, ...]:
    if m.status != "ok":
        return (m.status,)
    if m.face_count == 0:
        return ("no_face",)
    out: list[str] = []
    if m.face_count > 1:
        out.append("multiple_faces")
    if m.face_px < limits.min_face_px:
        out.append("face_too_small")
    if abs(m.yaw_deg) > limits.max_abs_yaw_deg:
        out.append("pose_out_of_range")
    if m.sharpness < limits.min_sharpness:
        out.append("blurry")
    if m.brightness < limits.min_brightness:
        out.append("too_dark")
    elif m.brightness > limits.max_brightness:
        out.append("too_bright")
    return tuple(out)


def snapshot_verdict(distances: Mapping[str, float], zones: ReviewZones) -> str:
    """``match`` / ``mismatch`` only when every model and runtime agrees; else ``uncertain``."""
    if not distances:
        return "uncertain"
    values = list(distances.values())
    if all(d <= zones.match_l2 for d in values):
        return "match"
    if all(d > zones.no_match_l2 for d in values):
        return "mismatch"
    return "uncertain"


def _round(x: float) -> float:
    return float(round(x, 6))


def case_report(
    case_id: str,
    snapshots: Sequence[SnapshotMeasure],
    references: Sequence[SnapshotMeasure],
    zones: ReviewZones,
    limits: QualityLimits,
    replay: ReplayPolicy | None = None,
) -> dict[str, Any]:
    """The recommendation for one case with its evidence, as JSON-ready data."""
    refs = [Fingerprint(r.pixel_sha256, r.perceptual_hash) for r in references if r.status == "ok"]
    rows: list[dict[str, Any]] = []
    earlier: list[Fingerprint] = []
    verdicts: list[str] = []
    replays = 0
    for m in snapshots:
        reasons = quality_reasons(m, limits)
        fp = Fingerprint(m.pixel_sha256, m.perceptual_hash)
        rc = check_replay(fp, earlier, refs, replay)
        if fp.present:
            earlier.append(fp)
        verdict = "unusable" if reasons else snapshot_verdict(m.distances, zones)
        if rc.exact or rc.near_reference:
            replays += 1
        if not reasons:
            verdicts.append(verdict)
        rows.append(
            {
                "evidence_id": m.evidence_id,
                "verdict": verdict,
                "distances": {k: _round(v) for k, v in sorted(m.distances.items())},
                "quality_reasons": list(reasons),
                "yaw_deg": _round(m.yaw_deg),
                "sharpness": _round(m.sharpness),
                "replay": {
                    "exact": rc.exact,
                    "near": rc.near,
                    "near_reference": rc.near_reference,
                    "nearest_hamming_bits": rc.nearest_hamming_bits,
                },
            }
        )
    rec, reasons_out = _recommend(verdicts, replays, len(snapshots), references)
    return {
        "case_id": case_id,
        "recommendation": rec.value,
        "reasons": reasons_out,
        "zones": {"match_l2": zones.match_l2, "no_match_l2": zones.no_match_l2},
        "snapshots": rows,
        "references_usable": sum(1 for r in references if r.status == "ok" and r.face_count),
    }


def _recommend(
    verdicts: Sequence[str], replays: int, total: int, references: Sequence[SnapshotMeasure]
) -> tuple[Recommendation, list[str]]:
    if not any(r.status == "ok" and r.face_count for r in references):
        return Recommendation.NEEDS_HUMAN, ["no_usable_reference"]
    if total == 0:
        return Recommendation.NEEDS_HUMAN, ["no_evidence_in_retention"]
    if replays:
        return Recommendation.NEEDS_HUMAN, ["replay_detected"]
    if not verdicts:
        return Recommendation.NEEDS_HUMAN, ["no_usable_snapshot"]
    if all(v == "match" for v in verdicts):
        return Recommendation.UPHOLD_MATCH, ["all_usable_snapshots_match"]
    if all(v == "mismatch" for v in verdicts):
        return Recommendation.CONFIRM_MISMATCH, ["all_usable_snapshots_mismatch"]
    return Recommendation.NEEDS_HUMAN, ["verdicts_disagree"]


@dataclass(frozen=True, slots=True)
class RingMember:
    case_id: str
    driver_id: str
    evidence_id: str
    vector: np.ndarray


def link_rings(members: Sequence[RingMember], ring_l2: float) -> list[tuple[str, ...]]:
    """Case groups: components of mismatching faces linked across different drivers.

    Deterministic: members are sorted, groups are sorted tuples of case ids, and the
    list is sorted.
    """
    ms = sorted(members, key=lambda m: (m.case_id, m.evidence_id))
    parent = list(range(len(ms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ms)):
        for j in range(i + 1, len(ms)):
            if ms[i].driver_id == ms[j].driver_id:
                continue
            d = float(np.linalg.norm(ms[i].vector - ms[j].vector))
            if math.isfinite(d) and d <= ring_l2:
                parent[find(i)] = find(j)
    comps: dict[int, list[RingMember]] = {}
    for i, m in enumerate(ms):
        comps.setdefault(find(i), []).append(m)
    groups = {
        tuple(sorted({m.case_id for m in comp}))
        for comp in comps.values()
        if len({m.driver_id for m in comp}) >= 2
    }
    return sorted(groups)


def group_id(case_ids: Sequence[str]) -> str:
    """Stable id of a case group: the same cases always give the same group."""
    return "ring-" + hashlib.sha256("\n".join(sorted(case_ids)).encode()).hexdigest()[:20]
