"""The per-image pipeline: decode → detect → primary face → landmarks → quality → embed → compare.

``Pipeline`` implements the ``FaceVerifier`` port. It *measures* (face, quality reasons,
embedding, distances, hashes, timings) and returns no verdict: captures are decided by
``proctor.decision.capture.decide_capture`` with the loaded ``OperatingPolicy``.
Vision adapters are created by ``build_verifier`` so that importing this module loads
no model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from proctor.detection.select import extra_people, primary_face
from proctor.errors import EnrollmentRejected
from proctor.imaging.decode import DecodeLimits, decode_image, pixel_sha256
from proctor.imaging.hashing import dhash64
from proctor.imaging.transform import encode_jpeg
from proctor.matching.cohort import Cohort, CohortStats, snorm_pair
from proctor.matching.decision import template_distance
from proctor.ports import FaceDetector
from proctor.quality.metrics import measure
from proctor.quality.policy import QualityPolicy, QualityReason, QualityReport, assess_quality
from proctor.types import (
    BBox,
    DecodedImage,
    Detection,
    Embedding,
    FaceMeasurement,
    RGBImage,
    Template,
)

if TYPE_CHECKING:
    from proctor.embedding.dlib_resnet import DlibResNetEncoder, Landmarks5
    from proctor.embedding.onnx_resnet import OnnxResNetEncoder
    from proctor.landmarks.facemesh import Mesh
    from proctor.landmarks.mesh_align import MeshAligner

STAGES = ("decode", "detect", "landmarks", "quality", "embed", "compare")


@dataclass(slots=True)
class Analysis:
    """Everything learned about one image before embedding."""

    rgb: RGBImage
    detections: list[Detection]
    primary: Detection | None
    quality: QualityReport
    chip: RGBImage | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The primary face's FaceMesh (468 × x, y, z frame px) when the aligner ran or was
    # given one: bursts start tracking from it instead of running the mesh again.
    mesh: Mesh | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.quality.reasons)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - t0) * 1000.0


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    decode_limits: DecodeLimits
    snapshot_quality: QualityPolicy
    reference_quality: QualityPolicy
    enroll_jitters: int = 1
    probe_jitters: int = 1
    evidence_jpeg_quality: int = 90


class Pipeline:
    def __init__(
        self,
        detector: FaceDetector,
        encoder: DlibResNetEncoder | OnnxResNetEncoder,
        config: PipelineConfig,
    ) -> None:
        self.detector = detector
        self.encoder = encoder
        self.config = config
        self.model_id = encoder.model_id
        # Templates of other people for s-norm; set by the composition root when configured:
        # a fixed cohort, or ``cohort_source`` (the service's refreshed cohort, which wins).
        self.cohort: Cohort | None = None
        self.cohort_source: Callable[[], Cohort | None] | None = None
        # Five alignment points from FaceMesh (None: dlib's 5-point predictor on the box).
        self.aligner: MeshAligner | None = None

    # -- stages -----------------------------------------------------------------
    def analyze(self, data: bytes, policy: QualityPolicy) -> Analysis:
        """Decode, detect, pick the primary face, align it and measure quality.

        Raises ImageError subclasses for unusable bytes.
        """
        t: dict[str, float] = {}
        with _timed(t, "decode"):
            rgb = decode_image(data, self.config.decode_limits).rgb
        return self.analyze_rgb(rgb, policy, t)

    def analyze_rgb(
        self,
        rgb: RGBImage,
        policy: QualityPolicy,
        timings: dict[str, float] | None = None,
        *,
        mesh: Mesh | None = None,
    ) -> Analysis:
        """As ``analyze`` on decoded pixels. ``mesh``: the face's FaceMesh when the caller
        has it already (a tracked burst frame); used when it lies on the primary face."""
        t = timings if timings is not None else {}
        with _timed(t, "detect"):
            dets = self.detector.detect(rgb)
        primary = primary_face(dets)
        if primary is None:
            report = QualityReport((QualityReason.NO_FACE,))
            return Analysis(rgb, dets, None, report, timings_ms=t)
        need_px = int(primary.bbox.width * policy.extra_face_width_ratio)
        if need_px > 0:
            with _timed(t, "detect"):
                dets = self.detector.detect_down_to(rgb, need_px, dets)
        if mesh is not None and not _on_face(mesh, primary.bbox):
            mesh = None
        with _timed(t, "landmarks"):
            shape, marks, mesh = self.align(rgb, primary, mesh)
            chip = self.encoder.chip(rgb, shape)
        with _timed(t, "quality"):
            extras = extra_people(dets, primary, policy.extra_face_width_ratio)
            report = assess_quality(measure(rgb, primary.bbox, marks.points, len(extras)), policy)
        return Analysis(rgb, dets, primary, report, chip, t, mesh)

    def align(
        self, rgb: RGBImage, det: Detection, mesh: Mesh | None = None
    ) -> tuple[object, Landmarks5, Mesh | None]:
        """dlib's five alignment points for ``det`` and the mesh they came from: from
        FaceMesh when an aligner is set (the BlazeFace default; ``mesh`` given: that
        mesh, no model call), else dlib's 5-point predictor on the box (no mesh)."""
        if self.aligner is not None:
            if mesh is None:
                mesh = self.aligner.mesh(rgb, det)
            shape, marks = self.aligner.from_mesh(mesh, det.bbox)
            return shape, marks, mesh
        shape, marks = self.encoder.landmarks(rgb, det.bbox)
        return shape, marks, None

    def embed(self, analysis: Analysis, jitters: int = 1) -> Embedding:
        if analysis.chip is None:
            raise ValueError("no aligned face to embed")
        with _timed(analysis.timings_ms, "embed"):
            return self.encoder.encode_chip(analysis.chip, jitters)

    # -- FaceVerifier -------------------------------------------------------------
    def enroll(self, photos: Sequence[bytes]) -> Template:
        """Reference template: mean of jittered embeddings over every accepted photo.

        Every photo must pass the reference quality policy; otherwise
        EnrollmentRejected lists each photo's reasons.
        """
        if not photos:
            raise EnrollmentRejected("at least one reference photo is needed")
        rejected: dict[str, list[str]] = {}
        analyses: list[Analysis] = []
        for i, data in enumerate(photos):
            a = self.analyze(data, self.config.reference_quality)
            if a.reasons:
                rejected[str(i)] = list(a.reasons)
            analyses.append(a)
        if rejected:
            raise EnrollmentRejected("reference photo rejected", details={"photos": rejected})
        jit = self.config.enroll_jitters
        vectors = [self.embed(a, jit) for a in analyses]
        # each chip's hash and its mirror image's (a mirrored copy of the photo: issue 17)
        chips = [a.chip for a in analyses if a.chip is not None]
        hashes = tuple(dhash64(c) for c in chips) + tuple(dhash64(c[:, ::-1]) for c in chips)
        mean = np.mean(np.stack(vectors), axis=0)
        stats = self._cohort_stats(mean)
        return Template(
            self.model_id,
            mean,
            source_count=len(vectors),
            jitters=jit,
            perceptual_hashes=hashes,
            cohort_mean_l2=stats.mean_l2 if stats else None,
            cohort_std_l2=stats.std_l2 if stats else None,
        )

    def current_cohort(self) -> Cohort | None:
        cohort = self.cohort_source() if self.cohort_source is not None else self.cohort
        if cohort is None or cohort.model_id != self.model_id:
            return None
        return cohort

    def _cohort_stats(self, vector: Embedding) -> CohortStats | None:
        cohort = self.current_cohort()
        return None if cohort is None else cohort.stats(vector)

    def measure(self, reference: Template, probe: bytes | DecodedImage) -> FaceMeasurement:
        """Measure a probe (bytes, or pixels decoded earlier) against ``reference``."""
        if isinstance(probe, DecodedImage):
            timings = {"decode": probe.decode_ms}
            a = self.analyze_rgb(probe.rgb, self.config.snapshot_quality, timings)
        else:
            a = self.analyze(probe, self.config.snapshot_quality)
        return self.measure_analysis(reference, a)

    def measure_analysis(
        self, reference: Template, a: Analysis, vector: Embedding | None = None
    ) -> FaceMeasurement:
        """Embed an analysed face (unless the face stage gave reasons) and compare it;
        ``vector``: a fused multi-frame probe of that face, compared in its place."""
        if a.reasons:
            return self._measured(a, None, None, None)
        vec = vector if vector is not None else self.embed(a, self.config.probe_jitters)
        with _timed(a.timings_ms, "compare"):
            probe = Template(self.model_id, vec)
            d = template_distance(probe, reference)
            z = self._reference_z(d, reference, vec)
        return self._measured(a, d, z, probe)

    def _reference_z(self, d: float, reference: Template, vec: Embedding) -> float | None:
        """s-norm z of ``d`` against the current cohort, both sides' statistics measured
        live (the reference's own row left out: the service's cohort holds every enrolled
        reference); None without a cohort (the raw limits decide)."""
        cohort = self.current_cohort()
        if cohort is None:
            return None
        return snorm_pair(d, reference.vector, vec, cohort)

    def _measured(
        self, a: Analysis, distance: float | None, z: float | None, probe: Template | None
    ) -> FaceMeasurement:
        crop = None
        if a.chip is not None:
            crop = encode_jpeg(a.chip, self.config.evidence_jpeg_quality)
        return FaceMeasurement(
            model_id=self.model_id,
            quality_reasons=a.reasons,
            reference_l2=distance,
            reference_z=z,
            timings_ms=a.timings_ms,
            face_count=len(a.detections),
            bbox=a.primary.bbox if a.primary else None,
            pixel_sha256=pixel_sha256(a.rgb),
            perceptual_hash=dhash64(a.chip) if a.chip is not None else 0,
            face_crop_jpeg=crop,
            probe=probe,
        )


