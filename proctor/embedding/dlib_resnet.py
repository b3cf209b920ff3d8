"""dlib's 128-D ResNet over 5-point aligned 150 px chips.

``encode_chip`` on ``get_face_chip(img, shape, 150, 0.25)`` is what
``compute_face_descriptor(img, shape)`` does internally, so embeddings equal
face_recognition's for the same box (parity-tested to 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import dlib
import numpy as np

from proctor.detection.dlib_hog import bbox_to_rect
from proctor.embedding.registry import ModelSpec, verify_files
from proctor.types import BBox, Embedding, RGBImage

CHIP_SIZE_PX = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True, slots=True)
class Landmarks5:
    """Five points (x, y) in original pixels: right eye outer/inner, left eye outer/inner, nose."""

    points: tuple[tuple[float, float], ...]


class FivePointAligner:
    """dlib's 5-point landmarks on the original image and the aligned 150 px chip.

    Shared by every runtime of the ResNet, so they all see identical chips.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.model_id = spec.model_id
        self._shape = dlib.shape_predictor(str(spec.file("landmarks5")))

    def landmarks(
        self, image: RGBImage, box: BBox
    ) -> tuple[dlib.full_object_detection, Landmarks5]:
        shape = self._shape(image, bbox_to_rect(box))
        pts = tuple(
            (float(shape.part(i).x), float(shape.part(i).y)) for i in range(shape.num_parts)
        )
        return shape, Landmarks5(pts)

    def chip(self, image: RGBImage, shape: dlib.full_object_detection) -> RGBImage:
        chip: RGBImage = dlib.get_face_chip(image, shape, size=CHIP_SIZE_PX, padding=CHIP_PADDING)
        return chip


class DlibResNetEncoder(FivePointAligner):
    def __init__(self, spec: ModelSpec, verify: bool = True) -> None:
        if verify:
            verify_files(spec)
        super().__init__(spec)
        self._net = dlib.face_recognition_model_v1(str(spec.file("resnet")))

    def encode_chip(self, chip: RGBImage, jitters: int = 1) -> Embedding:
        vec = self._net.compute_face_descriptor(chip, jitters)
        return np.asarray(vec, dtype=np.float64)
