"""MediaPipe FaceMesh on LiteRT: 468 face points with depth, from a face box or the last mesh.

The model sees a 192×192 crop of a rotated square around the face (MediaPipe's
``face_landmark_front_cpu`` graph): the square is 1.5× the face's size, centred on
it, turned so the eyes are level. Its ``Roi`` comes either from a detection (box and
eye keypoints) or from the previous frame's mesh (tracking: no detector call while
the face stays in view). The model also gives a face-presence score: below
``PRESENCE_MIN`` the track is lost and the caller re-detects.

Points are returned in frame pixels: x, y, and z (depth, same scale as x; smaller is
nearer the camera, 0 near the face's centre plane).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from proctor.detection.litert import TfliteModel, load_model
from proctor.types import BBox, Detection, RGBImage

Mesh = npt.NDArray[np.float64]
"""(468, 3) x, y, z in frame pixels."""

INPUT_PX = 192
ROI_SCALE = 1.5
PRESENCE_MIN = 0.5
# Mesh indices of the outer eye corners (the subject's right, on the image's left; and left).
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263


@dataclass(frozen=True, slots=True)
class Roi:
    """A square of side ``size`` px centred at (cx, cy), turned by ``angle`` rad (eyes level)."""

    cx: float
    cy: float
    size: float
    angle: float

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.array([c, s]), np.array([-s, c])

    def crop_to_frame(self) -> np.ndarray:
        """2×3 affine map from crop pixels to frame pixels."""
        u, v = self.axes()
        k = self.size / INPUT_PX
        origin = np.array([self.cx, self.cy]) - (u + v) * self.size / 2.0
        return np.array([[u[0] * k, v[0] * k, origin[0]], [u[1] * k, v[1] * k, origin[1]]])


def _angle(a: tuple[float, float] | np.ndarray, b: tuple[float, float] | np.ndarray) -> float:
    return math.atan2(float(b[1]) - float(a[1]), float(b[0]) - float(a[0]))


def roi_from_detection(det: Detection) -> Roi:
    """From BlazeFace's box and eye keypoints; a HOG box (no keypoints) gives an upright square."""
    if det.raw_box is not None:
        x1, y1, x2, y2 = det.raw_box
    else:
        x1, y1, x2, y2 = (float(v) for v in det.bbox.as_tuple())
    angle = _angle(det.keypoints[0], det.keypoints[1]) if len(det.keypoints) >= 2 else 0.0
    return _square((x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1, angle)


def roi_from_box(box: BBox) -> Roi:
    return roi_from_detection(Detection(box, 1.0))


def roi_from_mesh(mesh: Mesh) -> Roi:
    """MediaPipe's tracking ROI: the mesh's extent, turned by its eye-corner line."""
    angle = _angle(mesh[RIGHT_EYE_OUTER, :2], mesh[LEFT_EYE_OUTER, :2])
    u, v = (
        np.array([math.cos(angle), math.sin(angle)]),
        np.array([-math.sin(angle), math.cos(angle)]),
    )
    pu, pv = mesh[:, :2] @ u, mesh[:, :2] @ v
    cu, cv = (pu.min() + pu.max()) / 2.0, (pv.min() + pv.max()) / 2.0
    centre = cu * u + cv * v
    return _square(float(centre[0]), float(centre[1]), float(np.ptp(pu)), float(np.ptp(pv)), angle)


def _square(cx: float, cy: float, w: float, h: float, angle: float) -> Roi:
    return Roi(cx, cy, max(w, h) * ROI_SCALE, angle)


@dataclass(frozen=True, slots=True)
class MeshResult:
    mesh: Mesh
    presence: float
    roi: Roi

    @property
    def found(self) -> bool:
        return self.presence >= PRESENCE_MIN


class FaceMesh:
    """The 468-point model; one call per frame (about 2 ms on one core, crop included)."""

    def __init__(self, models_dir: Path | None = None, threads: int = 1) -> None:
        self.model: TfliteModel = load_model("facemesh", models_dir, threads)
        if self.model.input_shape[1:3] != (INPUT_PX, INPUT_PX):
            raise ValueError("face_landmark.tflite does not take a 192 px input")

    def crop(self, rgb: RGBImage, roi: Roi) -> np.ndarray:
        """The model's (1, 192, 192, 3) float input in [0, 1]; outside the frame is black."""
        m = roi.crop_to_frame()
        patch = cv2.warpAffine(
            rgb,
            m,
            (INPUT_PX, INPUT_PX),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        return (patch.astype(np.float32) * (1.0 / 255.0))[None]

    def run(self, rgb: RGBImage, roi: Roi) -> MeshResult:
        out = self.model.run(self.crop(rgb, roi))
        coords = next(v for v in out.values() if v.size == 468 * 3).reshape(468, 3)
        logit = float(next(v for v in out.values() if v.size == 1).reshape(-1)[0])
        presence = 1.0 / (1.0 + math.exp(-max(-100.0, min(100.0, logit))))
        m = roi.crop_to_frame()
        xy = coords[:, :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
        z = coords[:, 2:3].astype(np.float64) * (roi.size / INPUT_PX)
        return MeshResult(np.hstack([xy, z]), presence, roi)
