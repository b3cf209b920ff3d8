"""Bomb checks made from the header, before any pixel is decoded (SECURITY.md I1)."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from proctor.errors import CorruptImage, ImageTooLarge
from proctor.imaging.decode import DecodeLimits, decode_image
from proctor.imaging.header import read_header


def _progressive(scans_extra: int, comment_eoi: bool = False) -> bytes:
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    data = buf.tobytes()
    sos = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    # an EOI hidden in a comment between scans must not end the count
    com = b"\xff\xfe\x00\x04\xff\xd9" if comment_eoi else b""
    scan = data[sos[1] : sos[2]]
    return data[: sos[1]] + com + scan * scans_extra + data[sos[1] :]


def test_scans_are_counted_like_the_decoder_walks_them() -> None:
    plain = _progressive(0)
    assert 2 < read_header(plain).scans < 20
    assert read_header(_progressive(100)).scans == read_header(plain).scans + 100
    assert read_header(_progressive(100, comment_eoi=True)).scans == read_header(plain).scans + 100


def test_too_many_scans_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLarge) as exc:
        decode_image(_progressive(100))
    assert exc.value.details["scans"] > 64
    decode_image(_progressive(10))  # a few extra scans are tolerated


@pytest.mark.parametrize(
    ("shape", "dtype", "ext"),
    [((100, 100, 4), np.uint8, ".png"), ((100, 100, 3), np.uint16, ".png")],
)
def test_decoded_budget_counts_alpha_and_depth(
    shape: tuple[int, ...], dtype: type, ext: str
) -> None:
    ok, buf = cv2.imencode(ext, np.zeros(shape, dtype))
    assert ok
    need = shape[0] * shape[1] * shape[2] * np.dtype(dtype).itemsize
    with pytest.raises(ImageTooLarge):
        decode_image(buf.tobytes(), DecodeLimits(max_decoded_bytes=need - 1))
    assert decode_image(buf.tobytes(), DecodeLimits(max_decoded_bytes=need)).rgb.shape == (
        100,
        100,
        3,
    )


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def test_png_idat_larger_than_its_image_is_refused() -> None:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
    rows = bytes(16 * (1 + 16 * 3))
    good = b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")
    assert decode_image(good).rgb.shape == (16, 16, 3)
    bomb = zlib.compress(bytes(64 << 20), 9)  # 64 MiB of zeros for a 16x16 image
    bad = b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", bomb) + _chunk(b"IEND", b"")
    with pytest.raises(CorruptImage):
        decode_image(bad)
