"""BlazeFace face detection (MediaPipe, Apache-2.0) on LiteRT: the default detector.

The frame is letterboxed into the model's square (aspect kept, black bars), run
once, decoded (``proctor.detection.ssd``) and mapped back to frame pixels: the box
and the six keypoints (eyes, nose tip, mouth centre, ear tragions).

Two models, same decoding:
- short range (128 px input, faces within ~2 m of a webcam): every frame.
- full range (192 px input, a 48×48 anchor grid): when the short model finds no
  face at all (a face far from the camera), and in ``detect_down_to`` when the
  caller needs faces smaller than the short model finds (a second person further
  back, for ``multiple_faces``) or a weak extra face needs confirming.

Boxes are returned in dlib HOG's box convention (``to_dlib_box``): the quality
rules (face size, extra people) and dlib's 5-point alignment were tuned on HOG's
boxes, so the mapping keeps them on the scale they were calibrated on. The raw
BlazeFace box and keypoints stay on the ``Detection`` for the face mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from proctor.detection.litert import TfliteModel, load_model
from proctor.detection.select import iou
from proctor.detection.ssd import FULL_RANGE, SHORT_RANGE, RawFaces, SsdSpec, decode, weighted_nms
from proctor.types import BBox, Detection, RGBImage

# BlazeFace box → dlib HOG box, fitted on the LFW and East-Asian dev photos where both
# detectors found exactly one face (``proctor.detection.boxfit``; the fit and its
# residuals are in models/cards/blazeface.md). Centre offsets and width in units of
# the BlazeFace box width; HOG's boxes are square.
# Fit (medians): East-Asian dev 285 faces dx 0.001, dy -0.033, scale 0.994; LFW dev 364
# faces dx 0.017, dy -0.039, scale 0.996.
DLIB_BOX_DX = 0.01
DLIB_BOX_DY = -0.036
DLIB_BOX_SCALE = 0.995

# Downscale with pixel-area averaging (MediaPipe samples bilinearly, which aliases).
AREA_DOWNSCALE = True

# Frames below this short side are not worth a second, full-range pass.
FULL_RANGE_MIN_FACE_PX = 20


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Frame pixels → the model's unit square: ``u = (x * scale + pad_x) / size``."""

    scale: float
    pad_x: float
    pad_y: float
    size: int

    def to_frame(self, pts: np.ndarray) -> np.ndarray:
        out = pts.astype(np.float64) * self.size
        out[..., 0] = (out[..., 0] - self.pad_x) / self.scale
        out[..., 1] = (out[..., 1] - self.pad_y) / self.scale
        return out


def letterbox(rgb: RGBImage, size: int) -> tuple[np.ndarray, Letterbox]:
    """(1, size, size, 3) float32 in [-1, 1], the frame centred with black bars."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 and AREA_DOWNSCALE else cv2.INTER_LINEAR
    small = cv2.resize(rgb, (nw, nh), interpolation=interp)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[py : py + nh, px : px + nw] = small
    tensor = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0
    return tensor[None], Letterbox(nw / w, float(px), float(py), size)


def to_dlib_box(box: np.ndarray, width: int, height: int) -> BBox | None:
    """A BlazeFace box (x1, y1, x2, y2 in frame px) in dlib HOG's convention, clipped."""
    bw = float(box[2] - box[0])
    cx = (box[0] + box[2]) / 2.0 + DLIB_BOX_DX * bw
    cy = (box[1] + box[3]) / 2.0 + DLIB_BOX_DY * bw
    half = DLIB_BOX_SCALE * bw / 2.0
    x1, y1 = max(0, round(cx - half)), max(0, round(cy - half))
    x2, y2 = min(width, round(cx + half)), min(height, round(cy + half))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return BBox(x1, y1, x2, y2)


class BlazeFaceModel:
    """One BlazeFace model: frame in, faces (frame px boxes, keypoints, scores) out."""

    def __init__(self, spec: SsdSpec, model: TfliteModel) -> None:
        if model.input_shape[1:3] != (spec.input_px, spec.input_px):
            raise ValueError(f"{model.path.name} does not take {spec.input_px} px input")
        self.spec = spec
        self.model = model
        self._anchors = spec.anchors()

    def raw(self, rgb: RGBImage) -> tuple[RawFaces, Letterbox]:
        """Faces in the model's unit square after NMS, and the letterbox to map them back."""
        tensor, lb = letterbox(rgb, self.spec.input_px)
        out = self.model.run(tensor)
        # Output names differ between the two models; their shapes do not: (1, N, 16), (1, N, 1).
        reg = next(v for v in out.values() if v.shape[-1] > 1)
        logits = next(v for v in out.values() if v.shape[-1] == 1)
        faces = decode(reg, logits, self.spec, self._anchors)
        return weighted_nms(faces, self.spec.nms_iou), lb

    def faces(self, rgb: RGBImage) -> list[Detection]:
        raw, lb = self.raw(rgb)
        h, w = rgb.shape[:2]
        boxes = lb.to_frame(raw.boxes.reshape(-1, 2, 2)).reshape(-1, 4)
        kps = lb.to_frame(raw.keypoints)
        out: list[Detection] = []
        for box, kp, score in zip(boxes, kps, raw.scores, strict=True):
            bbox = to_dlib_box(box, w, h)
            if bbox is None:
                continue
            points = tuple((float(x), float(y)) for x, y in kp)
            raw_box = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
            out.append(Detection(bbox, float(score), keypoints=points, raw_box=raw_box))
        return out


