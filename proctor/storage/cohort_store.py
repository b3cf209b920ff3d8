"""Storage adapters for the s-norm cohort (``proctor.services.cohort`` ports).

- ``StorageReferenceSource``: the enrolled references (one template per driver; session
  anchors and other models left out), opened from their sealed rows.
- ``SealedCohortFile``: an operator-imported cohort, embeddings only, sealed at rest with
  the template key (AES-256-GCM, AAD = ``cohort|<model id>``) in a 0600 file under the
  data directory. No image ever enters it: ``parse_cohort_npz`` accepts exactly two
  arrays, ``model_id`` and an (N, dim) float ``vectors``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from proctor.errors import ContractMismatch, ProctorError
from proctor.matching.cohort import FloatArray
from proctor.storage.keys import open_sealed, seal
from proctor.storage.uow import Storage

IMPORTED_COHORT_FILE = "cohort-imported.sealed"


class CohortFileInvalid(ProctorError):
    code = "cohort_file_invalid"


class StorageReferenceSource:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def references(self, model_id: str) -> Sequence[tuple[str, FloatArray]]:
        out: list[tuple[str, FloatArray]] = []
        with self._storage.uow() as uow:
            for key in uow.templates.reference_keys(model_id):
                t = uow.templates.get(key)
                if t is not None and t.model_id == model_id:
                    out.append((key, np.asarray(t.vector, np.float64)))
        return out


def parse_cohort_npz(data: bytes, model_id: str, dim: int) -> FloatArray:
    """An operator's cohort file: ``model_id`` + ``vectors`` (N × dim floats), nothing else."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            names = set(z.files)
            if names != {"model_id", "vectors"}:
                raise CohortFileInvalid(
                    "a cohort file holds exactly model_id and vectors (embeddings only)",
                    details={"arrays": sorted(names)},
                )
            stored = str(z["model_id"])
            vectors = np.asarray(z["vectors"], dtype=np.float64)
    except (ValueError, OSError) as bad:
        raise CohortFileInvalid("not a cohort file (.npz)") from bad
    if stored != model_id:
        raise ContractMismatch(
            "cohort templates come from another model",
            details={"cohort": stored, "model": model_id},
        )
    if vectors.ndim != 2 or vectors.shape[1] != dim or not np.all(np.isfinite(vectors)):
        raise CohortFileInvalid(
            f"cohort vectors must be finite, shaped (N, {dim})",
            details={"shape": list(vectors.shape)},
        )
    return vectors


class SealedCohortFile:
    def __init__(self, data_dir: Path, key: bytes) -> None:
        self._path = data_dir / IMPORTED_COHORT_FILE
        self._key = key

    @staticmethod
    def _aad(model_id: str) -> bytes:
        return f"cohort|{model_id}".encode()

    def load(self, model_id: str) -> FloatArray | None:
        if not self._path.exists():
            return None
        raw = open_sealed(self._key, self._path.read_bytes(), self._aad(model_id))
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return np.asarray(z["vectors"], dtype=np.float64)

    def save(self, model_id: str, vectors: FloatArray) -> None:
        buf = io.BytesIO()
        np.savez(buf, vectors=np.asarray(vectors, np.float64))
        sealed = seal(self._key, buf.getvalue(), self._aad(model_id))
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._path.with_name(self._path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(sealed)
        tmp.replace(self._path)
