"""dlib's serialization format on small synthetic byte strings (no weights needed)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proctor.embedding.dlib_format import DlibFormatError, Reader, read_layer


def enc_int(v: int) -> bytes:
    mag = abs(v)
    raw = mag.to_bytes((mag.bit_length() + 7) // 8, "little") if mag else b"\x00"
    return bytes([len(raw) | (0x80 if v < 0 else 0)]) + raw


def enc_float(v: float) -> bytes:
    m, e = math.frexp(v)
    mant = int(m * (1 << 24))
    return enc_int(mant) + enc_int(e - 24)


def enc_str(s: str) -> bytes:
    return enc_int(len(s)) + s.encode()


def enc_tensor(a: np.ndarray) -> bytes:
    shape = ([*list(a.shape), 1, 1, 1, 1])[:4]
    return enc_int(2) + b"".join(enc_int(d) for d in shape) + a.astype("<f4").tobytes()


def enc_alias(shape: tuple[int, int, int, int]) -> bytes:
    return enc_int(1) + b"".join(enc_int(d) for d in shape)


@given(st.integers(-(2**62), 2**62))
def test_integers_round_trip(v: int) -> None:
    assert Reader(enc_int(v)).integer() == v


def test_dlib_float_encoding() -> None:
    # bytes taken from the shipped model's loss layer: margin 0.04, threshold 0.6
    r = Reader(bytes.fromhex("030ad7a3811c039a99998118"))
    assert r.real() == pytest.approx(0.04, abs=1e-8)
    assert r.real() == pytest.approx(0.6, abs=1e-7)
    assert Reader(enc_float(-2.5)).real() == -2.5


def test_bools_strings_and_bad_bytes() -> None:
    r = Reader(b"10" + enc_str("relu_"))
    assert r.boolean() is True and r.boolean() is False
    assert r.string() == "relu_"
    with pytest.raises(DlibFormatError):
        Reader(b"x").boolean()
    with pytest.raises(DlibFormatError):
        Reader(b"\x04\x01").integer()  # claims 4 bytes, has 1


def test_con_layer_views_filters_then_biases() -> None:
    n, k, kh, kw = 2, 3, 3, 3
    filters = np.arange(n * k * kh * kw, dtype=np.float32).reshape(n, k, kh, kw) / 10
    biases = np.asarray([0.5, -0.5], dtype=np.float32)
    params = np.concatenate([filters.ravel(), biases])
    blob = (
        enc_str("con_4")
        + enc_tensor(params.reshape(-1, 1, 1, 1))
        + b"".join(enc_int(v) for v in (n, kh, kw, 2, 2, 0, 0))
        + enc_alias((n, k, kh, kw))
        + enc_alias((1, n, 1, 1))
        + b"".join(enc_float(x) for x in (1.0, 1.0, 1.0, 0.0))
    )
    r = Reader(blob)
    layer = read_layer(r)
    assert r.pos == len(blob)
    assert layer.kind == "con"
    assert layer.ints["stride_y"] == 2 and layer.ints["padding_x"] == 0
    np.testing.assert_array_equal(layer.arrays["filters"], filters)
    np.testing.assert_array_equal(layer.arrays["biases"], biases)


def test_affine_and_pool_layers() -> None:
    gamma = np.asarray([2.0, 3.0], dtype=np.float32)
    beta = np.asarray([0.25, -1.0], dtype=np.float32)
    blob = (
        enc_str("affine_")
        + enc_tensor(np.concatenate([gamma, beta]).reshape(-1, 1, 1, 1))
        + enc_alias((1, 2, 1, 1))
        + enc_alias((1, 2, 1, 1))
        + enc_int(0)
        + enc_str("max_pool_2")
        + b"".join(enc_int(v) for v in (3, 3, 2, 2, 0, 0))
    )
    r = Reader(blob)
    aff, pool = read_layer(r), read_layer(r)
    np.testing.assert_array_equal(aff.arrays["gamma"], gamma)
    np.testing.assert_array_equal(aff.arrays["beta"], beta)
    assert pool.kind == "max_pool" and pool.ints["nr"] == 3 and pool.ints["stride_x"] == 2


def test_unknown_layer_is_refused() -> None:
    with pytest.raises(DlibFormatError, match="unsupported"):
        read_layer(Reader(enc_str("mult_prev_")))


def test_tensor_is_little_endian_float32() -> None:
    blob = enc_int(2) + b"".join(enc_int(d) for d in (1, 2, 1, 1)) + struct.pack("<2f", 1.5, -2)
    np.testing.assert_array_equal(Reader(blob).tensor().ravel(), [1.5, -2.0])
