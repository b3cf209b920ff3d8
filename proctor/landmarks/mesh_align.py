"""Alignment for dlib's ResNet from FaceMesh: the five points dlib's chip needs, from the mesh.

With BlazeFace boxes, dlib's own 5-point predictor sees boxes of another shape than
the HOG boxes it was trained on; mapping the box (``blazeface.to_dlib_box``) is not
enough (EER and FNMR at FMR 1% got worse on both dev sets, models/cards/facemesh.md).
The mesh, run on BlazeFace's rotated face square, places the eye corners and nose
base independently of the box; ``five_points_from_mesh`` moves them to dlib's
placement, and dlib cuts the 150 px chip from them as before.
"""

from __future__ import annotations

import dlib
import numpy as np

from proctor.detection.dlib_hog import bbox_to_rect
from proctor.embedding.dlib_resnet import Landmarks5
from proctor.landmarks.align import five_points_from_mesh
from proctor.landmarks.facemesh import FaceMesh, Mesh, roi_from_detection
from proctor.types import BBox, Detection, RGBImage


class MeshAligner:
    name = "facemesh"

    def __init__(self, mesh: FaceMesh) -> None:
        self.model = mesh

    def mesh(self, image: RGBImage, det: Detection) -> Mesh:
        """The face's mesh from the detection's square (one model call)."""
        return self.model.run(image, roi_from_detection(det)).mesh

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
