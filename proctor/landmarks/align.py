"""dlib's five alignment points taken from a FaceMesh (pure: numpy only).

dlib's 5-point predictor gives, in order: the outer and inner corner of the eye on
the image's right (the subject's left), the outer and inner corner of the other
eye, and the base of the nose. The mesh has a point at each (``DLIB5_FROM_MESH``,
matched on the shared frames: 1–3% of the inter-ocular distance from dlib's).

dlib places its eye corners slightly nearer each eye's centre (~2–3.5% of the
inter-ocular distance) and the nose point ~2% lower. Moving the mesh's points by
those median offsets (fitted on 572 dev photos) made the East-Asian all-pairs EER
and FNMR at FMR 1% worse (5.06% / 18.5% against 5.04% / 18.0% unmoved, same images),
so the points are used as the mesh gives them (models/cards/facemesh.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Mesh indices in dlib's 5-point order.
DLIB5_FROM_MESH = (263, 362, 33, 133, 2)


def five_points_from_mesh(mesh: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(5, 2) points in dlib's 5-point order from a (468, 2 or 3) mesh."""
    out: npt.NDArray[np.float64] = np.asarray(mesh, dtype=np.float64)[list(DLIB5_FROM_MESH), :2]
    return out
