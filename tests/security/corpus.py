"""The hostile-image corpus of SECURITY.md rows I1, I2, I4, I5 and I6, built deterministically.

Every sample names its row and the outcomes allowed for it: an image error code, or
``accepted`` for files that are valid images (polyglots, EXIF orientations, bombs
that stay inside the caps) whose pixels must be rebuilt.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from proctor.fixtures_setup import with_exif_orientation

ACCEPTED = "accepted"
BOMB_BYTES = 512 << 20
FACE = Path(__file__).resolve().parents[2] / "fixtures" / "images" / "downloaded" / "obama.jpg"


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    row: str
    data: bytes
    expect: frozenset[str]


def _cv(ext: str, img: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, img, params or [])
    assert ok, ext
    return bytes(buf.tobytes())


def _pil(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48), **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128).save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def _png(width: int, height: int, idat: bytes, extra: bytes = b"", depth: int = 8) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@functools.cache
def _deflate_zeros(n: int) -> bytes:
    z = zlib.compressobj(9)
    block = bytes(1 << 22)
    out = [z.compress(block) for _ in range(n >> 22)]
    return b"".join(out) + z.flush()


def _scan_bomb(scans: int) -> bytes:
    """A progressive JPEG whose first AC scan is repeated ``scans`` times (~42 B each)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (2800, 2800, 3), dtype=np.uint8)
    data = _cv(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 5])
    sos = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA][:3]
    return data[: sos[1]] + data[sos[1] : sos[2]] * scans + b"\xff\xd9"


