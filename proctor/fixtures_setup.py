"""Prepare test fixtures on a fresh machine.

1. Download the ``face_recognition==1.3.0`` source distribution from PyPI with
   pip (once; cached in ``.cache/sdist``) and extract its ``tests/test_images``
   portraits into ``fixtures/images/downloaded/`` (git-ignored).
2. Generate the edge-case images in code into ``fixtures/images/generated/``.

Run as ``python -m proctor.fixtures_setup``; idempotent.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SDIST_DIR = ROOT / ".cache" / "sdist"
DOWNLOADED = ROOT / "fixtures" / "images" / "downloaded"
GENERATED = ROOT / "fixtures" / "images" / "generated"
PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png")


def download_portraits() -> None:
    if all((DOWNLOADED / n).exists() for n in PORTRAITS):
        return
    SDIST_DIR.mkdir(parents=True, exist_ok=True)
    archives = sorted(SDIST_DIR.glob("face_recognition-1.3.0.tar.gz"))
    if not archives:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(SDIST_DIR),
                "face_recognition==1.3.0",
            ],
            check=True,
        )
        archives = sorted(SDIST_DIR.glob("face_recognition-1.3.0.tar.gz"))
    DOWNLOADED.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archives[0]) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if "/tests/test_images/" in member.name and name in PORTRAITS and member.isfile():
                src = tar.extractfile(member)
                if src is not None:
                    (DOWNLOADED / name).write_bytes(src.read())
    missing = [n for n in PORTRAITS if not (DOWNLOADED / n).exists()]
    if missing:
        raise SystemExit(f"sdist did not contain {missing}")


def _read_rgb(name: str) -> np.ndarray:
    bgr = cv2.imread(str(DOWNLOADED / name), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {name}")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return bytes(buf.tobytes())


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def exif_app1(orientation: int) -> bytes:
    """A minimal big-endian EXIF APP1 segment holding only the orientation tag."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    return jpeg[:2] + exif_app1(orientation) + jpeg[2:]


def huge_png_header(width: int = 100_000, height: int = 100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


def generate() -> dict[str, bytes]:
    rng = np.random.default_rng(20261128)
    obama, biden = _read_rgb("obama.jpg"), _read_rgb("biden.jpg")
    h = min(obama.shape[0], biden.shape[0])
    pair = np.hstack(
        [
            cv2.resize(obama, (obama.shape[1] * h // obama.shape[0], h)),
            cv2.resize(biden, (biden.shape[1] * h // biden.shape[0], h)),
        ]
    )
    canvas = np.full((960, 1280, 3), 120, np.uint8)
    small = cv2.resize(
        obama, (obama.shape[1] // 5, obama.shape[0] // 5), interpolation=cv2.INTER_AREA
    )
    canvas[400 : 400 + small.shape[0], 560 : 560 + small.shape[1]] = small
    gradient = np.tile(np.linspace(30, 220, 640, dtype=np.uint8), (480, 1))
    # The EXIF-rotated obama stores its pixels turned 90° clockwise and says
    # orientation 8 (rotate 90° counter-clockwise to display): upright once applied.
    rotated = cv2.rotate(obama, cv2.ROTATE_90_CLOCKWISE)
    full = (DOWNLOADED / "obama.jpg").read_bytes()
    return {
        "no_face.jpg": _jpeg(np.dstack([gradient] * 3)),
        "noise.png": bytes(
            cv2.imencode(".png", rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))[1].tobytes()
        ),
        "tiny_face.jpg": _jpeg(canvas),
        "two_faces.jpg": _jpeg(pair),
        "dark.jpg": _jpeg((obama.astype(np.float32) * 0.08).astype(np.uint8)),
        "bright.jpg": _jpeg(
            np.clip(obama.astype(np.float32) * 0.25 + 215, 0, 255).astype(np.uint8)
        ),
        "blurred.jpg": _jpeg(cv2.GaussianBlur(obama, (0, 0), 9)),
        "exif_rotated_obama.jpg": with_exif_orientation(_jpeg(rotated), 8),
        "truncated.jpg": full[: len(full) // 2],
        "huge_header.png": huge_png_header(),
        "not_an_image.jpg": b"%PDF-1.4\n" + bytes(rng.integers(0, 256, 2000, dtype=np.uint8)),
        "empty.jpg": b"",
    }


def main() -> None:
    download_portraits()
    GENERATED.mkdir(parents=True, exist_ok=True)
    for name, data in generate().items():
        path = GENERATED / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    print(f"fixtures ready in {DOWNLOADED.parent.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
