"""Two references: the authority photo and a dated ``live_verified`` capture. Pure core.

When a driver has passed 实人认证, the live capture stored then (reference kind
``live_verified``, issue 17) is closer to a webcam frame than the authority photo is.
Later checks compare the probe with both and combine the two scores under one rule:

- ``max``: the better of the two similarities (smaller distance, larger z). Two chances
  to match raise the false-match rate, so the rule has its own operating point
  (``two_reference`` in ``models/operating_points.toml``), calibrated on the minimum of
  the two impostor distances.
- ``mean``: the mean of the two similarities. **Shipped** (``two_reference_rule``), chosen
  on the East-Asian dev photos (simulated: another photo stands in for the live capture;
  figures in ``models/cards/dlib_resnet_v1.md``).

The first verification (实人认证 itself, and any check while no live reference exists)
uses the authority photo alone: ``combine`` returns its score unchanged. The limits are
``OperatingPolicy.two_references``; ``decide_capture`` applies them.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from proctor.matching.cohort import Cohort, cohort_distances, leave_self_out, snorm_pair
from proctor.matching.decision import template_distance
from proctor.types import Template


class TwoReferenceRule(StrEnum):
    MAX = "max"
    MEAN = "mean"


def combine_distances(
    authority: float, live: float | None, rule: TwoReferenceRule = TwoReferenceRule.MEAN
) -> float:
    """One L2 distance from the authority and (optional) live-verified distances: the rule
    applied to the similarities (negated distances)."""
    return -combine_scores(-authority, None if live is None else -live, rule)


def combine_scores(
    authority: float, live: float | None, rule: TwoReferenceRule = TwoReferenceRule.MEAN
) -> float:
    """One similarity (s-norm z, higher is more alike) from the two references' scores."""
    if live is None:
        return authority
    if rule is TwoReferenceRule.MAX:
        return max(authority, live)
    return 0.5 * (authority + live)


def score_live_reference(
    probe: Template, live: Template, authority: Template, cohort: Cohort | None
) -> tuple[float, float | None]:
    """(L2, s-norm z) of ``probe`` against the ``live`` reference, the z measured on the same
    cohort as the authority photo's (None without one: the raw limits decide). The driver's
    own rows (the authority photo and the live reference, which the cohort of enrolled
    references may hold) are left out of both sides' statistics."""
    d = template_distance(probe, live)
    if cohort is None:
        return d, None
    own = cohort_distances(np.asarray(authority.vector, np.float64), cohort.vectors)
    exclude = ~leave_self_out(own)
    return d, snorm_pair(d, live.vector, probe.vector, cohort, exclude)
