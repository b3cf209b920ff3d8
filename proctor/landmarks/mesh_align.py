"""Alignment for dlib's ResNet from FaceMesh: the five points dlib's chip needs, from the mesh.

With BlazeFace boxes, dlib's own 5-point predictor sees boxes of another shape than
the HOG boxes it was trained on; mapping the box (``blazeface.to_dlib_box``) is not
enough (EER and FNMR at FMR 1% got worse on both dev sets, models/cards/facemesh.md).
The mesh, run on BlazeFace's rotated face square, places the eye corners and nose base
independently of the box; ``five_points_from_mesh`` takes them, and dlib cuts the
150 px chip from them as before.

The square: MediaPipe's (1.5× BlazeFace's box, turned by its eye keypoints) sits
lower and smaller than the square of the mesh it yields (MediaPipe's tracking square,
the mesh's own extent): on ~600 dev photos (the first 400 East-Asian and 200 LFW
rows of images.tsv) the mesh's square
was 5.3% larger (median; p10–p90 0.1–11.7%) and 3.1% of its side higher (p10–p90
0.4–5.0%), with no sideways shift (±2%). ``alignment_roi`` moves the detection's square
by those medians, so the one mesh pass sees the face framed as a tracked frame does. On
the dev pairs (s-norm, as ``proctor bench accuracy``): East-Asian EER 2.21% / FNMR at
FMR 1% 3.46% against 2.83% / 3.77% from MediaPipe's square and 2.52% / 4.40% from a
second pass on the first mesh's square (one more model call); LFW 1.33% / 1.67%
against 1.33% / 1.33% and 1.33% / 1.67% (models/cards/facemesh.md).
"""

from __future__ import annotations

import dlib
import numpy as np

from proctor.detection.dlib_hog import bbox_to_rect
from proctor.embedding.dlib_resnet import Landmarks5
from proctor.landmarks.align import five_points_from_mesh
from proctor.landmarks.facemesh import FaceMesh, Mesh, Roi, roi_from_detection
from proctor.types import BBox, Detection, RGBImage


class MeshAligner:
    name = "facemesh-roi-fit"

    def __init__(self, mesh: FaceMesh) -> None:
        self.model = mesh

    def mesh(self, image: RGBImage, det: Detection) -> Mesh:
        """The face's mesh from the detection's square moved to where the mesh's own
        square lies (``alignment_roi``): one model call."""
        return self.model.run(image, alignment_roi(det)).mesh

    def from_mesh(self, mesh: Mesh, box: BBox) -> tuple[dlib.full_object_detection, Landmarks5]:
        """dlib's shape (five points; ``box`` only labels it) and the points, from a mesh."""
        pts = five_points_from_mesh(mesh)
        parts = dlib.points([dlib.point(round(x), round(y)) for x, y in np.asarray(pts)])
        shape = dlib.full_object_detection(bbox_to_rect(box), parts)
        return shape, Landmarks5(tuple((float(x), float(y)) for x, y in pts))

    def landmarks(
        self, image: RGBImage, det: Detection
    ) -> tuple[dlib.full_object_detection, Landmarks5]:
        return self.from_mesh(self.mesh(image, det), det.bbox)


# The detection square → the mesh's own square (medians over ~600 dev photos, see above):
# side ×1.053, centre moved 0.031 of the side towards the top of the face.
ROI_SIZE_FIT = 1.053
ROI_UP_FIT = 0.031


def alignment_roi(det: Detection) -> Roi:
    """MediaPipe's square for ``det`` moved to where the mesh's own square lies (BlazeFace
    detections; a box without keypoints keeps MediaPipe's square)."""
    roi = roi_from_detection(det)
    if det.raw_box is None:
        return roi
    _, v = roi.axes()
    cx, cy = roi.cx - ROI_UP_FIT * roi.size * v[0], roi.cy - ROI_UP_FIT * roi.size * v[1]
    return Roi(float(cx), float(cy), roi.size * ROI_SIZE_FIT, roi.angle)
