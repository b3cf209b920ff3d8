"""Multi-frame probes: one embedding from several frames of one burst. Pure core: numpy only.

A single frame carries its own blur, expression and pose; the frames of a 2-second
burst are the same face under slightly different noise. Averaging their *directions*
(unit embeddings) cancels part of that noise. The fused vector is rescaled to the
inputs' (weighted) mean norm, so it lives where single embeddings do and the raw L2
thresholds calibrated on single images keep their meaning.

``select_frames`` picks the ``k`` best frames by a quality score in [0, 1] (the burst
uses frontality: see ``frontal_quality``); ``fuse`` averages them, weighted by that
quality or uniformly. ``k`` and the weighting are chosen on dev clips only
(models/cards/dlib_resnet_v1.md, "Multi-frame probes").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Weighting(StrEnum):
    QUALITY = "quality"
    UNIFORM = "uniform"


@dataclass(frozen=True, slots=True)
class FusionPolicy:
    """``k`` frames at most (1 = the single best frame, no fusion); frames below
    ``min_quality`` never take part."""

    k: int = 5
    weighting: Weighting = Weighting.QUALITY
    min_quality: float = 0.0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if not 0.0 <= self.min_quality < 1.0:
            raise ValueError("min_quality must lie in [0, 1)")


def frontal_quality(yaw_deg: float, max_yaw_deg: float) -> float:
    """1 for a frontal face, falling linearly to 0 at ``max_yaw_deg`` of yaw."""
    if max_yaw_deg <= 0:
        raise ValueError("max_yaw_deg must be positive")
    return max(0.0, 1.0 - abs(yaw_deg) / max_yaw_deg)


def select_frames(qualities: Sequence[float], policy: FusionPolicy) -> list[int]:
    """Indices of the ``k`` best frames (quality descending, earlier first on ties)."""
    usable = [i for i, q in enumerate(qualities) if np.isfinite(q) and q >= policy.min_quality]
    usable.sort(key=lambda i: (-qualities[i], i))
    return usable[: policy.k]


def fuse(
    vectors: Sequence[FloatArray],
    qualities: Sequence[float] | None = None,
    weighting: Weighting = Weighting.QUALITY,
) -> FloatArray:
    """Weighted mean of the unit embeddings, rescaled to the weighted mean input norm."""
    if not vectors:
        raise ValueError("nothing to fuse")
    v = np.stack([np.asarray(x, np.float64) for x in vectors])
    norms = np.linalg.norm(v, axis=1)
    if not np.all(np.isfinite(v)) or np.any(norms <= 0):
        raise ValueError("embeddings must be finite and non-zero")
    if weighting is Weighting.UNIFORM or qualities is None:
        w = np.ones(len(v))
    else:
        w = np.clip(np.asarray(qualities, np.float64), 0.0, None)
        if w.shape != (len(v),) or not np.all(np.isfinite(w)):
            raise ValueError("one finite quality per embedding")
        if w.sum() <= 0:
            w = np.ones(len(v))
    w = w / w.sum()
    direction = (w[:, None] * (v / norms[:, None])).sum(axis=0)
    length = float(np.linalg.norm(direction))
    if length <= 0:
        raise ValueError("embeddings cancel out")
    out: FloatArray = direction / length * float((w * norms).sum())
    return out


def fuse_best(
    vectors: Sequence[FloatArray], qualities: Sequence[float], policy: FusionPolicy
) -> tuple[FloatArray, list[int]]:
    """Select the best frames and fuse them; returns the vector and the indices used."""
    chosen = select_frames(qualities, policy)
    if not chosen:
        raise ValueError("no frame reaches the fusion quality floor")
    picked = [vectors[i] for i in chosen]
    q = [qualities[i] for i in chosen]
    return fuse(picked, q, policy.weighting), chosen
