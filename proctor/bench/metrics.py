"""Verification error rates from genuine and impostor distances. Pure (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ErrorRates:
    threshold: float
    fmr: float
    fnmr: float
    eer: float
    eer_threshold: float
    fnmr_at_fmr: dict[str, float | None]
    threshold_at_fmr: dict[str, float | None]
    genuine: int
    impostor: int


def _rates(gen: np.ndarray, imp: np.ndarray, thr: float) -> tuple[float, float]:
    fmr = float(np.mean(imp <= thr)) if imp.size else 0.0
    fnmr = float(np.mean(gen > thr)) if gen.size else 0.0
    return fmr, fnmr


def threshold_for_fmr(impostor: Sequence[float] | np.ndarray, target: float) -> float | None:
    """Largest threshold whose FMR (share of impostors at or below it) stays ≤ target."""
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    if imp.size == 0:
        return None
    allowed = int(np.floor(target * imp.size + 1e-9))  # impostors we may accept
    if allowed >= imp.size:
        return float(imp[-1])
    # accept exactly `allowed` impostors: threshold just below the next one
    upper = imp[allowed]
    lower = imp[allowed - 1] if allowed > 0 else 0.0
    if upper <= lower:
        return None
    return float(np.nextafter(upper, -np.inf)) if allowed == 0 else float((lower + upper) / 2)


def error_rates(
    genuine: Sequence[float],
    impostor: Sequence[float],
    threshold: float,
    targets: Sequence[float] = (0.01, 0.001),
) -> ErrorRates:
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    fmr, fnmr = _rates(gen, imp, threshold)
    cands = np.unique(np.concatenate([gen, imp])) if gen.size + imp.size else np.array([0.0])
    best, best_thr = 1.0, float(cands[0])
    for t in cands:
        a, b = _rates(gen, imp, float(t))
        gap = max(a, b)
        if gap < best:
            best, best_thr = gap, float(t)
    at: dict[str, float | None] = {}
    thr_at: dict[str, float | None] = {}
    for target in targets:
        key = f"{target:g}"
        t = threshold_for_fmr(imp, target)
        thr_at[key] = t
        at[key] = None if t is None else _rates(gen, imp, t)[1]
    return ErrorRates(
        threshold, fmr, fnmr, best, best_thr, at, thr_at, int(gen.size), int(imp.size)
    )
