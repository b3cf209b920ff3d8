"""dlib's face ResNet on onnxruntime: the same network, ~15× faster on one core.

dlib-bin runs the net on its own AVX-only matrix code; onnxruntime's kernels
use this CPU's FMA/AVX-512. The graph comes from ``proctor models build``
(``onnx_build``); landmarks and the aligned chip still come from dlib
(5-point shape predictor on the original image, ``get_face_chip(…, 150, 0.25)``),
so only the descriptor's runtime changes. Embeddings equal dlib's within 1e-4
per dimension, which is why templates keep the model_id ``dlib_resnet_v1``.

One intra-op thread per session: parallelism comes from worker processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import dlib
import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from proctor.embedding.dlib_resnet import CHIP_SIZE_PX, FivePointAligner
from proctor.embedding.registry import ModelSpec, OnnxArtifact, verify_files
from proctor.errors import ModelIntegrityError, ModelUnavailable
from proctor.types import Embedding, RGBImage

INPUT_NAME = "chips_nhwc_u8"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_onnx(spec: ModelSpec, *, build: bool = True) -> Path:
    """Path of the verified ONNX file; builds it from the registry's weights if missing.

    Raises ModelUnavailable when the file is missing and ``build`` is False (or
    the spec has no ONNX artefact), ModelIntegrityError when the file does not
    match its sidecar or was built from another source file.
    """
    art = spec.onnx
    if art is None:
        raise ModelUnavailable(f"model {spec.model_id} has no ONNX runtime in the registry")
    if not _usable(art, spec):
        if not build and art.path.exists() and _sidecar(art) is not None:
            _verify(art, spec)  # names what no longer matches
        if not build:
            raise ModelUnavailable(
                f"{art.path} is missing: run `proctor models build` (make run / make test do)"
            )
        build_onnx(spec)
    _verify(art, spec)
    return art.path


def build_onnx(spec: ModelSpec) -> Path:
    """(Re)build the ONNX file of ``spec`` from its verified dlib weights."""
    from proctor.embedding.onnx_build import build_onnx_file

    art = spec.onnx
    if art is None:
        raise ModelUnavailable(f"model {spec.model_id} has no ONNX runtime in the registry")
    source = spec.file(art.source_role)
    verify_files(spec)
    if art.quant_table is not None:
        from proctor.embedding.quantize import build_quantized_file

        _table_sha(art)  # a missing table is reported, never built around

        build_quantized_file(source, art.quant_table, art.path)
    else:
        build_onnx_file(source, art.path)
    return art.path


def _sidecar(art: OnnxArtifact) -> dict[str, object] | None:
    side = art.path.with_suffix(art.path.suffix + ".json")
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _source_sha(spec: ModelSpec, art: OnnxArtifact) -> str:
    return next(f.sha256 for f in spec.files if f.role == art.source_role)


def _table_sha(art: OnnxArtifact) -> str | None:
    if art.quant_table is None:
        return None
    try:
        return hashlib.sha256(art.quant_table.read_bytes()).hexdigest()
    except FileNotFoundError as exc:
        raise ModelUnavailable(f"quantisation table {art.quant_table} is missing") from exc


def _usable(art: OnnxArtifact, spec: ModelSpec) -> bool:
    meta = _sidecar(art)
    return (
        art.path.exists()
        and meta is not None
        and meta.get("source_sha256") == _source_sha(spec, art)
        and meta.get("quant_table_sha256") == _table_sha(art)
    )


def _verify(art: OnnxArtifact, spec: ModelSpec) -> None:
    meta = _sidecar(art) or {}
    if meta.get("source_sha256") != _source_sha(spec, art):
        raise ModelIntegrityError(
            f"{art.path.name} was not built from the registry's {art.source_role} weights",
            details={"file": art.path.name},
        )
    if meta.get("quant_table_sha256") != _table_sha(art):
        raise ModelIntegrityError(
            f"{art.path.name} was not built from the registry's quantisation table",
            details={"file": art.path.name},
        )
    actual = sha256_file(art.path)
    if actual != meta.get("sha256"):
        raise ModelIntegrityError(
            f"{art.path.name} does not match its build sidecar; "
            "rebuild with `proctor models build`",
            details={"file": art.path.name, "expected": meta.get("sha256"), "actual": actual},
        )


def session_options(threads: int = 1) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


class OnnxResNetEncoder(FivePointAligner):
    """Same interface as DlibResNetEncoder, plus ``encode_chips`` for batches."""

    runtime = "onnx"

    def __init__(
        self, spec: ModelSpec, verify: bool = True, *, threads: int = 1, build: bool = True
    ) -> None:
        if verify:
            verify_files(spec)
        super().__init__(spec)
        path = ensure_onnx(spec, build=build)
        self.quantized = spec.onnx is not None and spec.onnx.quant_table is not None
        # the graph's digest as built (sidecar, verified above): caches of embeddings key on it
        self.artifact_sha256 = (
            str((_sidecar(spec.onnx) or {}).get("sha256", "")) if spec.onnx else ""
        )
        self._session = ort.InferenceSession(
            str(path), session_options(threads), providers=["CPUExecutionProvider"]
        )

    def encode_chips(self, chips: Sequence[RGBImage] | RGBImage) -> np.ndarray:
        """Embeddings (N×128, float64) of N aligned 150×150 RGB chips, one forward pass."""
        batch = np.ascontiguousarray(np.asarray(chips, dtype=np.uint8))
        if batch.size == 0:
            return np.zeros((0, 128), dtype=np.float64)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.shape[1:] != (CHIP_SIZE_PX, CHIP_SIZE_PX, 3):
            raise ValueError(f"chips must be N×150×150×3 uint8, got {batch.shape}")
        out = self._session.run(None, {INPUT_NAME: batch})[0]
        return np.asarray(out, dtype=np.float64)

    def encode_chip(self, chip: RGBImage, jitters: int = 1) -> Embedding:
        """As dlib's ``compute_face_descriptor(chip, jitters)``.

        With ``jitters`` > 1, dlib averages the descriptors of that many randomly
        jittered copies (``dlib.jitter_image``); the copies come from dlib's own
        generator, so the mean is equal in distribution, not bit for bit.
        """
        if jitters <= 1:
            vec: Embedding = self.encode_chips(chip)[0]
            return vec
        crops = dlib.jitter_image(np.ascontiguousarray(chip), num_jitters=jitters)
        mean: Embedding = self.encode_chips(np.stack(crops)).mean(axis=0)
        return mean