def _on_face(mesh: Mesh, box: BBox) -> bool:
    """Whether a mesh's centre lies inside ``box`` (the mesh is that face's)."""
    cx, cy = (float(v) for v in np.asarray(mesh)[:, :2].mean(axis=0))
    return box.x1 <= cx <= box.x2 and box.y1 <= cy <= box.y2


def build_verifier(
    model_id: str | None = None,
    config: PipelineConfig | None = None,
    *,
    working_max_side_px: int | None = None,
    models_dir: Path | None = None,
    runtime: str | None = None,
) -> Pipeline:
    """Composition of the real adapters, with sha256-verified weights.

    ``runtime`` picks the descriptor's runtime: "onnx" (default: dlib's net on
    onnxruntime, built on first use if missing) or "dlib" (the reference);
    when None, the environment variable PROCTOR_RUNTIME decides.
    """
    import os

    from proctor.embedding.registry import model_spec
    from proctor.errors import ModelUnavailable

    spec = model_spec(model_id, models_dir)
    rt = (runtime or os.environ.get("PROCTOR_RUNTIME") or spec.runtime).strip().lower()
    if spec.runtimes and rt not in spec.runtimes:
        # e.g. dlib's own runtime for the 8-bit model: that would be another network
        raise ModelUnavailable(
            f"model {spec.model_id} runs on {', '.join(spec.runtimes)}, not {rt!r}"
        )
    encoder: DlibResNetEncoder | OnnxResNetEncoder
    if rt == "onnx" and spec.onnx is not None:
        from proctor.embedding.onnx_resnet import OnnxResNetEncoder

        encoder = OnnxResNetEncoder(spec)
    elif rt in ("dlib", "onnx"):
        from proctor.embedding.dlib_resnet import DlibResNetEncoder

        encoder = DlibResNetEncoder(spec)
    else:
        raise ModelUnavailable(f"unknown runtime {rt!r}: use onnx or dlib")
    cfg = config or PipelineConfig(
        DecodeLimits(), QualityPolicy.snapshot(), QualityPolicy.reference()
    )
    detector = build_detector(working_max_side_px, models_dir)
    pipe = Pipeline(detector, encoder, cfg)
    if getattr(detector, "name", "") == "blazeface":
        from proctor.landmarks.facemesh import FaceMesh
        from proctor.landmarks.mesh_align import MeshAligner

        pipe.aligner = MeshAligner(FaceMesh(models_dir))
    return pipe


DETECTORS = ("blazeface", "hog")


def build_detector(
    working_max_side_px: int | None = None,
    models_dir: Path | None = None,
    name: str | None = None,
) -> FaceDetector:
    """The face detector: BlazeFace short range (default) or dlib HOG (``PROCTOR_DETECTOR=hog``).

    ``working_max_side_px`` applies to HOG only. With BlazeFace, ``build_verifier`` also
    aligns from FaceMesh; with HOG, dlib's 5-point predictor aligns as before.
    """
    import os

    from proctor.errors import ModelUnavailable

    which = (name or os.environ.get("PROCTOR_DETECTOR") or DETECTORS[0]).strip().lower()
    if which == "blazeface":
        from proctor.detection.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(models_dir)
    if which == "hog":
        from proctor.detection.dlib_hog import DlibHogDetector, HogPolicy

        hog = HogPolicy() if working_max_side_px is None else HogPolicy(working_max_side_px)
        return DlibHogDetector(hog)
    raise ModelUnavailable(f"unknown detector {which!r}: use blazeface or hog")
