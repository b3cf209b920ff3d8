"""Read format, dimensions and EXIF orientation from image headers, without decoding pixels.

Pure byte parsing, so the pixel cap is enforced before any decoder allocates memory.
Besides width and height the header gives an upper bound of what the decoder will
allocate (``channels`` × ``sample_bytes`` per pixel) and, for JPEG, the number of
scans: a progressive JPEG with thousands of tiny scans is a decompression bomb
that stays inside any pixel cap (every scan is a pass over all coefficients).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from proctor.errors import CorruptImage, UnsupportedFormat

JPEG, PNG, WEBP = "jpeg", "png", "webp"

# Start-of-frame markers that carry the image size (not DHT/DAC/JPG extensions).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str
    width: int
    height: int
    orientation: int = 1  # EXIF orientation 1..8; 1 = as stored
    channels: int = 3  # channels the decoder returns (upper bound): 1, 3 or 4
    sample_bytes: int = 1  # bytes per channel sample: 1, or 2 for 16-bit PNG / 12-bit JPEG
    scans: int = 1  # JPEG scans (SOS segments) up to the end of image; 1 for other formats
    has_data: bool = True  # False: a PNG without IDAT (nothing for the decoder to read)

    @property
    def has_alpha(self) -> bool:
        return self.channels == 4

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the decoder's output buffer, before conversion to 8-bit RGB."""
        return self.width * self.height * self.channels * self.sample_bytes


def sniff_format(data: bytes) -> str:
    """Format judged by magic bytes only; raises UnsupportedFormat otherwise."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    raise UnsupportedFormat(
        "only JPEG, PNG and WebP images are accepted", details={"magic": data[:4].hex()}
    )


def read_header(data: bytes) -> ImageHeader:
    fmt = sniff_format(data)
    try:
        if fmt == JPEG:
            return _jpeg_header(data)
        if fmt == PNG:
            return _png_header(data)
        return _webp_header(data)
    except (struct.error, IndexError) as exc:
        raise CorruptImage(f"truncated or malformed {fmt} header") from exc


def _jpeg_header(data: bytes) -> ImageHeader:
    pos, orientation, size, channels, sample_bytes = 2, 1, None, 3, 1
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise CorruptImage("malformed JPEG marker stream")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9 or marker == 0xDA:  # end of image / start of scan
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            raise CorruptImage("malformed JPEG segment length")
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and body[:6] == b"Exif\x00\x00" and orientation == 1:
            orientation = exif_orientation(body[6:])
        elif marker in _SOF_MARKERS:
            precision = body[0]
            height, width = struct.unpack(">HH", body[1:5])
            size = (width, height)
            channels = 1 if body[5] == 1 else 3  # the decoder converts YCbCr/CMYK to BGR
            sample_bytes = 2 if precision > 8 else 1
        pos += 2 + length
    if size is None:
        raise CorruptImage("JPEG has no frame header")
    scans = jpeg_scan_count(data, pos) if pos + 1 < n and data[pos + 1] == 0xDA else 0
    return ImageHeader(JPEG, size[0], size[1], orientation, channels, sample_bytes, scans)


# A marker inside entropy-coded data: 0xFF then neither a stuffed 0x00, a restart
# marker (0xD0-0xD7) nor another fill byte.
_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


def jpeg_scan_count(data: bytes, pos: int, stop_after: int = 100_000) -> int:
    """Scans (SOS segments) from the first SOS at ``pos`` to the end of image.

    Walks the marker structure the way the decoder does: segment lengths are
    honoured (so an EOI inside a comment between scans does not end the count) and
    entropy-coded data is skipped to the next real marker.
    """
    scans, n = 0, len(data)
    while pos + 4 <= n and scans < stop_after:
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            break
        scans += marker == 0xDA
        nxt = _MARKER.search(data, pos + 2 + length)
        if nxt is None:
            break
        pos = nxt.start()
    return scans


# Allowed bit depths per colour type (PNG specification, table 11.1).
_PNG_DEPTHS: dict[int, tuple[int, ...]] = {
    0: (1, 2, 4, 8, 16),
    2: (8, 16),
    3: (1, 2, 4, 8),
    4: (8, 16),
    6: (8, 16),
}


def _png_header(data: bytes) -> ImageHeader:
    if data[12:16] != b"IHDR":
        raise CorruptImage("PNG does not start with IHDR")
    width, height, depth, color_type, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", data[16:29]
    )
    # Fields outside the PNG specification are refused before the decoder sees them: a
    # 42-byte file declaring bit depth 37 kept OpenCV busy for 0.8 s (found by fuzzing).
    if (
        depth not in _PNG_DEPTHS.get(color_type, ())
        or compression != 0
        or filtering != 0
        or interlace not in (0, 1)
    ):
        raise CorruptImage(
            "PNG header is invalid",
            details={"bit_depth": depth, "color_type": color_type, "interlace": interlace},
        )
    # gray 1, RGB 3, palette 3, gray+alpha and RGBA 4 (the decoder returns BGRA for both)
    channels = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}.get(color_type, 4)
    orientation, pos, idat = 1, 8, 0
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        if ctype == b"eXIf" and orientation == 1:
            orientation = exif_orientation(data[pos + 8 : pos + 8 + length])
        elif ctype == b"tRNS" and not idat:
            channels = 4  # transparency becomes an alpha channel
        elif ctype == b"IDAT":
            idat += length
        elif ctype == b"IEND":
            break
        pos += 12 + length
    # Compressed image data larger than the raw scanlines it declares is a zlib bomb:
    # the decoder would inflate all of it (2 MiB of IDAT took 2 s before this check).
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color_type, 4)
    raw = height * ((width * samples * depth + 7) // 8 + 1)
    if idat > raw + raw // 50 + 8 * height + 4096:
        raise CorruptImage(
            "PNG holds more compressed data than its image", details={"idat_bytes": idat}
        )
    return ImageHeader(
        PNG, width, height, orientation, channels, 2 if depth == 16 else 1, has_data=idat > 0
    )


def _webp_header(data: bytes) -> ImageHeader:
    pos, width, height, orientation, channels = 12, 0, 0, 1, 3
    while pos + 8 <= len(data):
        ctype = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"VP8X":
            width = 1 + int.from_bytes(body[4:7], "little")
            height = 1 + int.from_bytes(body[7:10], "little")
            channels = 4 if body[0] & 0x10 else 3
        elif ctype == b"VP8 " and not width:
            w, h = struct.unpack("<HH", body[6:10])
            width, height = w & 0x3FFF, h & 0x3FFF
        elif ctype == b"VP8L" and not width:
            bits = int.from_bytes(body[1:5], "little")
            width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            channels = 4 if bits & (1 << 28) else 3
        elif ctype == b"EXIF":
            orientation = exif_orientation(body[6:] if body[:6] == b"Exif\x00\x00" else body)
        pos += 8 + length + (length & 1)
    if not width or not height:
        raise CorruptImage("WebP has no image chunk")
    return ImageHeader(WEBP, width, height, orientation, channels)


def exif_orientation(tiff: bytes) -> int:
    """Orientation tag (0x0112) from a TIFF-structured EXIF block; 1 when absent or invalid."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    endian = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
        for i in range(min(count, 512)):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, typ = struct.unpack(endian + "HH", entry[:4])
            if tag == 0x0112 and typ == 3:
                (value,) = struct.unpack(endian + "H", entry[8:10])
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1
