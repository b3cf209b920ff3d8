"""Read ``models/registry.toml``, locate weight files, verify their sha256.

Weights come from the ``face-recognition-models`` package, located with
``importlib.util.find_spec`` without importing it (its ``__init__`` imports
``pkg_resources``, which current setuptools no longer ships).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from proctor.errors import ModelIntegrityError, ModelUnavailable

WEIGHTS_PACKAGE = "face_recognition_models"


@dataclass(frozen=True, slots=True)
class ModelFile:
    role: str
    path: Path
    sha256: str


@dataclass(frozen=True, slots=True)
class OnnxArtifact:
    """An ONNX translation built locally (``proctor models build``) from a weight file.

    ``path`` is in the models folder (git-ignored); ``source_role`` names the
    weight file it is built from; ``sha256`` is what this repository's builder
    produces (checked by the reproducibility test). At load, the file is
    verified against its build sidecar, whose source digest must match the
    registry's digest of the source weight file.
    """

    path: Path
    source_role: str
    sha256: str
    # An 8-bit graph: the activation ranges it is quantised with (models folder);
    # None for the float translation.
    quant_table: Path | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    model_id: str
    version: str
    runtime: str
    embedding_dim: int
    threshold_l2: float
    files: tuple[ModelFile, ...]
    onnx: OnnxArtifact | None = None
    runtimes: tuple[str, ...] = ()

    def file(self, role: str) -> Path:
        for f in self.files:
            if f.role == role:
                return f.path
        raise ModelUnavailable(f"model {self.model_id} has no file with role {role!r}")


def default_models_dir() -> Path:
    env = os.environ.get("PROCTOR_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


def weights_dir() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the face-recognition-models package is not installed; run `make run` or `make test`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def load_registry(models_dir: Path | None = None) -> dict[str, object]:
    path = (models_dir or default_models_dir()) / "registry.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ModelUnavailable(f"model registry not found at {path}") from exc


def model_ids(models_dir: Path | None = None) -> tuple[str, ...]:
    """Every model in the registry, the default first."""
    reg = load_registry(models_dir)
    models = reg.get("models")
    ids = [str(k) for k in models] if isinstance(models, dict) else []
    default = str(reg.get("default_model", ""))
    return tuple(sorted(ids, key=lambda m: (m != default, m)))


def model_spec(model_id: str | None = None, models_dir: Path | None = None) -> ModelSpec:
    reg = load_registry(models_dir)
    models = reg.get("models")
    if not isinstance(models, dict):
        raise ModelUnavailable("registry has no [models] table")
    mid = model_id or str(reg.get("default_model", ""))
    entry = models.get(mid)
    if not isinstance(entry, dict):
        raise ModelUnavailable(f"model {mid!r} is not in the registry")
    base = weights_dir()
    files = tuple(
        ModelFile(role, base / str(f["path"]), str(f["sha256"]))
        for role, f in dict(entry.get("files", {})).items()
    )
    onnx = None
    raw_onnx = entry.get("onnx")
    if isinstance(raw_onnx, dict):
        folder = models_dir or default_models_dir()
        table = raw_onnx.get("quant_table")
        onnx = OnnxArtifact(
            folder / str(raw_onnx["path"]),
            str(raw_onnx["source"]),
            str(raw_onnx["sha256"]),
            folder / str(table) if table else None,
        )
    runtimes = entry.get("runtimes", [entry["runtime"]])
    return ModelSpec(
        model_id=mid,
        version=str(entry["version"]),
        runtime=str(entry["runtime"]),
        embedding_dim=int(entry["embedding_dim"]),
        threshold_l2=float(entry["threshold_l2"]),
        files=files,
        onnx=onnx,
        runtimes=tuple(str(r) for r in runtimes) if isinstance(runtimes, list) else (),
    )


def verify_files(spec: ModelSpec) -> None:
    """Raise ModelIntegrityError unless every file's sha256 matches the registry."""
    for f in spec.files:
        actual = _sha256_file(f.path)
        if actual != f.sha256:
            raise ModelIntegrityError(
                f"weight file {f.path.name} does not match the registry digest",
                details={"file": f.path.name, "expected": f.sha256, "actual": actual},
            )


@lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ModelUnavailable(f"weight file {path} is missing") from exc
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns)
