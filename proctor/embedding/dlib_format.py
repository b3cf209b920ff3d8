"""Reader for dlib's binary serialization of DNNs (``dlib::serialize(net)``).

Only what ``dlib_face_recognition_resnet_model_v1.dat`` needs, written from the
``serialize()`` functions in dlib's sources (``dlib/serialize.h``,
``dlib/dnn/core.h``, ``layers.h``, ``input.h``, ``loss.h``, ``tensor.h``):

- integers: one byte whose low nibble is the byte count and whose 0x80 bit is
  the sign, then that many little-endian magnitude bytes;
- float/double: mantissa (int64) and exponent (int16), each as an integer,
  value ``ldexp(mantissa, exponent)``;
- strings: length (integer) then bytes; bools: the ASCII byte ``'0'``/``'1'``;
- tensors: version 2, num_samples, k, nr, nc, then raw little-endian float32;
- alias tensors (views into a layer's ``params``): version 1 and the shape; the
  offset is not written (each layer places its views back to back: filters
  then biases, gamma then beta, weights then biases).

A network is written subnet-first: ``add_loss_layer`` (version 1, loss
details, subnet), ``add_layer`` (version 2 above another layer, 2 or 3 above
the input layer: subnet, details, three bools, three cached tensors, and in
version 3 the sample expansion factor) and
``add_tag_layer``/``add_skip_layer`` (version 1, subnet; no state). Tags and
skips carry no ID in the file (they are template parameters), so the parser
returns them as anonymous ``Wrapper`` entries and ``onnx_build`` matches the
sequence against the network's type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

_SPECIAL_EXP = {32767: math.inf, 32766: -math.inf, 32765: math.nan}


class DlibFormatError(ValueError):
    """The bytes do not follow dlib's DNN serialization as this reader knows it."""


@dataclass(frozen=True, slots=True)
class AliasTensor:
    shape: tuple[int, int, int, int]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def view(self, params: F32) -> F32:
        flat = params.reshape(-1)
        if self.offset + self.size > flat.size:
            raise DlibFormatError(f"alias {self.shape}@{self.offset} exceeds {flat.size} params")
        return flat[self.offset : self.offset + self.size].reshape(self.shape)


@dataclass(frozen=True, slots=True)
class InputRGB:
    avg_rgb: tuple[float, float, float]
    rows: int
    cols: int


@dataclass(frozen=True, slots=True)
class Layer:
    """One computational layer: ``kind`` is dlib's class name without the trailing ``_``."""

    kind: str
    ints: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, F32] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Wrapper:
    """An ``add_tag_layer`` or ``add_skip_layer`` (indistinguishable in the file)."""


@dataclass(frozen=True, slots=True)
class LossMetric:
    margin: float
    distance_threshold: float


