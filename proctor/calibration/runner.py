"""`proctor calibrate`: embed a labelled image set, score all pairs, write operating points.

Embeddings are cached per model under ``.cache/embeddings`` (keyed by path, size and
mtime), so re-running or testing does not re-embed unchanged images.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proctor.calibration.core import OperatingPoint, build_pairs, eer, operating_points
from proctor.calibration.evaluate import FloatArray, ScoredPairs, score_leave_identities_out
from proctor.calibration.reference_cohort import LabelledCohort, score_index_pairs
from proctor.errors import ImageError
from proctor.matching.fusion import FusionPolicy
from proctor.pipeline import Pipeline
from proctor.quality.policy import QualityPolicy

TARGETS = (0.01, 0.005, 0.003, 0.001, 0.0001)
ANCHOR_TARGETS = (0.01, 0.001)
ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".cache" / "embeddings"


@dataclass(frozen=True, slots=True)
class LabelledSet:
    paths: list[str]
    identities: list[str]
    vectors: np.ndarray
    failed: list[str]


def read_images_tsv(path: Path, population: str) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return [
            (r["path"], r["identity"]) for r in rows if r["set"] == population and r["identity"]
        ]


def embed_labelled(
    pipe: Pipeline, root: Path, rows: Sequence[tuple[str, str]], cache_dir: Path | None = CACHE_DIR
) -> LabelledSet:
    cache: dict[str, np.ndarray] = {}
    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        detector = getattr(pipe.detector, "policy", type(pipe.detector).__name__)
        aligner = getattr(pipe.aligner, "name", "dlib5")
        graph = getattr(pipe.encoder, "artifact_sha256", "")  # a rebuilt graph: new embeddings
        setup = f"{pipe.model_id}|{type(pipe.encoder).__name__}|{graph}|{detector!r}|{aligner}"
        tag = hashlib.sha1(setup.encode()).hexdigest()[:12]
        cache_file = cache_dir / f"{pipe.model_id}_{tag}.npz"
        if cache_file.exists():
            with np.load(cache_file) as z:
                cache = {k: z[k] for k in z.files}
    permissive = QualityPolicy.permissive()
    paths: list[str] = []
    ids: list[str] = []
    vecs: list[np.ndarray] = []
    failed: list[str] = []
    dirty = False
    for rel, ident in rows:
        full = root / rel
        st = full.stat()
        key = hashlib.sha1(f"{rel}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
        vec = cache.get(key)
        if vec is None:
            try:
                a = pipe.analyze(full.read_bytes(), permissive)
            except ImageError:
                a = None
            vec = np.zeros(0) if a is None or a.chip is None else pipe.embed(a, 1)
            cache[key] = vec
            dirty = True
        if vec.size == 0:
            failed.append(rel)
            continue
        paths.append(rel)
        ids.append(ident)
        vecs.append(vec)
    if dirty and cache_file is not None:
        _save_cache(cache_file, cache)
    return LabelledSet(paths, ids, np.stack(vecs), failed)


def _save_cache(cache_file: Path, cache: dict[str, np.ndarray]) -> None:
    """Write the cache atomically under a name of this process's own: two benches that
    share the cache folder (run side by side) neither clobber each other's temporary
    file nor drop each other's entries (what is on disk now is merged in first)."""
    merged: dict[str, np.ndarray] = {}
    if cache_file.exists():
        try:
            with np.load(cache_file) as z:
                merged = {k: z[k] for k in z.files}
        except (OSError, ValueError):
            merged = {}  # a damaged cache is rebuilt, never trusted
    merged.update(cache)
    tmp = cache_file.with_name(f".{cache_file.stem}.{os.getpid()}.{secrets.token_hex(4)}.npz")
    try:
        np.savez(tmp, allow_pickle=False, **merged)
        tmp.replace(cache_file)
    finally:
        tmp.unlink(missing_ok=True)


def _point_dict(p: OperatingPoint, distance: bool) -> dict[str, Any]:
    sign = -1.0 if distance else 1.0
    t_ci = sorted((sign * p.threshold_ci[0], sign * p.threshold_ci[1]))
    return {
        "threshold": sign * p.threshold,
        "fmr": p.fmr,
        "fnmr": p.fnmr,
        "fnmr_ci": list(p.fnmr_ci),
        "threshold_ci": t_ci,
        "genuine_pairs": p.genuine,
        "impostor_pairs": p.impostor,
    }


