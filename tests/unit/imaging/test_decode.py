"""Safe decoding: formats by magic bytes, caps before decode, EXIF, depths, channels."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proctor.errors import (
    CorruptImage,
    EmptyImage,
    ImageError,
    ImageTooLarge,
    UnsupportedFormat,
)
from proctor.fixtures_setup import huge_png_header, with_exif_orientation
from proctor.imaging.decode import DecodeLimits, decode_image, pixel_sha256
from proctor.imaging.header import read_header


def _asym(h: int = 40, w: int = 60) -> np.ndarray:
    """An RGB image whose every orientation differs: a red top-left quadrant."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 3] = (255, 0, 0)
    img[h // 2 :, w // 2 :] = (0, 0, 255)
    return img


def _enc(ext: str, bgr_or_gray: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, bgr_or_gray, params or [])
    assert ok
    return bytes(buf.tobytes())


def _png_rgb(rgb: np.ndarray) -> bytes:
    return _enc(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_png_roundtrip_is_rgb() -> None:
    img = _asym()
    out = decode_image(_png_rgb(img))
    assert out.format == "png"
    np.testing.assert_array_equal(out.rgb, img)


def test_webp_lossless_roundtrip() -> None:
    img = _asym()
    out = decode_image(
        _enc(".webp", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 101])
    )
    assert out.format == "webp"
    np.testing.assert_array_equal(out.rgb, img)


def test_format_judged_by_magic_not_name() -> None:
    gif = b"GIF89a" + b"\x00" * 100
    with pytest.raises(UnsupportedFormat):
        decode_image(gif)
    bmp = _enc(".bmp", _asym())
    with pytest.raises(UnsupportedFormat):
        decode_image(bmp)


def test_empty_and_oversized_bytes() -> None:
    with pytest.raises(EmptyImage):
        decode_image(b"")
    data = _png_rgb(_asym())
    with pytest.raises(ImageTooLarge) as exc:
        decode_image(data, DecodeLimits(max_bytes=len(data) - 1))
    assert exc.value.code == "image_too_large"


def test_pixel_cap_checked_from_header_before_decode() -> None:
    data = huge_png_header(100_000, 100_000)
    assert read_header(data).width == 100_000
    with pytest.raises(ImageTooLarge) as exc:
        decode_image(data)
    assert exc.value.details["width"] == 100_000


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_pixel_cap_applies_to_every_format(ext: str) -> None:
    data = _enc(ext, np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(ImageTooLarge):
        decode_image(data, DecodeLimits(max_pixels=100 * 100 - 1))
    assert decode_image(data, DecodeLimits(max_pixels=100 * 100)).rgb.shape == (100, 100, 3)


def test_truncated_jpeg_is_corrupt() -> None:
    rng = np.random.default_rng(1)
    data = _enc(".jpg", rng.integers(0, 255, (200, 200, 3), dtype=np.uint8))
    with pytest.raises(CorruptImage):
        decode_image(data[: len(data) // 2])


def test_trailing_bytes_are_dropped() -> None:
    img = _asym()
    data = _png_rgb(img) + b"TRAILING-SECRET" * 10
    out = decode_image(data)
    np.testing.assert_array_equal(out.rgb, img)
    assert out.rgb.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_once(orientation: int) -> None:
    upright = _asym()
    # Build the stored pixels that a camera would write for this orientation.
    stored = {
        1: upright,
        2: cv2.flip(upright, 1),
        3: cv2.rotate(upright, cv2.ROTATE_180),
        4: cv2.flip(upright, 0),
        5: cv2.flip(cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE), 1),
        6: cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE),
        7: cv2.flip(cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE), 1),
        8: cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE),
    }[orientation]
    jpeg = _enc(".jpg", cv2.cvtColor(stored, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    out = decode_image(with_exif_orientation(jpeg, orientation))
    assert out.orientation == orientation
    assert out.rgb.shape == upright.shape
    assert np.abs(out.rgb.astype(int) - upright.astype(int)).mean() < 8


def test_grayscale_alpha_and_16_bit() -> None:
    gray = np.tile(np.arange(64, dtype=np.uint8), (32, 1))
    out = decode_image(_enc(".png", gray))
    assert out.rgb.shape == (32, 64, 3)
    np.testing.assert_array_equal(out.rgb[:, :, 0], gray)

    bgra = np.zeros((20, 20, 4), np.uint8)
    bgra[:, :10] = (0, 0, 255, 255)  # opaque red
    bgra[:, 10:] = (0, 0, 0, 0)  # transparent → composited on white
    out = decode_image(_enc(".png", bgra))
    assert tuple(out.rgb[0, 0]) == (255, 0, 0)
    assert tuple(out.rgb[0, 15]) == (255, 255, 255)

    deep = np.full((16, 16, 3), 40000, np.uint16)
    out = decode_image(_enc(".png", deep))
    assert out.rgb.dtype == np.uint8
    assert int(out.rgb[0, 0, 0]) == 40000 >> 8


def test_pixel_hash_ignores_container_but_not_pixels() -> None:
    img = _asym()
    a = decode_image(_png_rgb(img)).rgb
    b = decode_image(_png_rgb(img) + b"junk").rgb
    assert pixel_sha256(a) == pixel_sha256(b)
    c = img.copy()
    c[0, 0, 0] ^= 1
    assert pixel_sha256(decode_image(_png_rgb(c)).rgb) != pixel_sha256(a)


@given(st.binary(max_size=2048))
def test_random_bytes_never_escape_as_anything_but_image_errors(data: bytes) -> None:
    try:
        decode_image(data)
    except ImageError as exc:
        assert exc.code in {"unsupported_format", "image_too_large", "corrupt_image", "empty_image"}


@given(st.binary(min_size=1, max_size=600))
def test_mangled_headers_of_real_formats_fail_cleanly(tail: bytes) -> None:
    for magic in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"):
        with contextlib.suppress(ImageError):
            decode_image(magic + tail)


def test_jpeg_decodes_to_the_same_rgb_as_bgr_swapped() -> None:
    """The direct RGB decode (OpenCV ≥ 4.11) gives the pixels of the BGR decode, swapped."""
    rng = np.random.default_rng(3)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (5, 5), 0)
    data = _enc(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    out = decode_image(data).rgb
    assert out.flags.c_contiguous
    assert np.array_equal(out, bgr[:, :, ::-1])


def test_complete_jpeg_with_trailing_bytes_decodes_and_a_cut_one_is_corrupt() -> None:
    data = _enc(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert data.endswith(b"\xff\xd9")
    assert decode_image(data).rgb.shape == (16, 16, 3)
    assert decode_image(data + b"trailing").rgb.shape == (16, 16, 3)
    with pytest.raises(CorruptImage):
        decode_image(data[:-40])
