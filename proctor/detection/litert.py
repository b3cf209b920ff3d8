"""MediaPipe's face models on LiteRT: locate them in the wheel, verify, and run them.

The ``.tflite`` files come from the ``mediapipe`` wheel (pinned in ``pyproject.toml``
and installed by the Makefile with ``--no-deps``: only its model files are used).
Each file's sha256 is in ``models/registry.toml`` under ``[frontend.files]`` and is
checked before the interpreter loads it. Nothing is downloaded at run time.

The runtime is ``ai-edge-litert`` (Google's TensorFlow Lite interpreter) with its
XNNPACK CPU delegate and one thread: parallelism comes from worker processes, as
with onnxruntime (see ``models/cards/blazeface.md`` for why not ONNX).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from proctor.embedding.registry import _sha256_file, load_registry
from proctor.errors import ModelIntegrityError, ModelUnavailable

MODELS_PACKAGE = "mediapipe"


@dataclass(frozen=True, slots=True)
class FrontendFile:
    role: str
    path: Path
    sha256: str


def mediapipe_dir() -> Path:
    """The installed ``mediapipe`` package folder, found without importing it."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the mediapipe package (face detection and mesh models) is not installed; "
            "run `make run` or `make test`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def frontend_file(role: str, models_dir: Path | None = None) -> FrontendFile:
    """The registry entry ``[frontend.files.<role>]`` with its path in the installed wheel."""
    reg = load_registry(models_dir)
    front = reg.get("frontend")
    files = front.get("files") if isinstance(front, dict) else None
    entry = files.get(role) if isinstance(files, dict) else None
    if not isinstance(entry, dict):
        raise ModelUnavailable(f"the registry has no [frontend.files.{role}] entry")
    return FrontendFile(role, mediapipe_dir() / str(entry["path"]), str(entry["sha256"]))


def verified_path(role: str, models_dir: Path | None = None) -> Path:
    f = frontend_file(role, models_dir)
    actual = _sha256_file(f.path)
    if actual != f.sha256:
        raise ModelIntegrityError(
            f"model file {f.path.name} does not match the registry digest",
            details={"file": f.path.name, "expected": f.sha256, "actual": actual},
        )
    return f.path


@lru_cache(maxsize=1)
def _interpreter_class() -> Any:
    # LiteRT prints one INFO line per interpreter ("Created TensorFlow Lite XNNPACK
    # delegate"); TF_CPP_MIN_LOG_LEVEL silences it before the library loads.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ModelUnavailable(
            "ai-edge-litert is not installed; run `make run` or `make test`"
        ) from exc
    return Interpreter


class TfliteModel:
    """One ``.tflite`` graph with one float input, on one thread (XNNPACK)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = path
        self._it = _interpreter_class()(model_path=str(path), num_threads=threads)
        self._it.allocate_tensors()
        inp = self._it.get_input_details()[0]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self._input = int(inp["index"])
        self._outputs = {d["name"]: int(d["index"]) for d in self._it.get_output_details()}

    def run(self, tensor: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """All outputs by name, copied out of the interpreter's buffers."""
        self._it.set_tensor(self._input, np.ascontiguousarray(tensor, dtype=np.float32))
        self._it.invoke()
        return {name: np.array(self._it.get_tensor(i)) for name, i in self._outputs.items()}


def load_model(role: str, models_dir: Path | None = None, threads: int = 1) -> TfliteModel:
    return TfliteModel(verified_path(role, models_dir), threads)