def calibrate_population(
    data: LabelledSet, *, top_k: int, folds: int, max_per_identity: int, n_boot: int, seed: int = 0
) -> tuple[dict[str, Any], ScoredPairs]:
    scored = score_leave_identities_out(
        data.vectors,
        data.identities,
        folds=folds,
        top_k=top_k,
        max_per_identity=max_per_identity,
        seed=seed,
    )
    raw = operating_points(
        scored.raw_genuine,
        scored.raw_impostor,
        TARGETS,
        genuine_subjects=scored.genuine_subjects,
        impostor_subjects=scored.impostor_subjects,
        n_boot=n_boot,
        seed=seed,
    )
    norm = operating_points(
        scored.norm_genuine,
        scored.norm_impostor,
        TARGETS,
        genuine_subjects=scored.genuine_subjects,
        impostor_subjects=scored.impostor_subjects,
        n_boot=n_boot,
        seed=seed,
    )
    raw_eer, raw_eer_t = eer(scored.raw_genuine, scored.raw_impostor)
    norm_eer, norm_eer_t = eer(scored.norm_genuine, scored.norm_impostor)
    body: dict[str, Any] = {
        "images": len(data.paths),
        "identities": len(set(data.identities)),
        "failed_to_acquire": len(data.failed),
        "top_k": top_k,
        "folds": folds,
        "max_per_identity": max_per_identity,
        "cohort_sizes": list(scored.cohort_sizes),
        "raw_eer": raw_eer,
        "raw_eer_threshold_l2": -raw_eer_t,
        "snorm_eer": norm_eer,
        "snorm_eer_threshold": norm_eer_t,
        "raw_l2": {f"{p.target_fmr:g}": _point_dict(p, True) for p in raw},
        "snorm": {f"{p.target_fmr:g}": _point_dict(p, False) for p in norm},
    }
    return body, scored


def calibrate_reference_cohort(
    data: LabelledSet, pool: LabelledCohort, *, max_per_identity: int, n_boot: int, seed: int = 0
) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    """s-norm operating points under the *shipped* cohort rule (``snorm_references``): one
    reference per person pooled over every population served, each pair scored with both
    people's rows left out (``proctor.calibration.reference_cohort``). All pairs of the set
    take part; 95% intervals from the subject bootstrap."""
    pairs = build_pairs(data.identities, max_per_identity, seed)
    gen = score_index_pairs(pool, data.vectors, data.identities, pairs.genuine)
    imp = score_index_pairs(pool, data.vectors, data.identities, pairs.impostor)
    pts = operating_points(
        gen,
        imp,
        TARGETS,
        genuine_subjects=pairs.identity[pairs.genuine[:, 0]],
        impostor_subjects=pairs.identity[pairs.impostor[:, 0]],
        n_boot=n_boot,
        seed=seed,
    )
    body = {f"{p.target_fmr:g}": _point_dict(p, False) for p in pts}
    return body, gen, imp


def calibrate_anchor(pipe: Pipeline, video_dir: Path, *, n_boot: int) -> dict[str, Any]:
    """Anchor thresholds from same-session clips; impostors are East-Asian clip pairs.

    The ``snorm`` key is absent: anchors are compared raw. The East-Asian impostor
    set is small (a few hundred frame pairs), so FMR below ~0.3% is not resolved.
    """
    from proctor.calibration.video import anchor_distances, embed_clip, read_manifests

    clips = read_manifests(video_dir)
    ad = anchor_distances([embed_clip(pipe, c) for c in clips])
    gen, imp = -ad.genuine, -ad.impostor_east_asian
    pts = operating_points(gen, imp, ANCHOR_TARGETS, n_boot=0)
    all_pts = operating_points(gen, -ad.impostor, ANCHOR_TARGETS, n_boot=0)
    e, e_t = eer(gen, imp)
    return {
        "images": ad.frames_used,
        "identities": ad.clips_used,
        "failed_to_acquire": ad.frames_rejected,
        "top_k": 0,
        "folds": 0,
        "max_per_identity": 10,
        "impostor_population": "east-asian clips",
        "raw_eer": e,
        "raw_eer_threshold_l2": -e_t,
        "raw_l2": {f"{p.target_fmr:g}": _point_dict(p, True) for p in pts},
        "raw_l2_all_people": {f"{p.target_fmr:g}": _point_dict(p, True) for p in all_pts},
    }


