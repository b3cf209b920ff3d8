"""atheris fuzz target for the decode path (SECURITY.md I3): size gate → magic check →
header parse (pixel cap, memory budget, JPEG scans, PNG IDAT size) → cv2 decode →
orientation → RGB rebuild.

Any exception other than an ``ImageError`` is a finding; libFuzzer's ``-timeout`` turns
a slow input into a finding too. The pure-Python header parser is instrumented for
coverage; cv2's C decoders are exercised but not instrumented.

    python tests/security/fuzz_decode.py -max_total_time=120 -timeout=1 CORPUS_DIR
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from proctor.errors import ImageError
    from proctor.imaging.decode import DecodeLimits, decode_image
    from proctor.imaging.header import read_header

# A 2 MiB upload cap as in the service; the pixel limits are the defaults.
LIMITS = DecodeLimits(max_bytes=2 * 1024 * 1024)


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ImageError):
        read_header(data)
    try:
        out = decode_image(data, LIMITS)
    except ImageError:
        return
    rgb = out.rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype.name != "uint8":
        raise AssertionError(f"decode returned {rgb.shape} {rgb.dtype}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
