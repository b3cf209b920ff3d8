"""BlazeFace's single-shot decoding, in numpy: anchors, box/keypoint decoding, weighted NMS.

Pure (numpy only): the LiteRT adapter (``proctor.detection.blazeface``) feeds it the
two raw output tensors and maps its results from the model's letterboxed square back
to the frame. The constants are MediaPipe's (``face_detection_short_range.pbtxt`` and
``face_detection_full_range.pbtxt`` in the MediaPipe source tree): SSD anchors with a
fixed unit size, box and keypoint offsets in input pixels relative to the anchor
centre, a sigmoid score, and a score-weighted NMS that blends overlapping boxes
instead of dropping them (it steadies boxes from frame to frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

# Keypoint order of BlazeFace's 6 points (the subject's right eye is on the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear", "left_ear")


@dataclass(frozen=True, slots=True)
class SsdSpec:
    """One BlazeFace model's input size, anchor layout and decoding thresholds."""

    input_px: int
    strides: tuple[int, ...]
    # Anchors per cell, per layer; MediaPipe's "interpolated_scale_aspect_ratio" 1.0
    # adds a second anchor per cell on the short-range model.
    anchors_per_cell: int
    min_score: float
    nms_iou: float = 0.3
    num_keypoints: int = 6

    def anchors(self) -> FloatArray:
        """(N, 2) anchor centres in [0, 1], in the model's output order.

        Consecutive layers with the same stride share one grid (MediaPipe's
        SsdAnchorsCalculator): short range has strides 8, 16, 16, 16, so a 16×16
        grid with 2 anchors per cell, then an 8×8 grid with 6; 896 in all.
        """
        centres: list[FloatArray] = []
        i = 0
        while i < len(self.strides):
            stride = self.strides[i]
            same = 1
            while i + same < len(self.strides) and self.strides[i + same] == stride:
                same += 1
            cells = -(-self.input_px // stride)
            ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
            grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
            centres.append(np.repeat(grid, same * self.anchors_per_cell, axis=0))
            i += same
        return np.concatenate(centres).astype(np.float32)


SHORT_RANGE = SsdSpec(input_px=128, strides=(8, 16, 16, 16), anchors_per_cell=2, min_score=0.5)
FULL_RANGE = SsdSpec(input_px=192, strides=(4,), anchors_per_cell=1, min_score=0.6)


@dataclass(frozen=True, slots=True)
class RawFaces:
    """Faces in the model's unit square: boxes (N, 4) as x1, y1, x2, y2; keypoints (N, K, 2)."""

    boxes: FloatArray
    keypoints: FloatArray
    scores: FloatArray

    def __len__(self) -> int:
        return len(self.scores)


def decode(
    regressors: FloatArray, logits: FloatArray, spec: SsdSpec, anchors: FloatArray
) -> RawFaces:
    """Candidates above ``spec.min_score`` from the raw (N, 16) and (N, 1) outputs."""
    reg = np.asarray(regressors, dtype=np.float32).reshape(len(anchors), -1)
    raw = np.clip(np.asarray(logits, dtype=np.float64).reshape(-1), -100.0, 100.0)
    scores = (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)
    keep = scores >= spec.min_score
    reg, anc, scores = reg[keep], anchors[keep], scores[keep]
    size = float(spec.input_px)
    cx = reg[:, 0] / size + anc[:, 0]
    cy = reg[:, 1] / size + anc[:, 1]
    w = reg[:, 2] / size
    h = reg[:, 3] / size
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    k = spec.num_keypoints
    kp = reg[:, 4 : 4 + 2 * k].reshape(-1, k, 2) / size + anc[:, None, :]
    return RawFaces(boxes.astype(np.float32), kp.astype(np.float32), scores)


def _iou(box: FloatArray, others: FloatArray) -> FloatArray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    out: FloatArray = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)
    return out


def weighted_nms(faces: RawFaces, iou: float) -> RawFaces:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Take the best remaining candidate; every candidate overlapping it by more than
    ``iou`` joins its cluster and is removed; the cluster's box and keypoints are the
    score-weighted mean of its members, its score the best one's.
    """
    order = np.argsort(-faces.scores, kind="stable")
    boxes, kps, scores = faces.boxes[order], faces.keypoints[order], faces.scores[order]
    out_b: list[FloatArray] = []
    out_k: list[FloatArray] = []
    out_s: list[float] = []
    remaining = np.arange(len(scores))
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining])
        cluster = remaining[overlap > iou]
        if cluster.size == 0:  # a degenerate box overlaps nothing, not even itself
            cluster = remaining[:1]
        wts = scores[cluster][:, None]
        total = float(wts.sum())
        out_b.append((boxes[cluster] * wts).sum(axis=0) / total)
        out_k.append((kps[cluster] * wts[:, :, None]).sum(axis=0) / total)
        out_s.append(float(scores[top]))
        remaining = remaining[~np.isin(remaining, cluster)]
    if not out_s:
        return RawFaces(
            np.zeros((0, 4), np.float32), np.zeros((0, kps.shape[1], 2), np.float32), scores[:0]
        )
    return RawFaces(
        np.asarray(out_b, np.float32), np.asarray(out_k, np.float32), np.asarray(out_s, np.float32)
    )
