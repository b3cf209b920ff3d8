"""What a simulated driver of ``proctor bench load`` shows the camera.

A persona is one person: the certified photo it enrols with, distinct snapshots for
single captures, and (for ``--bursts``) liveness bursts that really show a blink, cut
from the labelled clips of ``fixtures/liveness/annotations.toml``. The server under a
burst load runs with ``PROCTOR_LIVENESS_ACTIONS=blink`` and
``PROCTOR_LIVENESS_MAX_ACTIONS=1``: the labelled clips hold blinks of several people,
but turns and open mouths of too few.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from proctor.pipeline import Pipeline
    from proctor.types import RGBImage

BURST_FRAMES = 30  # what the reference page sends: 2 s at 15 fps
SNAPSHOTS_PER_PERSONA = 6
JPEG_QUALITY = 90
BURST_JPEG_QUALITY = 85  # the page's BURST_JPEG_QUALITY


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    reference: bytes
    snapshots: tuple[bytes, ...]
    bursts: tuple[tuple[bytes, ...], ...] = field(default=())


def photo_persona(images: Path) -> Persona:
    """The fixture portraits: obama.jpg enrols; obama2/3, each also mirrored, are the
    four distinct snapshots of one study-and-exam cycle (replay detection stays quiet)."""
    from PIL import Image, ImageOps

    shots: list[bytes] = []
    for name in ("obama2.jpg", "obama3.jpg"):
        raw = (images / name).read_bytes()
        shots.append(raw)
        buf = io.BytesIO()
        ImageOps.mirror(Image.open(io.BytesIO(raw)).convert("RGB")).save(buf, "JPEG", quality=92)
        shots.append(buf.getvalue())
    return Persona("obama", (images / "obama.jpg").read_bytes(), tuple(shots))


def _reference_copy_test(pipeline: Pipeline, reference: bytes) -> Callable[[bytes], bool]:
    """Enrol ``reference`` (its mirror too, as the service does) and return the test that
    tells a frame the service would refuse as ``reference_replayed`` (issue 17): a
    near-still clip holds frames that are copies of the reference in all but name, and a
    driver's snapshot must be another moment of them, not a replay of the certified photo."""
    from proctor.imaging.transform import mirrored_jpeg
    from proctor.liveness.reference_replay import ReferenceReplayPolicy, copy_tests

    template = pipeline.enroll([reference])
    flipped = mirrored_jpeg(reference)
    if flipped is None:
        raise ValueError("the enrolled reference does not decode")
    mirror = pipeline.enroll([flipped])
    hashes = tuple(pipeline.measure(template, x).perceptual_hash for x in (reference, flipped))
    policy = ReferenceReplayPolicy()

    def is_copy(data: bytes) -> bool:
        m = pipeline.measure(template, data)
        bits = min((m.perceptual_hash ^ h).bit_count() for h in hashes)
        mirror_l2 = pipeline.measure(mirror, data).reference_l2
        return any(copy_tests(bits, m.reference_l2, mirror_l2, policy))

    return is_copy


def _jpeg(rgb: RGBImage, quality: int) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def _reference_and_shots(
    pipeline: Pipeline, frames: Sequence[RGBImage], quiet: Sequence[int], start: int
) -> tuple[bytes, list[bytes]] | None:
    """From ``quiet[start]`` on: the first frame enrolment accepts is the reference, then up to
    SNAPSHOTS_PER_PERSONA other quiet frames (any order, wrapping) that are not copies of it."""
    from proctor.errors import ProctorError

    reference: bytes | None = None
    shots: list[bytes] = []
    is_copy: Callable[[bytes], bool] | None = None
    order = [*quiet[start:], *quiet[:start]]
    for i in order:
        data = _jpeg(frames[i], JPEG_QUALITY)
        if reference is None:
            try:
                is_copy = _reference_copy_test(pipeline, data)
            except ProctorError:
                continue
            reference = data
        elif len(shots) < SNAPSHOTS_PER_PERSONA and not (is_copy and is_copy(data)):
            shots.append(data)
    if reference is None or len(shots) < 3:
        return None
    return reference, shots


def blink_personas(pipeline: Pipeline, video_root: Path, min_bursts: int = 2) -> list[Persona]:
    """One persona per labelled clip with at least ``min_bursts`` blinks: the reference is
    the first frame far from every labelled event that enrolment accepts; snapshots are
    other such frames; each burst is the 2 s window centred on one labelled blink."""
    from proctor.bench.liveness import BURST_S, load_annotations, read_clip, window
    from proctor.liveness.actions import Action

    clips, _ = load_annotations()
    out: list[Persona] = []
    for clip in clips:
        blinks = [e for e in clip.events if e.action is Action.BLINK]
        path = video_root / clip.path
        if len(blinks) < min_bursts or not path.exists():
            continue
        frames, fps = read_clip(path, clip.until_s)
        busy = [(e.start_s - 0.5, e.end_s + 0.5) for e in clip.events]
        quiet = [
            i
            for i in range(0, len(frames), max(1, round(fps / 2)))
            if not any(lo <= i / fps <= hi for lo, hi in busy)
        ]
        # The reference is a quiet frame enrolment accepts; the snapshots are other quiet
        # frames that are not copies of it (issue 17's test). In a near-still clip most
        # frames are copies of any one frame, so up to three reference candidates spread
        # over the clip (first, middle, last) are tried; the first with 3 snapshots wins.
        found: tuple[bytes, list[bytes]] | None = None
        for start in dict.fromkeys((0, len(quiet) // 2, len(quiet) - 1)):
            found = _reference_and_shots(pipeline, frames, quiet, start)
            if found is not None:
                break
        if found is None:
            continue
        reference, shots = found
        bursts = tuple(
            tuple(
                _jpeg(f, BURST_JPEG_QUALITY)
                for f in window(frames, fps, e.mid_s - BURST_S / 2, BURST_FRAMES)[0]
            )
            for e in blinks
        )
        out.append(Persona(clip.id, reference, tuple(shots), bursts))
    return out