def _jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(_cv(".jpg", np.zeros((16, 16, 3), np.uint8)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_declaring(width: int, height: int) -> bytes:
    vp8x = bytes([0x10, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + _chunk_le(b"VP8X", vp8x) + _chunk_le(b"ALPH", bytes(64))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk_le(ctype: bytes, body: bytes) -> bytes:
    return ctype + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def _psd() -> bytes:
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 48, 64, 8, 3)
    return header + struct.pack(">I", 0) * 3 + struct.pack(">H", 0) + bytes(48 * 64 * 3)


def _fits() -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =   0",
        "END",
    ]
    return "".join(c.ljust(80) for c in cards).ljust(2880).encode()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload/evil.html", "<script>alert(document.cookie)</script>")
    return buf.getvalue()


def face_jpeg() -> bytes:
    return FACE.read_bytes()


def oriented_faces() -> dict[int, tuple[bytes, np.ndarray]]:
    """EXIF orientation 1..8: stored pixels rotated/flipped so that the upright view is
    the portrait; returns (file, upright RGB) per orientation."""
    bgr = cv2.imdecode(np.frombuffer(face_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    upright = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    stored = {
        1: bgr,
        2: cv2.flip(bgr, 1),
        3: cv2.rotate(bgr, cv2.ROTATE_180),
        4: cv2.flip(bgr, 0),
        5: cv2.flip(cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE), 1),
        6: cv2.rotate(bgr, cv2.ROTATE_90_COUNTERCLOCKWISE),
        7: cv2.flip(cv2.rotate(bgr, cv2.ROTATE_90_COUNTERCLOCKWISE), 1),
        8: cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE),
    }
    return {
        o: (with_exif_orientation(_cv(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 97]), o), upright)
        for o, img in stored.items()
    }


def with_metadata(jpeg: bytes) -> bytes:
    """A JPEG carrying EXIF (orientation 1), XMP, an ICC profile and a comment after SOI,
    then a ZIP appended after EOI: everything a stored copy must not keep."""

    def seg(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    xmp = seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS 31.2N 121.5E</x:xmpmeta>")
    icc = seg(0xE2, b"ICC_PROFILE\x00\x01\x01" + bytes(128))
    com = seg(0xFE, b"<html><script>alert(1)</script></html>")
    tagged = with_exif_orientation(jpeg, 1)
    return tagged[:2] + xmp + icc + com + tagged[2:] + _zip()


def build() -> list[Sample]:
    s: list[Sample] = []

    def add(name: str, row: str, data: bytes, *expect: str) -> None:
        s.append(Sample(name, row, data, frozenset(expect)))

    too_large, corrupt = "image_too_large", "corrupt_image"
    zeros_4k = np.zeros((2160, 3840, 3), np.uint8)
    # I1: decompression bombs in every allowed format, inside and beyond the caps
    add("jpeg 3840x2160 uniform (at the cap)", "I1", _cv(".jpg", zeros_4k), ACCEPTED)
    add("jpeg declaring 65535x65535", "I1", _jpeg_declaring(65535, 65535), too_large)
    add("jpeg 4000x4000 (over the budget)", "I1", _jpeg_declaring(4000, 4000), too_large)
    add("jpeg progressive, 50,000 scans", "I1", _scan_bomb(50_000), too_large)
    add("jpeg progressive, 60 scans", "I1", _scan_bomb(50), ACCEPTED)
    add(
        "png 3840x2160 RGB zeros (at the cap)",
        "I1",
        _cv(".png", zeros_4k, [cv2.IMWRITE_PNG_COMPRESSION, 9]),
        ACCEPTED,
    )
    add(
        "png 3325x1870 RGBA zeros (at the cap)",
        "I1",
        _cv(".png", np.zeros((1870, 3325, 4), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9]),
        ACCEPTED,
    )
    add(
        "png 2560x1620 16-bit RGB (at the cap)",
        "I1",
        _cv(".png", np.zeros((1620, 2560, 3), np.uint16), [cv2.IMWRITE_PNG_COMPRESSION, 9]),
        ACCEPTED,
    )
    add(
        "png 4000x4000 RGBA zeros",
        "I1",
        _cv(".png", np.zeros((4000, 4000, 4), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9]),
        too_large,
    )
    add("png declaring 100000x100000", "I1", _png(100_000, 100_000, zlib.compress(b"")), too_large)
    add(
        "png 64x64, IDAT inflating to 1.9 GiB",
        "I1",
        _png(64, 64, _deflate_zeros(1900 << 20)),
        corrupt,
    )
    # Found by the fuzzer (session 3): 42 bytes whose IHDR declares bit depth 37 and
    # colour type 82 kept the decoder busy for 0.8 s; refused at the header now.
    fuzz_find = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x11\x00\x00\x00\x00\x08"
        b"%RNS\x82\x00\x00\x00ALPH\x00tRNS\x82"
    )
    add("png IHDR bit depth 37, 42 bytes (fuzz find)", "I1", fuzz_find, corrupt)
    no_idat = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 69888, 8, 8, 2, 0, 0, 0))
        + _chunk(b"IEND", b"")
    )
    add("png 69888x8 without IDAT", "I1", no_idat, corrupt)
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + _deflate_zeros(BOMB_BYTES))
    good_idat = zlib.compress(bytes(64 * (1 + 64 * 3)))
    add("png zTXt inflating to 512 MiB", "I1", _png(64, 64, good_idat, ztxt), ACCEPTED, corrupt)
    iccp = _chunk(b"iCCP", b"icc\x00\x00" + _deflate_zeros(BOMB_BYTES))
    add("png iCCP inflating to 512 MiB", "I1", _png(64, 64, good_idat, iccp), ACCEPTED, corrupt)
    add("webp 3840x2160 lossy (at the cap)", "I1", _cv(".webp", zeros_4k), ACCEPTED)
    add(
        "webp 3325x1870 lossless RGBA (at the cap)",
        "I1",
        _cv(".webp", np.zeros((1870, 3325, 4), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101]),
        ACCEPTED,
    )
    add("webp VP8X declaring 16384x16384", "I1", _webp_declaring(16384, 16384), too_large)
    # I2: disallowed formats under a .jpg name (judged by magic bytes, never by name)
    unsupported = "unsupported_format"
    add("tiff", "I2", _pil("TIFF"), unsupported)
    add("eps (would run Ghostscript)", "I2", _pil("EPS"), unsupported)
    add("pdf", "I2", _pil("PDF"), unsupported)
    add("gif", "I2", _pil("GIF", "P"), unsupported)
    add("gif declaring 65535x65535", "I2", b"GIF89a\xff\xff\xff\xff\x00\x00\x00;", unsupported)
    add("psd", "I2", _psd(), unsupported)
    add("bmp", "I2", _pil("BMP"), unsupported)
    add("ppm", "I2", _pil("PPM"), unsupported)
    add("jpeg 2000", "I2", b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(200), unsupported)
    add("fits", "I2", _fits(), unsupported)
    add(
        "svg",
        "I2",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
        unsupported,
    )
    add("html", "I2", b"<!doctype html><script>alert(1)</script>", unsupported)
    # I6: truncated and empty
    face = face_jpeg()
    png_face = _cv(".png", cv2.imdecode(np.frombuffer(face, np.uint8), cv2.IMREAD_COLOR))
    webp_face = _cv(".webp", cv2.imdecode(np.frombuffer(face, np.uint8), cv2.IMREAD_COLOR))
    add("zero bytes", "I6", b"", "empty_image")
    add("jpeg magic only", "I6", b"\xff\xd8\xff", corrupt)
    add("png magic only", "I6", b"\x89PNG\r\n\x1a\n", corrupt)
    add("jpeg cut at 50%", "I6", face[: len(face) // 2], corrupt)
    add("jpeg cut before EOI", "I6", face[:-2], corrupt)
    add("png cut at 50%", "I6", png_face[: len(png_face) // 2], corrupt)
    add("webp cut at 50%", "I6", webp_face[: len(webp_face) // 2], corrupt)
    add("jpeg header then zeros", "I6", face[:600] + bytes(5000), corrupt)
    # I5: polyglots (valid images carrying other content) are accepted, pixels rebuilt
    add("jpeg + appended zip", "I5", face + _zip(), ACCEPTED)
    add("jpeg + appended html", "I5", face + b"<html><script>alert(1)</script></html>", ACCEPTED)
    text = _chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>")
    add("png + tEXt script", "I5", png_face[:33] + text + png_face[33:], ACCEPTED)
    add("jpeg + EXIF/XMP/ICC/COM + zip", "I5", with_metadata(face), ACCEPTED)
    # I4: all eight EXIF orientations
    for o, (data, _) in oriented_faces().items():
        add(f"jpeg EXIF orientation {o}", "I4", data, ACCEPTED)
    return s