class BlazeFaceDetector:
    """Short range on every frame; full range only when smaller faces must be seen.

    Same interface as ``DlibHogDetector`` (``detect``, ``detect_down_to``).
    """

    name = "blazeface"

    def __init__(self, models_dir: Path | None = None, threads: int = 1) -> None:
        self.short = BlazeFaceModel(SHORT_RANGE, load_model("blazeface_short", models_dir, threads))
        self._models_dir = models_dir
        self._threads = threads
        self._full: BlazeFaceModel | None = None
        # Weak short-range faces of the last frame ``detect`` saw, held for confirmation.
        self._held: tuple[RGBImage | None, list[Detection]] = (None, [])

    @property
    def full(self) -> BlazeFaceModel:
        if self._full is None:
            model = load_model("blazeface_full", self._models_dir, self._threads)
            self._full = BlazeFaceModel(FULL_RANGE, model)
        return self._full

    def detect(self, image: RGBImage) -> list[Detection]:
        """Short-range faces; weak ones (score < ``CONFIRM_SCORE``) only when no face is sure;
        full-range faces when the short model finds none.

        A weak detection beside a sure face is most often background texture, and a
        large one would be taken for the primary face (the largest); it is held back
        for ``detect_down_to`` to confirm with the full range model. A lone weak face
        is kept: it is usually a real face, small, blurred or turned.
        """
        faces = self.short.faces(image)
        sure = [d for d in faces if d.score >= CONFIRM_SCORE]
        self._held = (image, [d for d in faces if d.score < CONFIRM_SCORE] if sure else [])
        if not faces:
            # Nothing near: a face far from the camera is reported (``face_too_small``,
            # "come closer") rather than missed (``no_face``). Costs one full-range pass
            # on frames without a face only.
            return self.full.faces(image)
        return sure or faces

    @property
    def policy(self) -> str:
        """What decides this detector's output (cache keys of calibration runs use it)."""
        return (
            f"blazeface(short={SHORT_RANGE!r}, full={FULL_RANGE!r}, area={AREA_DOWNSCALE}, "
            f"box=({DLIB_BOX_DX}, {DLIB_BOX_DY}, {DLIB_BOX_SCALE}), "
            f"confirm={CONFIRM_SCORE}, small={SHORT_MIN_FACE_FRACTION})"
        )

    def detect_down_to(
        self, image: RGBImage, min_face_px: int, found: list[Detection]
    ) -> list[Detection]:
        """Faces the ``multiple_faces`` rule may count, down to ``min_face_px``.

        Two gaps of the short model are closed with one full-range pass:
        - faces narrower than ``SHORT_MIN_FACE_FRACTION`` of the frame's longer side
          (a second person further back): the short model misses them;
        - weak extra faces (score below ``CONFIRM_SCORE``): the short model's false
          positives on textured backgrounds sit there. They count only when the full
          range model finds a face at the same place.
        ``found`` is kept as it is. Without either gap, no extra pass.
        """
        held_image, held = self._held
        weak = held if held_image is image else []
        side = max(image.shape[:2])
        small = FULL_RANGE_MIN_FACE_PX <= min_face_px < side * SHORT_MIN_FACE_FRACTION
        if not weak and not small:
            return found
        full = self.full.faces(image)
        kept = list(found)
        kept += [d for d in weak if any(iou(d.bbox, f.bbox) >= 0.3 for f in full)]
        for d in full:
            if all(iou(d.bbox, m.bbox) < 0.3 for m in kept):
                kept.append(d)
        return kept


# The short model finds faces down to ~12% of the frame's longer side (it missed one of
# 11%; found every face from 13% on the shared 640×480 frames, the full range model's
# faces taken as truth): below 14%, the full range model looks too.
SHORT_MIN_FACE_FRACTION = 0.14
# A short-range extra face below this score needs the full range model's confirmation
# (a 0.58 false positive on a building behind a face, frames/640x480/frame069.jpg).
CONFIRM_SCORE = 0.75
