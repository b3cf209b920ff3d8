"""Burst tracking with FaceMesh: each frame's mesh from the previous frame's, re-detect when lost.

MediaPipe's own video mode: the face's region in frame *i* is the square around
the mesh of frame *i − 1* (``roi_from_mesh``), so a burst costs one mesh call per
frame and no detector call while the face stays in view. When the mesh says the
face is gone (presence below ``PRESENCE_MIN``) or its points jump implausibly,
the frame is searched again with the pipeline's detector (BlazeFace: ~2 ms on a
640×480 frame), the face nearest the last one is taken, and tracking resumes
from it. Frames where neither finds the face are left out of the series.

The judge reads 68 points in iBUG order (``proctor.landmarks.ibug68``); the 3-D
meshes are kept beside them for head pose. With an ``IrisModel`` (the default in
bursts), each kept frame's eyelids are refined by MediaPipe's iris model
(``proctor.landmarks.iris``) before the 68 points are taken: FaceMesh's own lids move
too little on a blink. Tracking itself follows the unrefined mesh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from proctor.landmarks.facemesh import (
    FaceMesh,
    Mesh,
    MeshResult,
    roi_from_box,
    roi_from_detection,
    roi_from_mesh,
)
from proctor.landmarks.ibug68 import IBUG68_FROM_MESH, to_ibug68
from proctor.landmarks.iris import IrisModel
from proctor.pipeline import _timed
from proctor.types import BBox, Detection, RGBImage

Points = np.ndarray
Redetect = Callable[[RGBImage], list[Detection]]

# Whole-frame searches per burst after the first face (each ~2 ms with BlazeFace).
MAX_REDETECTS = 6
# The plausibility test's points: the 68-point view's (its width and centre), without
# building the whole view twice a frame.
_EXTENT = list(IBUG68_FROM_MESH)


@dataclass
class MeshTrack:
    """Frames where the face was followed: indices, 68 points, 3-D meshes, mesh-confirmed."""

    idx: list[int] = field(default_factory=list)
    pts: list[Points] = field(default_factory=list)
    meshes: list[Mesh] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    # The model's own meshes (before the eyelids were refined): alignment reads these.
    raw: list[Mesh] = field(default_factory=list)

    def add(self, i: int, r: MeshResult, mesh: Mesh | None = None) -> None:
        """Frame ``i``'s result; ``mesh``: its refined mesh, when the eyelids were refined."""
        m = r.mesh if mesh is None else mesh
        self.idx.append(i)
        self.pts.append(to_ibug68(m))
        self.meshes.append(m)
        self.found.append(r.found)
        self.raw.append(r.mesh)


def plausible(p: Points, prev: Points) -> bool:
    """Tracking kept the face: similar size, and it did not jump by more than half its width."""
    w_prev = float(np.ptp(prev[:, 0])) or 1.0
    w = float(np.ptp(p[:, 0]))
    jump = float(np.hypot(*(p.mean(axis=0) - prev.mean(axis=0))))
    return 0.6 < w / w_prev < 1.6 and jump < 0.5 * w_prev


class MeshTracker:
    def __init__(self, mesh: FaceMesh, redetect: Redetect, iris: IrisModel | None = None) -> None:
        self.mesh = mesh
        self.redetect = redetect
        self.iris = iris

    def refined(
        self, rgb: RGBImage, r: MeshResult, t: dict[str, float], eyes: tuple[int, ...] = (0, 1)
    ) -> Mesh:
        """The mesh with the iris model's eyelids for ``eyes`` (as it is without an iris
        model or with no eye)."""
        if self.iris is None or not eyes:
            return r.mesh
        with _timed(t, "iris"):
            return self.iris.refine(rgb, r.mesh, eyes)

    def settle(self, rgb: RGBImage, first: MeshResult) -> MeshResult:
        """One more pass from the mesh's own square: level eyes and a snug region."""
        again = self.mesh.run(rgb, roi_from_mesh(first.mesh))
        return again if again.found or not first.found else first

    def from_box(self, rgb: RGBImage, box: BBox) -> MeshResult:
        return self.settle(rgb, self.mesh.run(rgb, roi_from_box(box)))

    def from_detection(self, rgb: RGBImage, det: Detection) -> MeshResult:
        return self.settle(rgb, self.mesh.run(rgb, roi_from_detection(det)))

    def track(
        self,
        frames: Sequence[RGBImage],
        start: int,
        box0: BBox,
        timings: dict[str, float] | None = None,
        *,
        seed: Mesh | None = None,
        eyes: bool = True,
    ) -> MeshTrack:
        """The face followed from frame ``start`` (its box ``box0``) to the burst's end.

        ``seed``: the start frame's mesh when the caller has it (the pipeline's aligner
        ran it on that frame's detection): no model call on that frame. ``eyes``: refine
        the eyelids of both eyes (only a blink reads them; the other measures use the
        mesh as is). Refining one eye only halves the iris cost but missed one of 16
        labelled blinks (models/cards/iris.md).
        """
        t = timings if timings is not None else {}
        out = MeshTrack()
        if seed is not None:
            r = MeshResult(np.asarray(seed, dtype=np.float64), 1.0, roi_from_mesh(seed))
        else:
            with _timed(t, "facemesh"):
                r = self.from_box(frames[start], box0)
        which = (0, 1) if eyes else ()
        out.add(start, r, self.refined(frames[start], r, t, which))
        prev = r
        redetects = 0
        for i in range(start + 1, len(frames)):
            rgb = frames[i]
            with _timed(t, "facemesh"):
                r = self.mesh.run(rgb, roi_from_mesh(prev.mesh))
            if r.found and plausible(r.mesh[_EXTENT, :2], prev.mesh[_EXTENT, :2]):
                out.add(i, r, self.refined(rgb, r, t, which))
                prev = r
                continue
            if redetects >= MAX_REDETECTS:
                continue
            redetects += 1
            with _timed(t, "redetect"):
                dets = self.redetect(rgb)
            if not dets:
                continue
            centre = prev.mesh[:, :2].mean(axis=0)
            near = min(dets, key=lambda d: _gap(d.bbox, centre))
            with _timed(t, "facemesh"):
                r = self.from_detection(rgb, near)
            if r.found and plausible(r.mesh[_EXTENT, :2], prev.mesh[_EXTENT, :2]):
                out.add(i, r, self.refined(rgb, r, t, which))
                prev = r
        return out


def _gap(box: BBox, centre: np.ndarray) -> float:
    return float(np.hypot((box.x1 + box.x2) / 2.0 - centre[0], (box.y1 + box.y2) / 2.0 - centre[1]))
