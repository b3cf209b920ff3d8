"""Translate dlib's face ResNet (``dlib_face_recognition_resnet_model_v1.dat``) into ONNX.

The ``.dat`` file carries weights and hyper-parameters but not the wiring of
tags and skips (those are template parameters of dlib's ``anet_type``, from
``dnn_face_recognition_ex.cpp``)::

    block<N,stride>  = affine<con<N,3,3,1,1, relu<affine<con<N,3,3,stride,stride, X>>>>>
    ares<N>          = relu<add_prev1<block<N,1, tag1<X>>>>
    ares_down<N>     = relu<add_prev2<avg_pool<2,2,2,2, skip1<tag2<block<N,2, tag1<X>>>>>>>
    anet = fc_no_bias<128, avg_pool_everything<
             ares_down<256> ∘ ares<256>×2 ∘ ares_down<256> ∘ ares<128>×2 ∘ ares_down<128>
             ∘ ares<64>×3 ∘ ares_down<64> ∘ ares<32>×3
             ∘ max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>

``expected_layout`` expands that type bottom-up; ``build_onnx`` checks the
parsed layer sequence against it (kinds and the positions of tags and skips)
before emitting nodes. Each ``affine`` (a frozen batch norm) is folded into the
convolution below it, in float64. dlib's ``add_prev`` adds tensors of
different shapes by zero-padding the smaller one at the end of each axis (the
downsampling blocks add 32→64 channels, and 3×3 to 4×4 maps); the graph does
the same with explicit ``Pad`` nodes. The input is the 150×150 RGB chip as
uint8 NHWC; the graph applies dlib's ``(pixel - avg) / 256`` itself.

The output is deterministic: same ``.dat`` and same ``onnx`` version give the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from proctor.embedding.dlib_format import (
    DlibFormatError,
    DlibNet,
    InputRGB,
    Layer,
    Wrapper,
    parse_net,
)

BUILDER_VERSION = "1"
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "chips_nhwc_u8"
OUTPUT_NAME = "embeddings"

# Bottom-up tokens: ("con", filters, stride), "affine", "relu", "max_pool", "avg_pool",
# "avg_pool_all", "fc", "tag1", "tag2", "skip1", "add_prev1", "add_prev2".
Token = tuple[str, int, int] | str


def _block(n: int, stride: int) -> list[Token]:
    return [("con", n, stride), "affine", "relu", ("con", n, 1), "affine"]


def _ares(n: int) -> list[Token]:
    return ["tag1", *_block(n, 1), "add_prev1", "relu"]


def _ares_down(n: int) -> list[Token]:
    return ["tag1", *_block(n, 2), "tag2", "skip1", "avg_pool", "add_prev2", "relu"]


def expected_layout() -> list[Token]:
    out: list[Token] = [("con", 32, 2), "affine", "relu", "max_pool"]
    out += _ares(32) * 3
    out += _ares_down(64) + _ares(64) * 3
    out += _ares_down(128) + _ares(128) * 2
    out += _ares_down(256) + _ares(256) * 2
    out += _ares_down(256)
    out += ["avg_pool_all", "fc"]
    return out


@dataclass(slots=True)
class _Value:
    name: str
    shape: tuple[int, int, int]  # C, H, W


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, arr: np.ndarray) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs: Any) -> str:
        out = self.name(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _check_layout(net: DlibNet) -> list[tuple[Token, Layer | None]]:
    layout = expected_layout()
    if len(layout) != len(net.layers):
        raise DlibFormatError(
            f"network has {len(net.layers)} layers, dlib_resnet_v1 has {len(layout)}"
        )
    pairs: list[tuple[Token, Layer | None]] = []
    for i, (tok, got) in enumerate(zip(layout, net.layers, strict=True)):
        kind = tok[0] if isinstance(tok, tuple) else tok
        wrapper = kind in ("tag1", "tag2", "skip1")
        want = {"add_prev1": "add_prev", "add_prev2": "add_prev", "avg_pool_all": "avg_pool"}
        if wrapper != isinstance(got, Wrapper) or (
            isinstance(got, Layer) and got.kind != want.get(kind, kind)
        ):
            raise DlibFormatError(f"layer {i}: expected {kind}, found {got}")
        if isinstance(tok, tuple) and isinstance(got, Layer):
            _, n, stride = tok
            if got.ints["num_filters"] != n or got.ints["stride_y"] != stride:
                raise DlibFormatError(f"layer {i}: expected con {n}/{stride}, found {got.ints}")
        pairs.append((tok, got if isinstance(got, Layer) else None))
    return pairs


def _pool_out(size: int, k: int, s: int, p: int) -> int:
    return 1 + (size + 2 * p - k) // s


def _input_nodes(g: _Graph, inp: InputRGB) -> _Value:
    x = g.node("Transpose", [INPUT_NAME], "nchw_u8", perm=[0, 3, 1, 2])
    x = g.node("Cast", [x], "nchw_f32", to=TensorProto.FLOAT)
    avg = np.asarray(inp.avg_rgb, dtype=np.float32).reshape(1, 3, 1, 1)
    x = g.node("Sub", [x, g.const("avg_rgb", avg)], "centered")
    # dlib divides by 256.0; multiplying by 2**-8 is the same float operation.
    x = g.node("Mul", [x, g.const("inv256", np.asarray(1 / 256, dtype=np.float32))], "input")
    return _Value(x, (3, inp.rows, inp.cols))


def _conv_affine(g: _Graph, x: _Value, con: Layer, aff: Layer) -> _Value:
    w = con.arrays["filters"].astype(np.float64)
    b = con.arrays.get("biases", np.zeros(w.shape[0], np.float32)).astype(np.float64)
    gamma = aff.arrays["gamma"].astype(np.float64)
    beta = aff.arrays["beta"].astype(np.float64)
    wf = (w * gamma[:, None, None, None]).astype(np.float32)
    bf = (b * gamma + beta).astype(np.float32)
    i = con.ints
    kh, kw, sy, sx, py, px = (
        i[k] for k in ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    )
    out = g.node(
        "Conv",
        [x.name, g.const("w", wf), g.const("b", bf)],
        "conv",
        kernel_shape=[kh, kw],
        strides=[sy, sx],
        pads=[py, px, py, px],
    )
    _, h, wd = x.shape
    return _Value(out, (wf.shape[0], _pool_out(h, kh, sy, py), _pool_out(wd, kw, sx, px)))


def _pool(g: _Graph, x: _Value, layer: Layer) -> _Value:
    i = layer.ints
    kh, kw, sy, sx, py, px = (
        i[k] for k in ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    )
    c, h, w = x.shape
    if kh == 0 and kw == 0:
        return _Value(g.node("GlobalAveragePool", [x.name], "gap"), (c, 1, 1))
    if py or px:
        raise DlibFormatError("padded pooling is not supported (dlib excludes padding)")
    op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
    out = g.node(op, [x.name], op.lower(), kernel_shape=[kh, kw], strides=[sy, sx])
    return _Value(out, (c, _pool_out(h, kh, sy, 0), _pool_out(w, kw, sx, 0)))


def _pad_to(g: _Graph, x: _Value, shape: tuple[int, int, int]) -> str:
    extra = [t - s for t, s in zip(shape, x.shape, strict=True)]
    if not any(extra):
        return x.name
    pads = np.asarray([0, 0, 0, 0, 0, *extra], dtype=np.int64)
    return g.node("Pad", [x.name, g.const("pads", pads)], "zero_pad", mode="constant")


def _add(g: _Graph, a: _Value, b: _Value) -> _Value:
    shape = (
        max(a.shape[0], b.shape[0]),
        max(a.shape[1], b.shape[1]),
        max(a.shape[2], b.shape[2]),
    )
    return _Value(g.node("Add", [_pad_to(g, a, shape), _pad_to(g, b, shape)], "add"), shape)


def to_onnx(net: DlibNet) -> onnx.ModelProto:
    pairs = _check_layout(net)
    g = _Graph()
    x = _input_nodes(g, net.input)
    tags: dict[str, _Value] = {}
    i = 0
    while i < len(pairs):
        tok, layer = pairs[i]
        kind = tok[0] if isinstance(tok, tuple) else tok
        if kind == "con":
            aff = pairs[i + 1][1]
            assert layer is not None and aff is not None
            x = _conv_affine(g, x, layer, aff)
            i += 2
            continue
        if kind == "relu":
            x = _Value(g.node("Relu", [x.name], "relu"), x.shape)
        elif kind in ("max_pool", "avg_pool", "avg_pool_all"):
            assert layer is not None
            x = _pool(g, x, layer)
        elif kind in ("tag1", "tag2"):
            tags[kind[-1]] = x
        elif kind == "skip1":
            x = tags["1"]
        elif kind in ("add_prev1", "add_prev2"):
            x = _add(g, x, tags[kind[-1]])
        elif kind == "fc":
            assert layer is not None
            flat = g.node("Flatten", [x.name], "flat", axis=1)
            w = layer.arrays["weights"].astype(np.float32)
            x = _Value(g.node("MatMul", [flat, g.const("fc_w", w)], "fc"), (w.shape[1], 1, 1))
        else:  # pragma: no cover - expected_layout only emits the kinds above
            raise DlibFormatError(f"no ONNX translation for {kind}")
        i += 1
    g.nodes[-1].output[0] = OUTPUT_NAME
    rows, cols = net.input.rows, net.input.cols
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["n", rows, cols, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n", x.shape[0]])],
        g.inits,
    )
    model = helper.make_model(
        graph,
        producer_name="proctor.embedding.onnx_build",
        producer_version=BUILDER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    model.doc_string = (
        "dlib_face_recognition_resnet_model_v1 (Davis King, CC0) translated by proctor; "
        "input uint8 RGB chips NHWC 150x150 from dlib.get_face_chip(img, shape, 150, 0.25)"
    )
    onnx.checker.check_model(model)
    return model


@dataclass(frozen=True, slots=True)
class BuildResult:
    path: Path
    sha256: str
    source_sha256: str
    sidecar: Path


def sidecar_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(onnx_path.suffix + ".json")


# What every artefact's sidecar says of the graph's ends.
IO_META: dict[str, object] = {
    "input": {"name": INPUT_NAME, "dtype": "uint8", "layout": "NHWC", "shape": ["n", 150, 150, 3]},
    "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["n", 128]},
}


def write_artifact(
    out: Path, blob: bytes, source_sha256: str, meta: dict[str, object]
) -> BuildResult:
    """Write ``blob`` to ``out`` and its JSON sidecar (digests + ``meta``), both atomically."""
    digest = hashlib.sha256(blob).hexdigest()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, blob)
    body = {"file": out.name, "sha256": digest, "source_sha256": source_sha256, **IO_META, **meta}
    side = sidecar_path(out)
    atomic_write(side, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
    return BuildResult(out, digest, source_sha256, side)


def build_onnx_file(source: Path, out: Path) -> BuildResult:
    """Parse ``source`` and write ``out`` (atomically) plus a JSON sidecar with digests."""
    data = source.read_bytes()
    model = to_onnx(parse_net(data))
    meta: dict[str, object] = {
        "source_file": source.name,
        "builder": "proctor.embedding.onnx_build",
        "builder_version": BUILDER_VERSION,
        "onnx_version": onnx.__version__,
        "opset": OPSET,
    }
    blob = model.SerializeToString(deterministic=True)
    return write_artifact(out, blob, hashlib.sha256(data).hexdigest(), meta)


def atomic_write(path: Path, blob: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
