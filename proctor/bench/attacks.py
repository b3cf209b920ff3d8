"""Attack generators for `proctor bench liveness --attacks` (issue 20). Frames never leave memory.

- ``puppet``: one still photo of the driver, warped frame by frame piecewise-affine
  over a Delaunay triangulation of its 68 landmarks (plus the frame's border, held
  still), so that its landmarks follow another person's landmark motion: the
  blinks, turns and mouth of a driving clip, cut to answer the drawn actions in order
  (what cheap "photo animation" apps do, without a neural renderer).
- ``splice``: the driver's own footage, cut around labelled actions and put in the
  asked order.
- ``paste``: the driver's still face pasted (similarity-aligned on the landmarks,
  feathered ellipse) over a live proxy's face in every frame of the proxy's clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from proctor.liveness.geometry import interocular_px
from proctor.types import RGBImage

Points = npt.NDArray[np.float64]


def _similarity(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """2×3 least-squares similarity mapping src onto dst."""
    m, _ = cv2.estimateAffinePartial2D(
        src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS
    )
    if m is None:
        raise ValueError("no similarity")
    return np.asarray(m, dtype=np.float64)


def _apply(m: npt.NDArray[np.float64], p: Points) -> Points:
    out: Points = p @ m[:, :2].T + m[:, 2]
    return out


def _border(w: int, h: int) -> Points:
    xs, ys = [0, w / 2, w - 1], [0, h / 2, h - 1]
    return np.array([(x, y) for x in xs for y in ys if not (x == w / 2 and y == h / 2)], float)


def triangulate(points: Points, w: int, h: int) -> list[tuple[int, int, int]]:
    """Delaunay triangles (vertex indices) of ``points`` inside the w×h frame."""
    sub = cv2.Subdiv2D((0, 0, w + 1, h + 1))
    index = {}
    for i, (x, y) in enumerate(points):
        x, y = float(min(max(x, 0), w - 1)), float(min(max(y, 0), h - 1))
        sub.insert((x, y))
        index[(round(x, 3), round(y, 3))] = i
    tris = []
    for t in sub.getTriangleList():
        vs = []
        for k in range(3):
            key = (round(float(t[2 * k]), 3), round(float(t[2 * k + 1]), 3))
            if key not in index:
                break
            vs.append(index[key])
        if len(vs) == 3:
            tris.append((vs[0], vs[1], vs[2]))
    return tris


def piecewise_affine(
    image: RGBImage, src: Points, dst: Points, tris: Sequence[tuple[int, int, int]]
) -> RGBImage:
    """``image`` warped so that each ``src`` point lands on its ``dst`` point."""
    h, w = image.shape[:2]
    label = np.full((h, w), -1, np.int32)
    for n, (a, b, c) in enumerate(tris):
        cv2.fillConvexPoly(label, np.rint(dst[[a, b, c]]).astype(np.int32), n)
    map_x = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    yy, xx = np.nonzero(label >= 0)
    lab = label[yy, xx]
    mats = np.zeros((len(tris), 2, 3), np.float64)
    for n, (a, b, c) in enumerate(tris):
        mats[n] = cv2.getAffineTransform(
            dst[[a, b, c]].astype(np.float32), src[[a, b, c]].astype(np.float32)
        )
    m = mats[lab]
    map_x[yy, xx] = m[:, 0, 0] * xx + m[:, 0, 1] * yy + m[:, 0, 2]
    map_y[yy, xx] = m[:, 1, 0] * xx + m[:, 1, 1] * yy + m[:, 1, 2]
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out)


def puppet(
    photo: RGBImage, photo_points: Points, driving: Sequence[Points], seed: int = 0
) -> list[RGBImage]:
    """The photo animated by the driving landmark sequence (relative motion transfer).

    The driver's motion relative to its first frame (similarity-normalised to the
    photo's face: same scale and position) is added to the photo's landmarks; the
    border stays put. Light sensor noise is added, as a camera would.
    """
    h, w = photo.shape[:2]
    rng = np.random.default_rng(seed)
    d0 = driving[0]
    to_photo = _similarity(d0, photo_points)
    anchor0 = _apply(to_photo, d0)
    border = _border(w, h)
    src = np.vstack([photo_points, border])
    tris = triangulate(src, w, h)
    frames = []
    for d in driving:
        moved = photo_points + (_apply(to_photo, d) - anchor0)
        dst = np.vstack([moved, border])
        img = piecewise_affine(photo, src, dst, tris)
        noisy = img.astype(np.float32) + rng.normal(0.0, 2.0, img.shape).astype(np.float32)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def paste(
    photo: RGBImage, photo_points: Points, frames: Sequence[RGBImage], points: Sequence[Points]
) -> list[RGBImage]:
    """The photo's face pasted over each frame's face (similarity on the landmarks)."""
    out = []
    ph, pw = photo.shape[:2]
    x1, y1 = photo_points.min(axis=0)
    x2, y2 = photo_points.max(axis=0)
    mask = np.zeros((ph, pw), np.float32)
    centre = (int((x1 + x2) / 2), int((y1 + y2) / 2 - 0.1 * (y2 - y1)))
    axes = (int(0.55 * (x2 - x1)), int(0.65 * (y2 - y1)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    k = max(3, int(0.08 * (x2 - x1)) | 1)
    mask = np.asarray(cv2.GaussianBlur(mask, (k, k), 0), dtype=np.float32)
    for f, p in zip(frames, points, strict=True):
        h, w = f.shape[:2]
        m = _similarity(photo_points, p)
        warped = cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        wm = cv2.warpAffine(mask, m, (w, h))[..., None]
        out.append(np.clip(wm * warped + (1.0 - wm) * f, 0, 255).astype(np.uint8))
    return out


def motion_scale(a: Points, b: Points) -> float:
    """Inter-ocular ratio b / a (for reporting)."""
    return interocular_px(b) / max(interocular_px(a), 1e-6)
