"""Test clips under a screen-light code: genuine frames with the code's modelled reflection.

The shared clips were not recorded under a code, so tests that send a genuine burst to a
server with the light code on (the default) add the reflection the page's code would
cast (``proctor.liveness.reflection``, k of the stated geometry) on the frames of the
clip, at their times from the code's start. Landmarks for the face mask come from the
real tracker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from proctor.liveness.light_code import LightCode
from proctor.liveness.reflection import ScreenGeometry, lit_burst


def code_of(challenge: dict[str, Any]) -> LightCode:
    return LightCode.from_json(challenge["light_code"])


def under_code(
    pipeline: Any,
    rgb_frames: Sequence[np.ndarray],
    times_s: Sequence[float],
    code: LightCode,
    k: float = ScreenGeometry().k,
) -> list[np.ndarray]:
    """``rgb_frames`` lit by ``code`` (each at its time from the code's start)."""
    from proctor.bench.liveness import _points_per_frame
    from proctor.liveness.burst import BurstAnalyzer

    pts = _points_per_frame(BurstAnalyzer(pipeline), list(rgb_frames))
    assert pts is not None, "no face in the clip"
    return lit_burst(list(rgb_frames), pts, list(times_s), code, k)