def markdown_table(population: str, body: dict[str, Any]) -> str:
    how = (
        f"leave-identities-out, {body['folds']} folds, top-{body['top_k']} cohort"
        if body["folds"]
        else "same-session clips, anchor = first accepted frame, East-Asian impostor clips"
    )
    lines = [
        f"### {population}: {body['images']} images, {body['identities']} identities "
        f"(FTA {body['failed_to_acquire']}), {how}",
        "",
        f"EER raw {body['raw_eer']:.2%}"
        + (f", s-norm {body['snorm_eer']:.2%}." if "snorm_eer" in body else "."),
        "",
        "| target FMR | score | threshold | FMR | FNMR | FNMR 95% CI | pairs (gen / imp) |",
        "|---|---|---|---|---|---|---|",
    ]
    for target in body["raw_l2"]:
        for score in ("raw_l2", "snorm", "snorm_references", "raw_l2_all_people"):
            if score not in body:
                continue
            p = body[score][target]
            lo, hi = p["fnmr_ci"]
            lines.append(
                f"| {target} | {score} | {p['threshold']:.4f} | {p['fmr']:.3%} | {p['fnmr']:.2%} "
                f"| {lo:.1%}–{hi:.1%} | {p['genuine_pairs']} / {p['impostor_pairs']} |"
            )
    return "\n".join(lines) + "\n"


