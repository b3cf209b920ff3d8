"""OpenCV's own size guard is set by ``import proctor`` (defence in depth behind the
header checks): the decoder refuses, in its own reading of a header, images past the
service's caps. Checked in a fresh interpreter, because OpenCV reads it once at load."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import proctor, cv2, numpy as np
from proctor.errors import ImageError
from proctor.imaging.decode import decode_image
wide = cv2.imencode(".png", np.zeros((10, 17000, 3), np.uint8))[1].tobytes()
try:
    cv2.imdecode(np.frombuffer(wide, np.uint8), cv2.IMREAD_COLOR)
    print("decoded")
except cv2.error:
    print("refused")
try:
    decode_image(wide)
    print("decoded")
except ImageError as e:
    print(e.code)
"""


def test_import_proctor_sets_the_decoders_own_limits() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_IO_MAX")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["refused", "corrupt_image"], out


def test_an_operators_own_limit_is_kept() -> None:
    env = {**os.environ, "OPENCV_IO_MAX_IMAGE_WIDTH": "20000"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "decoded", out
