"""``PipelinePool``: the runtime worker pool behind the ``FaceVerifier``, ``BurstJudge``
and ``BurstChecker`` ports (an adapter; built by the composition root).

Decoding is thread-safe and needs no worker: ``check_image`` / ``check_burst`` decode an
upload before its challenge is claimed and *return* the pixels; the caller hands them
back to ``measure`` / ``judge_burst`` explicitly (no hidden per-thread cache).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from proctor.errors import ModelUnavailable
from proctor.imaging.decode import decode_image
from proctor.liveness.outcome import BurstUpload, DecodedFrames
from proctor.pipeline import Pipeline
from proctor.types import DecodedImage, FaceMeasurement, RGBImage, Template

if TYPE_CHECKING:
    from proctor.liveness.burst import BurstAnalyzer, BurstLimits
    from proctor.liveness.outcome import BurstJudgement


class _Worker:
    __slots__ = ("analyzer", "pipeline")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.analyzer: BurstAnalyzer | None = None


class PipelinePool:
    """``FaceVerifier`` and ``BurstJudge`` over N independent workers, one per matching thread.

    The native detector/descriptor objects are not shared between threads: under
    concurrent load a shared instance crashed the process (``munmap_chunk``). A worker
    is its pipeline plus, built on its first burst, a ``BurstAnalyzer`` over that same
    pipeline with its own 68-point predictor, so a burst and a snapshot never run on
    one worker's dlib objects at once.
    """

    def __init__(
        self,
        pipelines: list[Pipeline],
        burst_factory: Callable[[Pipeline], BurstAnalyzer] | None = None,
        burst_limits: BurstLimits | None = None,
    ) -> None:
        self._free: queue.Queue[_Worker] = queue.Queue()
        self._burst_factory = burst_factory
        self.burst_limits = burst_limits
        self._decode_limits = pipelines[0].config.decode_limits
        self.model_id = pipelines[0].model_id
        self.size = len(pipelines)
        for p in pipelines:
            self._free.put(_Worker(p))

    @contextmanager
    def _worker(self) -> Iterator[_Worker]:
        w = self._free.get()
        try:
            yield w
        finally:
            self._free.put(w)

    def enroll(self, photos: Sequence[bytes]) -> Template:
        with self._worker() as w:
            return w.pipeline.enroll(photos)

    def measure(self, reference: Template, probe: bytes | DecodedImage) -> FaceMeasurement:
        """Measure bytes, or the pixels ``check_image`` returned (no second decode)."""
        with self._worker() as w:
            return w.pipeline.measure(reference, probe)

    def check_image(self, probe: bytes) -> DecodedImage:
        """Decode a snapshot only (no worker held). Raises its ``ImageError`` so that an
        unusable upload is refused before its challenge is claimed."""
        t0 = time.perf_counter()
        rgb = decode_image(probe, self._decode_limits).rgb
        return DecodedImage(probe, rgb, (time.perf_counter() - t0) * 1000.0)

    def judge_burst(
        self,
        reference: Template,
        upload: BurstUpload,
        actions: Sequence[str],
        decoded: DecodedFrames | None = None,
    ) -> BurstJudgement:
        """Judge ``decoded`` (from ``check_burst``) when given; else decode ``upload``."""
        with self._worker() as w:
            analyzer = self._analyzer(w)
            if decoded is not None:
                timings = {"decode": getattr(decoded, "decode_ms", 0.0)}
                return analyzer.judge_frames(
                    reference, decoded.frames, decoded.times_s, actions, timings
                )
            return analyzer.judge_burst(reference, upload, actions)

    def check_burst(self, upload: BurstUpload) -> DecodedFrames:
        """Decode the upload only (no face work, no worker held).

        Raises the burst's ``ImageError`` codes (``burst_too_large``, ``corrupt_video``,
        ``unsupported_video``, ``empty_burst``, ``corrupt_image``...), so that an
        unusable upload is refused before the challenge is claimed. Returns the decoded
        frames, to be passed to ``judge_burst``.
        """
        from proctor.liveness.burst import BurstLimits, decode_clip, decode_frames

        limits = self.burst_limits or BurstLimits()
        t0 = time.perf_counter()
        if isinstance(upload, bytes | bytearray | memoryview):
            decoded = decode_clip(bytes(upload), limits)
        else:
            decoded = decode_frames(list(upload), limits, self._decode_limits)
        return TimedFrames(decoded.frames, decoded.times_s, (time.perf_counter() - t0) * 1000.0)

    def warm_bursts(self) -> None:
        """Build every worker's analyzer now (start-up), instead of on its first burst."""
        workers = [self._free.get() for _ in range(self.size)]
        try:
            for w in workers:
                self._analyzer(w)
        finally:
            for w in workers:
                self._free.put(w)

    def _analyzer(self, w: _Worker) -> BurstAnalyzer:
        if w.analyzer is None:
            if self._burst_factory is None:
                raise ModelUnavailable("no burst analyzer is configured")
            w.analyzer = self._burst_factory(w.pipeline)
        return w.analyzer


@dataclass(frozen=True, slots=True)
class TimedFrames:
    """Decoded burst frames with the time their decode took."""

    frames: tuple[RGBImage, ...]
    times_s: tuple[float, ...]
    decode_ms: float = 0.0
