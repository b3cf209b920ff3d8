"""MediaPipe's iris landmark model on LiteRT: refined eye contours (eyelids) for a FaceMesh.

FaceMesh V1 places the eyelids coarsely: on real blinks its eye aspect ratio drops by
~15% where dlib's 68 points drop by ~50%, and the judge's 20% drop test missed blinks
(models/cards/iris.md). MediaPipe refines the eyes with a second model that sees a
64×64 crop of each eye (its ``iris_landmark_cpu`` graph, the "refine landmarks" option
of FaceMesh): 71 eye and brow contour points and 5 iris points per eye. The first 16
contour points are the eyelids (lower lid corner to corner, then the upper lid), and
replace the mesh's own points at ``EYE_CONTOUR_FROM_MESH`` (MediaPipe's
``update_face_landmarks`` mapping), so every measure that reads the mesh (the 68-point
view, the eye aspect ratio) reads the refined lids.

The crop follows the graph: a square 2.3× the eye-corner distance, centred between the
corners and turned with them; the model is trained on the image's left eye, so the
other eye is mirrored in and out. Pixels are read with half-pixel centres (the crop's
pixel i covers [i, i + 1) of the 64 px square, as MediaPipe's cropping does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from proctor.detection.litert import TfliteModel, load_model
from proctor.types import RGBImage

INPUT_PX = 64
ROI_SCALE = 2.3
N_CONTOUR = 71
N_LIDS = 16
# The mesh indices the model's first 16 contour points replace: lower lid from corner to
# corner (9), then the upper lid without the corners (7). The image's left eye (the
# subject's right) is the model's own; the image's right eye is mirrored.
EYE_CONTOUR_FROM_MESH: tuple[tuple[int, ...], tuple[int, ...]] = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
# The eye corners the crop is built from, per eye: (first, second) along the image's x.
_CORNERS = ((33, 133), (362, 263))

Mesh = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EyeCrop:
    """2×3 affine from the crop's continuous coordinates to the frame's (both pixel-edge
    based: (0, 0) is the top-left corner of the first pixel)."""

    to_frame: npt.NDArray[np.float64]


def eye_crop(mesh: Mesh, eye: int) -> EyeCrop:
    """The model's square for ``eye`` (0: the image's left eye, 1: its right), mirrored
    for eye 1, from the mesh's eye corners."""
    a, b = (np.asarray(mesh[i, :2], dtype=np.float64) for i in _CORNERS[eye])
    angle = math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
    # MediaPipe's rect: the corners' axis-aligned box, turned by their angle, scaled 2.3×
    # and squared on its long side.
    side = ROI_SCALE * max(abs(float(b[0] - a[0])), abs(float(b[1] - a[1])), 1.0)
    u = np.array([math.cos(angle), math.sin(angle)])
    v = np.array([-math.sin(angle), math.cos(angle)])
    if eye == 1:
        u = -u
    k = side / INPUT_PX
    centre = (a + b) / 2.0
    origin = centre - (u + v) * side / 2.0
    return EyeCrop(np.array([[u[0] * k, v[0] * k, origin[0]], [u[1] * k, v[1] * k, origin[1]]]))


class IrisModel:
    """The 64 px eye model; two calls per frame (one per eye)."""

    def __init__(self, models_dir: Path | None = None, threads: int = 1) -> None:
        self.model: TfliteModel = load_model("iris", models_dir, threads)
        if self.model.input_shape[1:3] != (INPUT_PX, INPUT_PX):
            raise ValueError("iris_landmark.tflite does not take a 64 px input")

    def crop(self, rgb: RGBImage, crop: EyeCrop) -> npt.NDArray[np.float32]:
        """The model's (1, 64, 64, 3) float input in [0, 1]; outside the frame: the edge
        pixels repeated (the graph's ``BORDER_REPLICATE``)."""
        m = crop.to_frame.copy()
        # cv2 samples destination pixel i at M·i with pixel centres on integers: shift both
        # sides by half a pixel to sample the centre of the crop's pixel.
        m[:, 2] += (m[:, 0] + m[:, 1]) * 0.5 - 0.5
        patch = cv2.warpAffine(
            rgb,
            m,
            (INPUT_PX, INPUT_PX),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return (patch.astype(np.float32) * (1.0 / 255.0))[None]

    def contour(self, rgb: RGBImage, crop: EyeCrop) -> npt.NDArray[np.float64]:
        """(71, 2) eye and brow contour points in frame pixels."""
        out = self.model.run(self.crop(rgb, crop))
        coords = next(v for v in out.values() if v.size == N_CONTOUR * 3)
        xy = coords.reshape(N_CONTOUR, 3)[:, :2].astype(np.float64)
        m = crop.to_frame
        frame_xy: npt.NDArray[np.float64] = xy @ m[:, :2].T + m[:, 2]
        return frame_xy

    def refine(self, rgb: RGBImage, mesh: Mesh, eyes: tuple[int, ...] = (0, 1)) -> Mesh:
        """A copy of ``mesh`` whose eyelid points (x, y) of ``eyes`` are the iris model's."""
        out = np.array(mesh, dtype=np.float64, copy=True)
        for eye in eyes:
            lids = self.contour(rgb, eye_crop(mesh, eye))[:N_LIDS]
            out[list(EYE_CONTOUR_FROM_MESH[eye]), :2] = lids
        return out
