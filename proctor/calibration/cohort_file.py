"""Cohort files: ``.npz`` with the model id and an (N, dim) array of other people's templates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from proctor.errors import ContractMismatch, ModelUnavailable
from proctor.matching.cohort import Cohort


def save_cohort(path: Path, model_id: str, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, model_id=np.array(model_id), vectors=np.asarray(vectors, dtype=np.float64))
    tmp.replace(path)


def load_cohort(path: Path, model_id: str, top_k: int) -> Cohort:
    if not path.exists():
        raise ModelUnavailable(f"cohort file {path} not found; run `proctor cohort build`")
    with np.load(path) as z:
        stored = str(z["model_id"])
        vectors = np.asarray(z["vectors"], dtype=np.float64)
    if stored != model_id:
        raise ContractMismatch(
            "cohort templates come from another model",
            details={"cohort": stored, "model": model_id},
        )
    return Cohort(model_id, vectors, top_k)


def sample_one_per_identity(
    vectors: np.ndarray, identities: list[str], size: int, seed: int = 0
) -> np.ndarray:
    """At most one template per identity, up to ``size`` identities (seeded)."""
    rng = np.random.default_rng(seed)
    first: dict[str, int] = {}
    for i in rng.permutation(len(identities)):
        first.setdefault(identities[int(i)], int(i))
    chosen = sorted(first.values())[: max(size, 0)] if size else sorted(first.values())
    return np.asarray(vectors[chosen], dtype=np.float64)
