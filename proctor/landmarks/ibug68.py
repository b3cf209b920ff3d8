"""FaceMesh points in dlib's 68-point (iBUG 300-W) layout, and head pose from the 3-D mesh.

Pure (numpy only). The liveness measures (``proctor.liveness.geometry``: eyelid
ratio, mouth ratio, yaw, rigid-motion residuals) and the judge read 68 points in
iBUG order; FaceMesh's 468 points include a point at (or next to) each of them, so
the burst feeds the judge the same interface from a model whose licence allows a
traffic authority to use it. The correspondence follows the anatomy of each iBUG
point (jaw contour, brow arches, nose bridge and base, eye corners and lids, outer
and inner lip contours); eyelids use the mesh's lid contour points nearest iBUG's
1/3 and 2/3 positions along the eye.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

IBUG68_FROM_MESH: tuple[int, ...] = (
    # jaw 0-16, from the image's left (the subject's right) over the chin (8)
    127,
    234,
    93,
    132,
    58,
    136,
    150,
    176,
    152,
    400,
    379,
    365,
    288,
    361,
    323,
    454,
    356,
    # brows 17-21 (image left, outer → inner) and 22-26 (inner → outer)
    70,
    63,
    105,
    66,
    107,
    336,
    296,
    334,
    293,
    300,
    # nose bridge 27-30 (30: tip), nose base 31-35
    168,
    197,
    5,
    4,
    75,
    97,
    2,
    326,
    305,
    # eye on the image's left 36-41: outer corner, upper lid ×2, inner corner, lower lid ×2
    33,
    160,
    158,
    133,
    153,
    144,
    # eye on the image's right 42-47: inner corner, upper lid ×2, outer corner, lower lid ×2
    362,
    385,
    387,
    263,
    373,
    380,
    # outer lips 48-59 (48 and 54: corners; 51: top centre; 57: bottom centre)
    61,
    39,
    37,
    0,
    267,
    269,
    291,
    405,
    314,
    17,
    84,
    181,
    # inner lips 60-67 (60 and 64: corners)
    78,
    82,
    13,
    312,
    308,
    317,
    14,
    87,
)

# Mesh points for the head's axes: outer eye corners, forehead top, chin.
_EYE_R, _EYE_L, _FOREHEAD, _CHIN = 33, 263, 10, 152


def to_ibug68(mesh: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(68, 2) points in iBUG order from a (468, 2 or 3) mesh."""
    out: npt.NDArray[np.float64] = np.asarray(mesh, dtype=np.float64)[list(IBUG68_FROM_MESH), :2]
    return out


def head_pose_deg(mesh: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(yaw, pitch) in degrees from the 3-D mesh (x, y, z; y down, z away from the camera).

    The head's frame: x along the eye corners, y from forehead to chin made
    orthogonal to x; the face normal is their cross product, pointing to the
    camera. Yaw is positive when the nose turns towards the image's right (as
    ``geometry.yaw_deg``), pitch positive when the head tips down.
    """
    m = np.asarray(mesh, dtype=np.float64)
    if m.shape != (468, 3):
        raise ValueError(f"expected a (468, 3) mesh, got {m.shape}")
    x = m[_EYE_L] - m[_EYE_R]
    y = m[_CHIN] - m[_FOREHEAD]
    nx = float(np.linalg.norm(x))
    if nx < 1e-9:
        return 0.0, 0.0
    x /= nx
    y = y - float(np.dot(y, x)) * x
    ny = float(np.linalg.norm(y))
    if ny < 1e-9:
        return 0.0, 0.0
    y /= ny
    normal = -np.cross(x, y)  # towards the camera (negative z) for a frontal face
    yaw = math.degrees(math.atan2(normal[0], -normal[2]))
    pitch = math.degrees(math.atan2(normal[1], -normal[2]))
    return yaw, pitch
