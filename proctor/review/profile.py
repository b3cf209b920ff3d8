"""The review profile: stricter and slower than the online path, for re-verifying evidence.

* detection: dlib HOG on the full-resolution crop with upsampling (no working copy);
* landmarks: MediaPipe's FaceMesh on the HOG box, read in the 68-point order, for pose
  (yaw from the nose tip against the eye corners; issue 19: dlib's 68-point predictor,
  whose training data excludes commercial use, is no longer loaded), the 5-point
  predictor for alignment (as enrolment);
* jitters: a fixed, deterministic set of mirrored, shifted and scaled copies of
  the aligned chip, averaged per runtime (dlib's own jitter draws random copies,
  which would make two engines disagree);
* models: every model in the registry on every runtime it lists.

Crops are RGB ``uint8``; sizes in pixels; angles in degrees. Nothing here logs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from proctor.detection.dlib_hog import DlibHogDetector, HogPolicy, bbox_to_rect
from proctor.embedding.dlib_resnet import CHIP_PADDING, CHIP_SIZE_PX
from proctor.embedding.registry import ModelSpec, load_registry, model_spec
from proctor.errors import ProctorError
from proctor.imaging.decode import DecodeLimits, decode_image, pixel_sha256
from proctor.imaging.hashing import dhash64
from proctor.landmarks.facemesh import FaceMesh
from proctor.landmarks.ibug68 import to_ibug68
from proctor.landmarks.tracking import MeshTracker
from proctor.review.ports import Analysed
from proctor.review.report import SnapshotMeasure
from proctor.types import RGBImage

# (scale, dx px, dy px, mirror) applied to the 150 px chip, in this order.
JITTERS: tuple[tuple[float, int, int, bool], ...] = (
    (1.0, 0, 0, False),
    (1.0, 0, 0, True),
    (1.04, 0, 0, False),
    (0.96, 0, 0, False),
    (1.0, 3, 0, False),
    (1.0, -3, 0, False),
    (1.0, 0, 3, False),
    (1.0, 0, -3, False),
)


@dataclass(frozen=True, slots=True)
class ReviewProfile:
    """What the review re-runs. Empty ``model_ids``/``runtimes`` mean every available one."""

    model_ids: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    upsample: int = 1
    jitters: int = 5
    models_dir: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.jitters <= len(JITTERS):
            raise ValueError(f"jitters must be in 1..{len(JITTERS)}")

    def hog_policy(self) -> HogPolicy:
        return HogPolicy(
            working_max_side_px=0,
            upsample=self.upsample,
            retry_upsample=self.upsample,
            max_doublings=0,
            max_search_side_px=0,
        )

    def engines(self) -> list[tuple[str, str]]:
        """(model_id, runtime) pairs this profile runs, in a stable order."""
        mdir = Path(self.models_dir) if self.models_dir else None
        reg = load_registry(mdir)
        models = reg.get("models", {})
        assert isinstance(models, dict)
        out: list[tuple[str, str]] = []
        for mid in self.model_ids or tuple(sorted(models)):
            entry = models[mid]
            listed = tuple(entry.get("runtimes", (entry.get("runtime", "dlib"),)))
            for rt in self.runtimes or listed:
                if rt in listed:
                    out.append((mid, rt))
        return out


def jittered(chip: RGBImage, n: int) -> np.ndarray:
    """``n`` deterministic variants of a chip (N×150×150×3 uint8)."""
    h, w = chip.shape[:2]
    out = []
    for scale, dx, dy, mirror in JITTERS[:n]:
        img = chip[:, ::-1] if mirror else chip
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
        m[0, 2] += dx
        m[1, 2] += dy
        out.append(
            cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), borderMode=cv2.BORDER_REFLECT)
        )
    return np.stack(out).astype(np.uint8)


class _Runtime:
    def __init__(self, spec: ModelSpec, runtime: str) -> None:
        self.key = f"{spec.model_id}/{runtime}"
        self._onnx: Any = None
        self._net: Any = None
        if runtime == "onnx":
            from proctor.embedding.onnx_resnet import OnnxResNetEncoder

            self._onnx = OnnxResNetEncoder(spec, verify=False)
        else:
            self._net = dlib.face_recognition_model_v1(str(spec.file("resnet")))

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if self._onnx is not None:
            vecs = np.asarray(self._onnx.encode_chips(chips), dtype=np.float64)
        else:
            descs = self._net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
            vecs = np.asarray([np.asarray(d, dtype=np.float64) for d in descs])
        return np.asarray(vecs.mean(axis=0), dtype=np.float64)


class ReviewAnalyzer:
    """Built once per worker process; analyses evidence crops under the review profile."""

    def __init__(self, profile: ReviewProfile) -> None:
        self.profile = profile
        mdir = Path(profile.models_dir) if profile.models_dir else None
        self.detector = DlibHogDetector(profile.hog_policy())
        pairs = profile.engines()
        spec = model_spec(pairs[0][0], mdir)
        self._sp5 = dlib.shape_predictor(str(spec.file("landmarks5")))
        self._mesh = MeshTracker(FaceMesh(mdir), self.detector.detect)
        self.runtimes = [_Runtime(model_spec(m, mdir), rt) for m, rt in pairs]
        self.limits = DecodeLimits()

    def analyse(self, evidence_id: str, data: bytes) -> Analysed:
        try:
            rgb = decode_image(data, self.limits).rgb
        except ProctorError as exc:
            return Analysed(SnapshotMeasure(evidence_id, exc.code))
        sha, phash = pixel_sha256(rgb), dhash64(rgb)
        dets = self.detector.detect(rgb)
        if not dets:
            return Analysed(
                SnapshotMeasure(evidence_id, "ok", 0, pixel_sha256=sha, perceptual_hash=phash)
            )
        box = max(dets, key=lambda d: d.bbox.area).bbox
        rect = bbox_to_rect(box)
        pts = to_ibug68(self._mesh.from_box(rgb, box).mesh)
        chip = dlib.get_face_chip(
            rgb, self._sp5(rgb, rect), size=CHIP_SIZE_PX, padding=CHIP_PADDING
        )
        batch = jittered(np.asarray(chip, dtype=np.uint8), self.profile.jitters)
        vectors = {r.key: r.embed(batch) for r in self.runtimes}
        sharp, bright = _sharpness_brightness(rgb, box.x1, box.y1, box.x2, box.y2)
        m = SnapshotMeasure(
            evidence_id,
            "ok",
            face_count=len(dets),
            face_px=int(box.width),
            yaw_deg=yaw_from_68(pts),
            sharpness=sharp,
            brightness=bright,
            pixel_sha256=sha,
            perceptual_hash=phash,
        )
        return Analysed(m, vectors)


def yaw_from_68(pts: np.ndarray) -> float:
    """Approximate yaw (deg): nose offset from the eye-corner midpoint over half the eye span."""
    left, right, nose = pts[36], pts[45], pts[30]
    span = float(np.linalg.norm(right - left))
    if span <= 0:
        return 0.0
    mid = (left + right) / 2.0
    ratio = float(np.clip((nose[0] - mid[0]) / (span / 2.0), -1.0, 1.0))
    return math.degrees(math.asin(ratio))


def _sharpness_brightness(rgb: RGBImage, x1: int, y1: int, x2: int, y2: int) -> tuple[float, float]:
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    face = rgb[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else rgb
    grey = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var()), float(grey.mean())