def det_png(
    path: Path,
    population: str,
    scored: ScoredPairs,
    extra: Sequence[tuple[str, FloatArray, FloatArray]] = (),
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from proctor.calibration.core import det_curve

    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    for label, g, i in (
        ("raw L2", scored.raw_genuine, scored.raw_impostor),
        ("s-norm (fold cohort)", scored.norm_genuine, scored.norm_impostor),
        *extra,
    ):
        fmr, fnmr = det_curve(g, i, 400)
        keep = (fmr > 0) & (fnmr > 0)
        ax.loglog(fmr[keep], fnmr[keep], label=label)
    ax.set_xlabel("FMR")
    ax.set_ylabel("FNMR")
    ax.set_title(f"DET, {population}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


__all__ = ["asdict", "calibrate_population", "det_png", "embed_labelled", "markdown_table"]


TWO_REFERENCE_TARGETS = (0.01, 0.005, 0.003, 0.001)


def calibrate_two_references(
    data: LabelledSet,
    pool: LabelledCohort,
    *,
    n_boot: int,
    max_probes: int = 5,
    max_impostors: int = 40,
    rotations: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Operating points of the two-reference rules (``max`` and ``mean`` of the authority
    photo's and the live reference's scores) beside the authority photo alone, on the same
    probes: s-norm z (the shipped cohort rule) and raw L2, each with its EER threshold (the
    anchored check's loose limit). SIMULATED: the second reference is another *photo* of the
    person standing in for the ``live_verified`` capture (no labelled 实人认证 captures here).

    People with >= 3 images; rotation r (up to ``rotations``): image r is the authority
    reference, image r+1 the live one, the next ``max_probes`` images the genuine probes;
    impostor probes are up to ``max_impostors`` images of other people (seeded). Both
    people's rows leave the cohort, as in calibration. The bootstrap resamples people (all
    rotations of one person go together)."""
    from proctor.calibration.core import eer
    from proctor.matching.references import TwoReferenceRule, combine_scores

    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, ident in enumerate(data.identities):
        by_id.setdefault(ident, []).append(i)
    people = sorted(k for k, v in by_id.items() if len(v) >= 3)
    subject = {k: n for n, k in enumerate(sorted(by_id))}
    rows: dict[str, list[tuple[float, float, float, float, int]]] = {"genuine": [], "impostor": []}
    for name in people:
        for r in range(min(rotations, len(by_id[name]))):
            idx = by_id[name][r:] + by_id[name][:r]
            auth, live = data.vectors[idx[0]], data.vectors[idx[1]]
            others = [i for i in range(len(data.identities)) if data.identities[i] != name]
            picks = rng.choice(others, min(max_impostors, len(others)), replace=False)
            for kind, probes in (("genuine", idx[2 : 2 + max_probes]), ("impostor", picks)):
                for j in probes:
                    who = data.identities[int(j)]
                    v = data.vectors[int(j)]
                    za = pool.score(auth, v, name, who)
                    zl = pool.score(live, v, name, who)
                    da = float(np.linalg.norm(auth - v))
                    dl = float(np.linalg.norm(live - v))
                    rows[kind].append((za, zl, da, dl, subject[name]))
    out: dict[str, Any] = {
        "simulated": "live_verified = another photo of the person",
        "people": len(people),
        "rotations": rotations,
    }
    if not people:
        return out
    g = np.asarray(rows["genuine"])
    im = np.asarray(rows["impostor"])
    out["genuine_pairs"], out["impostor_pairs"] = len(g), len(im)

    def rule(a: FloatArray, b: FloatArray, how: str) -> FloatArray:
        if how == "max":
            return np.maximum(a, b)
        mean = TwoReferenceRule.MEAN
        return np.array(
            [combine_scores(float(x), float(y), mean) for x, y in zip(a, b, strict=True)]
        )

    # similarities: z (higher is more alike) and −L2
    scores: list[tuple[str, FloatArray, FloatArray, bool]] = [
        ("authority_only", g[:, 0], im[:, 0], False),
        ("authority_only_raw_l2", -g[:, 2], -im[:, 2], True),
    ]
    for how in ("max", "mean"):
        scores.append(
            (
                f"two_reference_{how}",
                rule(g[:, 0], g[:, 1], how),
                rule(im[:, 0], im[:, 1], how),
                False,
            )
        )
        scores.append(
            (
                f"two_reference_{how}_raw_l2",
                rule(-g[:, 2], -g[:, 3], how),
                rule(-im[:, 2], -im[:, 3], how),
                True,
            )
        )
    for label, fg, fi, distance in scores:
        pts = operating_points(
            fg,
            fi,
            TWO_REFERENCE_TARGETS,
            genuine_subjects=g[:, 4].astype(np.int64),
            impostor_subjects=im[:, 4].astype(np.int64),
            n_boot=n_boot,
            seed=seed,
        )
        out[label] = {f"{p.target_fmr:g}": _point_dict(p, distance) for p in pts}
        _, t = eer(fg, fi)
        out[f"{label}_eer_threshold"] = -t if distance else t
    return out


def calibrate_bursts(
    bursts: Sequence[Any],
    pool: LabelledCohort | None,
    fused: FusionPolicy,
    scored_pairs: Callable[..., tuple[Any, Any]],
) -> dict[str, Any]:
    """Operating points of the *fused* burst probe against single-frame references, beside
    the single best frame, on the dev clips (``proctor.bench.fusion``): raw L2 and, with the
    shipped cohort, s-norm z. Genuine: same session and other videos of the same person;
    impostors: every other person's clip. No bootstrap (a few dozen people). ``fused``: the
    operating policy's fusion; ``scored_pairs``: ``proctor.bench.fusion.scored_pairs``."""
    from proctor.matching.fusion import FusionPolicy

    body: dict[str, Any] = {"bursts": len(bursts), "fusion_k": fused.k}
    body["fusion_weighting"] = fused.weighting.value
    for label, policy, cohort in (
        ("raw_l2_single", FusionPolicy(k=1), None),
        ("raw_l2_fused", fused, None),
        ("snorm_single", FusionPolicy(k=1), pool),
        ("snorm_fused", fused, pool),
    ):
        if label.startswith("snorm") and cohort is None:
            continue
        gen, imp = scored_pairs(list(bursts), policy, cohort)
        pts = operating_points(gen, imp, ANCHOR_TARGETS, n_boot=0)
        body[label] = {f"{p.target_fmr:g}": _point_dict(p, label.startswith("raw")) for p in pts}
    return body
