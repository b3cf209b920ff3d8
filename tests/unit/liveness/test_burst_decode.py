"""Burst decoding: caps and hostile input map to stable codes (no face models needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.errors import CorruptImage, ImageError
from proctor.imaging.decode import DecodeLimits
from proctor.liveness.burst import BurstLimits, decode_clip, decode_frames, sniff_clip


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


def clip_bytes(tmp_path: Path, seconds: float, fps: float = 15.0, size=(96, 64)) -> bytes:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(int(seconds * fps)):
        frame = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
        writer.write(frame)
    writer.release()
    return path.read_bytes()


def test_frames_get_even_times_over_the_nominal_duration() -> None:
    b = decode_frames([jpeg(i) for i in range(9)], BurstLimits(), DecodeLimits())
    assert len(b.frames) == 9 and b.times_s[0] == 0.0 and b.times_s[-1] == pytest.approx(2.0)
    assert b.frames[0].shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([], "empty_burst"),
        ([b"x"] * (BurstLimits().max_frames + 1), "burst_too_large"),
        ([b"\xff\xd8\xff" + b"\x00" * 10], "corrupt_image"),
    ],
    ids=["empty", "too_many", "corrupt_frame"],
)
def test_bad_frame_lists(frames: list[bytes], code: str) -> None:
    with pytest.raises(ImageError) as err:
        decode_frames(frames, BurstLimits(), DecodeLimits())
    assert err.value.code == code


def test_a_corrupt_frame_names_its_index() -> None:
    frames = [jpeg(0), jpeg(1)[:40]]
    with pytest.raises(CorruptImage) as err:
        decode_frames(frames, BurstLimits(), DecodeLimits())
    assert err.value.details["frame"] == 1


def test_total_bytes_cap() -> None:
    with pytest.raises(ImageError) as err:
        decode_frames([jpeg(0)] * 3, BurstLimits(max_total_bytes=100), DecodeLimits())
    assert err.value.code == "burst_too_large"


def test_short_clip_is_sampled_with_its_own_timestamps(tmp_path: Path) -> None:
    # 2 s at 15 fps is 30 frames: all kept by default, evenly sampled below that.
    assert len(decode_clip(clip_bytes(tmp_path, 2.0), BurstLimits()).frames) == 30
    b = decode_clip(clip_bytes(tmp_path, 2.0), BurstLimits(frames_from_clip=12))
    assert b.source == "clip" and len(b.frames) == 12
    assert b.times_s[0] == 0.0 and 1.7 < b.times_s[-1] <= 2.0
    assert b.frames[0].flags["C_CONTIGUOUS"]


def test_long_clip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as err:
        decode_clip(clip_bytes(tmp_path, 5.0), BurstLimits())
    assert err.value.code == "burst_too_large"


def test_large_frames_are_refused_before_decoding(tmp_path: Path) -> None:
    data = clip_bytes(tmp_path, 1.0, size=(320, 240))
    with pytest.raises(ImageError) as err:
        decode_clip(data, BurstLimits(max_clip_frame_pixels=100 * 100))
    assert err.value.code == "burst_too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_burst"),
        (b"GIF89a" + b"\x00" * 64, "unsupported_video"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 200, "corrupt_video"),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4, "corrupt_video"),
        (b"\x00" * (9 * 1024 * 1024), "burst_too_large"),
    ],
    ids=["empty", "gif", "ebml_garbage", "mp4_garbage", "too_big"],
)
def test_hostile_clips(data: bytes, code: str) -> None:
    with pytest.raises(ImageError) as err:
        decode_clip(data, BurstLimits())
    assert err.value.code == code


def test_truncated_clip(tmp_path: Path) -> None:
    data = clip_bytes(tmp_path, 2.0)
    with pytest.raises(ImageError) as err:
        decode_clip(data[: len(data) // 3], BurstLimits())
    assert err.value.code in ("corrupt_video", "burst_too_large")


def test_sniff() -> None:
    assert sniff_clip(b"\x1a\x45\xdf\xa3rest") == "webm"
    assert sniff_clip(b"\x00\x00\x00\x18ftypisom") == "mp4"
