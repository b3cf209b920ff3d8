"""dlib's ResNet in eight bits: static QDQ quantisation on onnxruntime, from a committed table.

The float graph (``onnx_build``) is quantised with onnxruntime's own tool
(``quantize_static``): activations uint8 per tensor, weights int8 per output
channel on 7 bits (``reduce_range``: the AVX2 u8×s8 kernel adds pairs of
products in 16 bits, which full 8-bit weights overflow; on this CPU that cost
EER points), the final 256→128 projection left in float so that embeddings
leave the net unrounded. onnxruntime then fuses each Q/DQ pair around a Conv
into one integer convolution.

Activation ranges are data, like thresholds: ``calibrate_table`` measures them
once on real chips (``proctor models quantize``) and writes
``models/<model>.quant.json``; the build reads that table and hands every
range to the quantiser as an override, so ``make models`` needs no face data
and gives the same bytes on every machine with the same onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from proctor.embedding.onnx_build import (
    BUILDER_VERSION,
    INPUT_NAME,
    BuildResult,
    build_onnx_file,
    write_artifact,
)

TABLE_FORMAT = 1
# The last projection (256→128) stays float: negligible work, and the embedding
# leaves the graph without an 8-bit rounding.
FLOAT_NODES = ("fc_155",)
SCHEME = {
    "format": "QDQ",
    "activations": "uint8, per tensor (MinMax on the calibration chips)",
    "weights": "int8, per output channel, 7-bit (reduce_range)",
    "float_nodes": list(FLOAT_NODES),
}


@dataclass(frozen=True, slots=True)
class QuantTable:
    """Scale and zero point of every quantised activation tensor, by tensor name."""

    tensors: Mapping[str, tuple[float, int]]
    calibration: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "format": TABLE_FORMAT,
            "scheme": SCHEME,
            "calibration": dict(self.calibration),
            "tensors": {k: [float(s), int(z)] for k, (s, z) in sorted(self.tensors.items())},
        }
        return json.dumps(body, indent=1, sort_keys=True) + "\n"


def load_table(path: Path) -> QuantTable:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != TABLE_FORMAT or data.get("scheme") != SCHEME:
        raise ValueError(f"{path.name}: not a quantisation table of this builder's scheme")
    tensors = {str(k): (float(v[0]), int(v[1])) for k, v in dict(data["tensors"]).items()}
    if not tensors:
        raise ValueError(f"{path.name}: no tensors")
    return QuantTable(tensors, dict(data.get("calibration", {})))


def table_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Chips:
    """onnxruntime's calibration reader over N×150×150×3 uint8 chips, one at a time."""

    def __init__(self, chips: np.ndarray) -> None:
        self._it: Iterator[np.ndarray] = iter(np.ascontiguousarray(chips, dtype=np.uint8))

    def get_next(self) -> dict[str, np.ndarray] | None:
        chip = next(self._it, None)
        return None if chip is None else {INPUT_NAME: chip[None]}


def _quantize(fp32: Path, out: Path, chips: np.ndarray, overrides: dict[str, Any] | None) -> None:
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(_Chips, CalibrationDataReader):  # type: ignore[misc]
        pass

    extra = {"TensorQuantOverrides": overrides} if overrides else {}
    # The tool advises its own pre-processing on the root logger: this graph is
    # already shape-inferred and fused by the builder; keep make's output clean.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_static(
            str(fp32),
            str(out),
            Reader(chips),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(FLOAT_NODES),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options=extra,
        )
    finally:
        root.setLevel(level)


def _activation_params(path: Path) -> dict[str, tuple[float, int]]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return {
        n.input[0]: (float(init[n.input[1]]), int(init[n.input[2]]))
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and n.input[0] not in init
    }


def calibrate_table(fp32: Path, chips: np.ndarray, calibration: Mapping[str, Any]) -> QuantTable:
    """Measure every activation's range on ``chips`` (aligned 150 px, real faces)."""
    if len(chips) == 0:
        raise ValueError("no calibration chips")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.onnx"
        _quantize(fp32, out, chips, None)
        tensors = _activation_params(out)
    return QuantTable(tensors, {**dict(calibration), "chips": len(chips)})


def quantize_file(fp32: Path, table: QuantTable, out: Path) -> None:
    """Write the 8-bit graph of ``fp32`` to ``out`` with the table's ranges (no face data).

    The quantiser still runs its calibrator once (on a grey chip); every range it
    would use is overridden by the table, and the result is checked for that.
    """
    overrides = {
        name: [{"scale": np.array(s, dtype=np.float32), "zero_point": np.array(z, dtype=np.uint8)}]
        for name, (s, z) in table.tensors.items()
    }
    grey = np.full((1, 150, 150, 3), 128, dtype=np.uint8)
    _quantize(fp32, out, grey, overrides)
    got = _activation_params(out)
    if set(got) != set(table.tensors):
        missing = sorted(set(got) ^ set(table.tensors))[:5]
        raise ValueError(f"quantisation table does not match the graph's tensors: {missing}")
    # The quantiser ties some ranges together (a pool's output to its input): a table
    # that disagrees with itself there would be silently half-applied, so refuse it.
    off = [k for k, (sc, zp) in table.tensors.items() if got[k] != (float(np.float32(sc)), zp)]
    if off:
        raise ValueError(f"quantisation table ranges not applied as written: {sorted(off)[:5]}")


def build_quantized_file(source: Path, table_path: Path, out: Path) -> BuildResult:
    """dlib weights ``source`` → float graph → 8-bit graph ``out`` (atomic) + sidecar."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    table = load_table(table_path)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = build_onnx_file(source, Path(tmp) / "fp32.onnx")
        q = Path(tmp) / "q8.onnx"
        quantize_file(fp32.path, table, q)
        blob = q.read_bytes()
    meta: dict[str, object] = {
        "source_file": source.name,
        "float_graph_sha256": fp32.sha256,
        "quant_table": table_path.name,
        "quant_table_sha256": table_sha256(table_path),
        "builder": "proctor.embedding.quantize",
        "builder_version": BUILDER_VERSION,
        "onnxruntime_version": ort.__version__,
        "scheme": SCHEME,
    }
    return write_artifact(out, blob, fp32.source_sha256, meta)
