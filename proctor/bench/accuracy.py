"""`proctor bench accuracy`: FMR/FNMR/EER on a pair list, ours and (optionally) face_recognition.

Algorithm figures skip pairs where either image failed acquisition (no face or
undecodable); system figures count such a genuine pair as a false non-match and
such an impostor pair as a (correct) rejection, and report FTA separately.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from proctor.bench.metrics import error_rates
from proctor.bench.pairs import Pair, read_pairs
from proctor.decision.capture import (
    CaptureContext,
    CaptureDecision,
    CaptureMeasurements,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.embedding.registry import model_spec
from proctor.errors import ImageError
from proctor.pipeline import Pipeline
from proctor.quality.policy import QualityPolicy
from proctor.types import Embedding, Verdict

EmbedFn = Callable[[Path], Embedding | None]


def ours_embedder(pipe: Pipeline, jitters: int = 1) -> EmbedFn:
    permissive = QualityPolicy.permissive()

    def run(path: Path) -> Embedding | None:
        try:
            a = pipe.analyze(path.read_bytes(), permissive)
        except ImageError:
            return None
        if a.chip is None:
            return None
        return pipe.embed(a, jitters)

    return run


def baseline_embedder() -> EmbedFn:
    """face_recognition as its README teaches: first face found, HOG upsample 1."""
    from proctor.bench.reference import load_face_recognition

    fr = load_face_recognition()

    def run(path: Path) -> Embedding | None:
        img = fr.load_image_file(str(path))
        encs = fr.face_encodings(img)
        return np.asarray(encs[0], dtype=np.float64) if encs else None

    return run


def embed_all(paths: Iterable[str], root: Path, fn: EmbedFn) -> dict[str, Embedding | None]:
    return {p: fn(root / p) for p in sorted(set(paths))}


def score_pairs(
    pairs: list[Pair],
    probes: dict[str, Embedding | None],
    refs: dict[str, Embedding | None],
    threshold: float,
    normalise: Normaliser | None = None,
    policy: OperatingPolicy | None = None,
) -> dict[str, Any]:
    """Raw L2 figures at ``threshold``; with ``normalise`` (the cohort as configured), the
    figures follow its s-norm z instead and the raw figures move under ``raw``. With
    ``policy``, every scored pair is also decided by ``decide_capture`` as an entry check
    (``decided``: what the service would answer, zones included)."""
    decided: list[tuple[bool, CaptureDecision]] = []
    gen: list[float] = []
    imp: list[float] = []
    z_gen: list[float] = []
    z_imp: list[float] = []
    fta_gen = fta_imp = 0
    failed_images = {p for p, e in {**probes, **refs}.items() if e is None}
    for pr in pairs:
        ea, eb = refs.get(pr.a), probes.get(pr.b)
        if ea is None or eb is None:
            if pr.same:
                fta_gen += 1
            else:
                fta_imp += 1
            continue
        d = float(np.linalg.norm(ea - eb))
        (gen if pr.same else imp).append(d)
        z = None
        if normalise is not None:
            z = normalise.score(ea, eb, pr.a, pr.b)
            (z_gen if pr.same else z_imp).append(z)
        if policy is not None:
            m = CaptureMeasurements(reference_l2=d, reference_z=z)
            decided.append((pr.same, decide_capture(m, CaptureContext(), policy)))
    out = rates_from_distances(gen, imp, fta_gen, fta_imp, threshold)
    out["fta_images"] = len(failed_images)
    if normalise is None:
        out["score"] = "raw_l2"
    else:
        normed = rates_from_scores(z_gen, z_imp, fta_gen, fta_imp, normalise.threshold)
        normed["fta_images"] = out["fta_images"]
        normed["raw"] = out
        out = normed
    if policy is not None:
        out["decided"] = decided_rates(decided, fta_gen, fta_imp, policy)
    return out


def decided_rates(
    decided: list[tuple[bool, CaptureDecision]], fta_gen: int, fta_imp: int, p: OperatingPolicy
) -> dict[str, Any]:
    """What ``decide_capture`` answered per pair kind: ``fmr`` impostors passed, ``fnmr``
    genuine pairs not passed (uncertain counts as not passed: a human sees them), and the
    uncertain share of each; a pair that failed acquisition is a genuine non-match."""
    out: dict[str, Any] = {"policy_id": p.policy_id, "thresholds": p.reference.thresholds()}
    for kind, same, fta in (("genuine", True, fta_gen), ("impostor", False, fta_imp)):
        rows = [dec for s, dec in decided if s is same]
        counts = {v.value: sum(d.verdict is v for d in rows) for v in Verdict}
        n = len(rows) + (fta if same else 0)
        out[kind] = {"pairs": n, **{k: c for k, c in counts.items() if c}}
        if same:
            out[kind]["failed_to_acquire"] = fta
    g, i = out["genuine"], out["impostor"]
    out["fnmr"] = 1 - g.get("match", 0) / g["pairs"] if g["pairs"] else None
    out["uncertain_genuine"] = g.get("uncertain", 0) / g["pairs"] if g["pairs"] else None
    out["fmr"] = i.get("match", 0) / i["pairs"] if i["pairs"] else None
    out["uncertain_impostor"] = i.get("uncertain", 0) / i["pairs"] if i["pairs"] else None
    return out


class Normaliser(Protocol):
    """s-norm of one comparison (reference and probe embeddings, and their image paths)."""

    threshold: float

    def score(
        self, reference: Embedding, probe: Embedding, reference_path: str, probe_path: str
    ) -> float: ...


def rates_from_scores(
    gen: list[float], imp: list[float], fta_gen: int, fta_imp: int, threshold: float
) -> dict[str, Any]:
    """``rates_from_distances`` for similarities (accept z >= threshold)."""
    out = rates_from_distances([-z for z in gen], [-z for z in imp], fta_gen, fta_imp, -threshold)
    out["threshold"] = threshold
    out["eer_threshold"] = -out["eer_threshold"]
    out["threshold_at_fmr"] = {
        k: None if v is None else -v for k, v in out["threshold_at_fmr"].items()
    }
    out["genuine_scores"] = gen
    out["impostor_scores"] = imp
    del out["genuine_distances"], out["impostor_distances"]
    out["score"] = "snorm_z"
    return out


def rates_from_distances(
    gen: list[float], imp: list[float], fta_gen: int, fta_imp: int, threshold: float
) -> dict[str, Any]:
    """Algorithm figures (failed pairs skipped) and system figures (ISO/IEC 19795 style)."""
    algo = error_rates(gen, imp, threshold)
    n_gen, n_imp = len(gen) + fta_gen, len(imp) + fta_imp
    n = n_gen + n_imp
    fm = sum(d <= threshold for d in imp)
    fnm = sum(d > threshold for d in gen) + fta_gen
    return {
        "pairs": n,
        "pairs_scored": len(gen) + len(imp),
        "fta": (fta_gen + fta_imp) / n if n else 0.0,
        "fta_pairs": {"genuine": fta_gen, "impostor": fta_imp},
        "threshold": threshold,
        "fmr": algo.fmr,
        "fnmr": algo.fnmr,
        "accuracy": _accuracy(gen, imp, threshold),
        "eer": algo.eer,
        "eer_threshold": algo.eer_threshold,
        "fnmr_at_fmr": algo.fnmr_at_fmr,
        "threshold_at_fmr": algo.threshold_at_fmr,
        "system": {
            "fmr": fm / n_imp if n_imp else 0.0,
            "fnmr": fnm / n_gen if n_gen else 0.0,
            "accuracy": (n_imp - fm + n_gen - fnm) / n if n else 0.0,
        },
        "genuine_distances": gen,
        "impostor_distances": imp,
    }


def rescore(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    """The same pairs decided at another threshold, without re-embedding."""
    f = result["fta_pairs"]
    return rates_from_distances(
        result["genuine_distances"],
        result["impostor_distances"],
        f["genuine"],
        f["impostor"],
        threshold,
    )


def _accuracy(gen: list[float], imp: list[float], thr: float) -> float:
    n = len(gen) + len(imp)
    if not n:
        return 0.0
    ok = sum(d <= thr for d in gen) + sum(d > thr for d in imp)
    return ok / n


def run_accuracy(
    pairs_file: Path,
    root: Path | None,
    pipe: Pipeline,
    *,
    threshold: float | None = None,
    baseline: bool = False,
    ref_jitters: int = 1,
    baseline_threshold: float = 0.6,
    normalise: Normaliser | None = None,
    policy: OperatingPolicy | None = None,
) -> dict[str, Any]:
    pairs = read_pairs(pairs_file)
    root = root or pairs_file.parent
    thr = threshold if threshold is not None else model_spec(pipe.model_id).threshold_l2
    if ref_jitters == 1:
        probes = embed_all({x for p in pairs for x in (p.a, p.b)}, root, ours_embedder(pipe, 1))
        refs = probes
    else:
        probes = embed_all((p.b for p in pairs), root, ours_embedder(pipe, 1))
        refs = embed_all((p.a for p in pairs), root, ours_embedder(pipe, ref_jitters))
    result = score_pairs(pairs, probes, refs, thr, normalise, policy)
    result.update(
        {"model_id": pipe.model_id, "ref_jitters": ref_jitters, "pairs_file": str(pairs_file)}
    )
    if baseline:
        emb = embed_all({x for p in pairs for x in (p.a, p.b)}, root, baseline_embedder())
        base = score_pairs(pairs, emb, emb, baseline_threshold)
        base["pipeline"] = "face_recognition 1.3.0 default (HOG upsample 1, first face, 0.6)"
        result["baseline"] = base
    return result


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The result without raw distance lists (for printing)."""
    out = {k: v for k, v in result.items() if not k.endswith(RAW_LISTS)}
    for key in ("baseline", "raw"):
        if key in out:
            out[key] = {k: v for k, v in out[key].items() if not k.endswith(RAW_LISTS)}
    return out


RAW_LISTS = ("_distances", "_scores")


__all__ = ["rescore", "run_accuracy", "score_pairs", "summary"]