@dataclass(frozen=True, slots=True)
class DlibNet:
    loss: LossMetric
    input: InputRGB
    layers: tuple[Layer | Wrapper, ...]
    """Bottom-up: the layer on the input first, the layer under the loss last."""


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of data at byte {self.pos} (+{n})")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self) -> int:
        head = self._take(1)[0]
        n = head & 0x0F
        if n > 8 or head & 0x70:
            raise DlibFormatError(f"bad integer header 0x{head:02x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(n), "little") if n else 0
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        if exponent in _SPECIAL_EXP:
            return _SPECIAL_EXP[exponent]
        return math.ldexp(mantissa, exponent)

    def boolean(self) -> bool:
        c = self._take(1)
        if c not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {c!r} at byte {self.pos - 1}")
        return c == b"1"

    def string(self) -> str:
        n = self.integer()
        if n < 0 or n > 1024:
            raise DlibFormatError(f"implausible string length {n} at byte {self.pos}")
        return self._take(n).decode("ascii")

    def peek_string(self) -> str | None:
        """The next string, if the next bytes look like one; the position is kept."""
        start = self.pos
        try:
            s = self.string()
        except (DlibFormatError, UnicodeDecodeError):
            return None
        finally:
            self.pos = start
        return s if s and s.replace("_", "a").isalnum() else None

    def tensor(self) -> F32:
        version = self.integer()
        if version != 2:
            raise DlibFormatError(f"tensor version {version} (expected 2) at byte {self.pos}")
        shape = tuple(self.integer() for _ in range(4))
        count = math.prod(shape)
        raw = self._take(4 * count)
        arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        return arr.reshape(shape)

    def alias(self, offset: int = 0) -> AliasTensor:
        version = self.integer()
        if version != 1:
            raise DlibFormatError(f"alias_tensor version {version} (expected 1)")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return AliasTensor((n, k, nr, nc), offset)

    def alias_pair(self) -> tuple[AliasTensor, AliasTensor]:
        first = self.alias()
        return first, self.alias(first.size)


def _con(r: Reader, tag: str) -> Layer:
    params = r.tensor()
    names = ("num_filters", "nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    ints = {n: r.integer() for n in names}
    filters, biases = r.alias_pair()
    for _ in range(4):  # learning-rate and weight-decay multipliers (training only)
        r.real()
    use_bias = r.boolean() if tag == "con_5" else True
    arrays: dict[str, F32] = {"filters": filters.view(params)}
    if use_bias and biases.size:
        arrays["biases"] = biases.view(params).reshape(-1)
    return Layer("con", ints, arrays)


def _affine(r: Reader) -> Layer:
    params = r.tensor()
    gamma, beta = r.alias_pair()
    mode = r.integer()
    return Layer(
        "affine",
        {"mode": mode},
        {"gamma": gamma.view(params).reshape(-1), "beta": beta.view(params).reshape(-1)},
    )


def _pool(r: Reader, kind: str) -> Layer:
    names = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return Layer(kind, {n: r.integer() for n in names})


def _fc(r: Reader) -> Layer:
    num_outputs, num_inputs = r.integer(), r.integer()
    params = r.tensor()
    weights, biases = r.alias_pair()
    bias_mode = r.integer()  # 0: FC_HAS_BIAS, 1: FC_NO_BIAS
    for _ in range(4):
        r.real()
    arrays: dict[str, F32] = {"weights": weights.view(params).reshape(num_inputs, num_outputs)}
    if bias_mode == 0:
        arrays["biases"] = biases.view(params).reshape(-1)
    return Layer("fc", {"num_outputs": num_outputs, "num_inputs": num_inputs}, arrays)


def read_layer(r: Reader) -> Layer:
    tag = r.string()
    if tag in ("con_4", "con_5"):
        return _con(r, tag)
    if tag == "affine_":
        return _affine(r)
    if tag == "relu_":
        return Layer("relu")
    if tag == "add_prev_":
        return Layer("add_prev")
    if tag == "avg_pool_2":
        return _pool(r, "avg_pool")
    if tag == "max_pool_2":
        return _pool(r, "max_pool")
    if tag == "fc_2":
        return _fc(r)
    raise DlibFormatError(f"unsupported dlib layer {tag!r}")


def _input(r: Reader) -> InputRGB:
    tag = r.string()
    if tag != "input_rgb_image_sized":
        raise DlibFormatError(f"unsupported input layer {tag!r}")
    avg = (r.real(), r.real(), r.real())
    return InputRGB(avg, r.integer(), r.integer())


def _add_layer_state(r: Reader) -> None:
    for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, outputs disabled
        r.boolean()
    for _ in range(3):  # x_grad, cached_output, params_grad/grad_final (training scratch)
        r.tensor()


def _subnet(r: Reader, out: list[Layer | Wrapper]) -> InputRGB:
    """Parse one (sub)network; append its layers bottom-up to ``out``; return the input."""
    # Iterative descent: the chain is ~140 deep, so collect the version prefix first.
    pending: list[int] = []
    while True:
        version = r.integer()
        if version == 1:
            pending.append(1)
            continue
        if version not in (2, 3):
            raise DlibFormatError(f"unexpected layer version {version} at byte {r.pos}")
        nxt = r.peek_string()
        if nxt is not None and nxt.startswith("input"):
            inp = _input(r)
            out.append(read_layer(r))
            _add_layer_state(r)
            if version == 3:  # dlib 19.x also wrote the sample expansion factor
                r.integer()
            break
        pending.append(version)
    for version in reversed(pending):
        if version == 1:
            out.append(Wrapper())
        else:
            out.append(read_layer(r))
            _add_layer_state(r)
    return inp


def parse_net(data: bytes) -> DlibNet:
    """Parse a ``loss_metric`` network serialized by dlib; every byte must be consumed."""
    r = Reader(data)
    if r.integer() != 1:
        raise DlibFormatError("not an add_loss_layer (version 1) at the start")
    tag = r.string()
    if tag != "loss_metric_2":
        raise DlibFormatError(f"unsupported loss layer {tag!r}")
    loss = LossMetric(r.real(), r.real())
    layers: list[Layer | Wrapper] = []
    inp = _subnet(r, layers)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} trailing bytes after the network")
    return DlibNet(loss, inp, tuple(layers))
