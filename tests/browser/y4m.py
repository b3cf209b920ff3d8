"""Fake-camera feeds for Chromium: .y4m files (YUV4MPEG2, 4:2:0) made from the fixture photos.

A y4m file is a one-line stream header and, per frame, ``FRAME\\n`` followed by the raw
I420 planes (Y at full size, then U and V at half size each way). Chromium plays it in a
loop as the camera.

A still photo is not a live driver: the service flags a capture whose aligned face chip
hashes within a few bits of an earlier one as a replay. A genuine feed is therefore a
sequence of *looks* (photo, mirror, side lighting, light stripes), each held for a while,
chosen with the real pipeline so that every look matches the reference and every two looks
are far apart in the replay hash. Captures taken more than one hold apart, within one pass
of the loop, see different looks, as two frames of a live person would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


def letterbox(bgr: Frame, width: int, height: int) -> Frame:
    """Scale the photo to fit ``width`` x ``height`` and centre it on a grey canvas."""
    h, w = bgr.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(2, round(w * scale)), max(2, round(h * scale))
    resized = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 128, np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    canvas[y : y + nh, x : x + nw] = resized
    return canvas


def write_frames(frames: Iterable[Frame], out: Path, *, fps: int) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        header_written = False
        for bgr in frames:
            h, w = bgr.shape[:2]
            if not header_written:
                f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
                header_written = True
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


def write_y4m(
    photo: Path, out: Path, *, width: int = 640, height: int = 480, frames: int = 10, fps: int = 10
) -> Path:
    """A still feed of one photo."""
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read {photo}")
    still = letterbox(bgr, width, height)
    return write_frames((still for _ in range(frames)), out, fps=fps)


@dataclass(frozen=True)
class Look:
    photo: str
    mirror: bool
    light: str  # "none", "side", "stripes"
    amount: float
    period: float = 12.0
    centre: float = 0.0  # side lighting: offset of the light's edge from the middle, px

    def render(self, base: Frame) -> Frame:
        img = (base[:, ::-1] if self.mirror else base).astype(np.float32)
        w = img.shape[1]
        x = np.arange(w, dtype=np.float32)[None, :]
        if self.light == "side":
            gain = 1 + self.amount * np.tanh((x - w / 2 - self.centre) / 40.0)
        elif self.light == "stripes":
            gain = 1 + self.amount * np.sin(x / self.period)
        else:
            gain = np.ones_like(x)
        return np.clip(img * gain[:, :, None], 0, 255).astype(np.uint8)


def candidate_looks(photos: Sequence[str]) -> list[Look]:
    out: list[Look] = []
    for p in photos:
        for mirror in (False, True):
            out.append(Look(p, mirror, "none", 0.0))
            for a in (0.2, -0.2, 0.3, -0.3, 0.4, -0.4, 0.5, -0.5):
                for centre in (-30.0, 0.0, 30.0):
                    out.append(Look(p, mirror, "side", a, centre=centre))
            for a in (0.2, 0.3):
                for period in (6.0, 8.0, 10.0, 12.0, 16.0, 20.0):
                    out.append(Look(p, mirror, "stripes", a, period))
    return out


def distinct_looks(
    bases: dict[str, Frame],
    judge: Callable[[bytes], tuple[bool, int]],
    *,
    min_bits: int = 8,
    limit: int = 24,
) -> list[tuple[Look, Frame]]:
    """Greedy: looks that ``judge`` passes (match, quality) with pairwise hash distance."""
    chosen: list[tuple[Look, Frame, int]] = []
    for look in candidate_looks(sorted(bases)):
        frame = look.render(bases[look.photo])
        ok, phash = judge(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
        if ok and all((phash ^ h).bit_count() >= min_bits for _, _, h in chosen):
            chosen.append((look, frame, phash))
            if len(chosen) >= limit:
                break
    return [(look, frame) for look, frame, _ in chosen]


def write_live_feed(frames: Sequence[Frame], out: Path, *, hold_s: float, fps: int = 5) -> Path:
    """Each look held ``hold_s`` seconds, in order; one pass lasts ``len(frames) * hold_s``."""
    per = max(1, round(hold_s * fps))
    return write_frames((f for f in frames for _ in range(per)), out, fps=fps)
