"""Operating points from genuine and impostor scores, with subject-bootstrap intervals.

Scores are similarities: higher means more alike (use −distance for raw L2).
A threshold ``t`` accepts a pair when ``score >= t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PairSet:
    """Index pairs into a list of images, with the identity index of each image."""

    genuine: IntArray  # shape (G, 2)
    impostor: IntArray  # shape (I, 2)
    identity: IntArray  # shape (N,)


def build_pairs(identities: Sequence[str], max_per_identity: int, seed: int = 0) -> PairSet:
    """All same-identity pairs as genuine, all cross-identity pairs as impostors.

    At most ``max_per_identity`` images per identity take part (chosen with a
    seeded RNG), so that no one person dominates either distribution.
    """
    rng = np.random.default_rng(seed)
    names = sorted(set(identities))
    index = {n: i for i, n in enumerate(names)}
    ident = np.array([index[n] for n in identities], dtype=np.int64)
    keep: list[int] = []
    for i in range(len(names)):
        members = np.flatnonzero(ident == i)
        if members.size > max_per_identity:
            members = np.sort(rng.choice(members, max_per_identity, replace=False))
        keep.extend(int(m) for m in members)
    kept = np.array(sorted(keep), dtype=np.int64)
    a, b = np.triu_indices(kept.size, k=1)
    pa, pb = kept[a], kept[b]
    same = ident[pa] == ident[pb]
    return PairSet(
        genuine=np.stack([pa[same], pb[same]], axis=1),
        impostor=np.stack([pa[~same], pb[~same]], axis=1),
        identity=ident,
    )


def threshold_at_fmr(impostor: FloatArray, target: float) -> float:
    """Smallest threshold whose FMR (share of impostor scores ≥ it) is at most ``target``."""
    imp = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]  # descending
    allowed = int(np.floor(target * imp.size + 1e-9))
    if allowed >= imp.size:
        return float(imp[-1])
    return float(np.nextafter(imp[allowed], np.inf))


def fnmr_at(genuine: FloatArray, threshold: float) -> float:
    return float(np.mean(np.asarray(genuine) < threshold)) if len(genuine) else 0.0


def fmr_at(impostor: FloatArray, threshold: float) -> float:
    return float(np.mean(np.asarray(impostor) >= threshold)) if len(impostor) else 0.0


def eer(genuine: FloatArray, impostor: FloatArray) -> tuple[float, float]:
    """Equal error rate and its threshold (the candidate minimising max(FMR, FNMR))."""
    cands = np.unique(np.concatenate([genuine, impostor]))
    gen = np.sort(genuine)
    imp = np.sort(impostor)
    fnmr = np.searchsorted(gen, cands, side="left") / max(gen.size, 1)
    fmr = 1.0 - np.searchsorted(imp, cands, side="left") / max(imp.size, 1)
    worst = np.maximum(fnmr, fmr)
    i = int(np.argmin(worst))
    return float(worst[i]), float(cands[i])


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    target_fmr: float
    threshold: float
    fmr: float
    fnmr: float
    fnmr_ci: tuple[float, float]
    threshold_ci: tuple[float, float]
    genuine: int
    impostor: int


def operating_points(
    genuine: FloatArray,
    impostor: FloatArray,
    targets: Sequence[float],
    *,
    genuine_subjects: IntArray | None = None,
    impostor_subjects: IntArray | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> list[OperatingPoint]:
    """Threshold and FNMR at each target FMR, with 95% intervals from a subject bootstrap.

    The bootstrap resamples *subjects* (identities) with replacement and keeps every
    pair whose subject was drawn (an impostor pair is keyed by its first image's
    subject), because pairs of one person are not independent.
    """
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    rng = np.random.default_rng(seed)
    points: list[OperatingPoint] = []
    boots: list[tuple[FloatArray, FloatArray]] = []
    if genuine_subjects is not None and impostor_subjects is not None and n_boot > 0:
        subjects = np.unique(np.concatenate([genuine_subjects, impostor_subjects]))
        for _ in range(n_boot):
            drawn = rng.choice(subjects, subjects.size, replace=True)
            counts = np.bincount(drawn, minlength=int(subjects.max()) + 1)
            wg = counts[genuine_subjects]
            wi = counts[impostor_subjects]
            boots.append((np.repeat(gen, wg), np.repeat(imp, wi)))
    for target in targets:
        t = threshold_at_fmr(imp, target)
        ts: list[float] = []
        fs: list[float] = []
        for g, i in boots:
            if g.size and i.size:
                bt = threshold_at_fmr(i, target)
                ts.append(bt)
                fs.append(fnmr_at(g, bt))
        fn_ci = _ci(fs) if fs else (float("nan"), float("nan"))
        t_ci = _ci(ts) if ts else (float("nan"), float("nan"))
        points.append(
            OperatingPoint(
                target,
                t,
                fmr_at(imp, t),
                fnmr_at(gen, t),
                fn_ci,
                t_ci,
                int(gen.size),
                int(imp.size),
            )
        )
    return points


def _ci(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = np.percentile(np.asarray(values), [2.5, 97.5])
    return float(lo), float(hi)


def det_curve(
    genuine: FloatArray, impostor: FloatArray, points: int = 200
) -> tuple[FloatArray, FloatArray]:
    """(FMR, FNMR) along thresholds spanning the scores, for plotting."""
    lo = float(min(genuine.min(), impostor.min()))
    hi = float(max(genuine.max(), impostor.max()))
    ts = np.linspace(lo, hi, points)
    gen, imp = np.sort(genuine), np.sort(impostor)
    fnmr = np.searchsorted(gen, ts, side="left") / gen.size
    fmr = 1.0 - np.searchsorted(imp, ts, side="left") / imp.size
    return fmr.astype(np.float64), fnmr.astype(np.float64)
