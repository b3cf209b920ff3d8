"""Two references: the authority photo and a dated ``live_verified`` capture. Pure core.

When a driver has passed 实人认证, the live capture stored then (reference kind
``live_verified``, issue 17) is closer to a webcam frame than the authority photo is.
Later checks compare the probe with both and combine the two scores under one rule:

- ``max``: the better of the two similarities (smaller distance, larger z). Two chances
  to match raise the false-match rate, so the rule has its own operating point
  (``two_reference`` in ``models/operating_points.toml``), calibrated on the minimum of
  the two impostor distances.
- ``mean``: the mean of the two similarities. **Shipped** (the default here): on the
  East-Asian dev photos (simulated: another photo stands in for the live capture) it
  keeps FNMR at FMR 0.1% at 18.6% against 26.7% for ``max`` and 22.1% for the authority
  photo alone (``asian-dev-two-references`` in ``models/operating_points.toml``).

The first verification (实人认证 itself, and any check while no live reference exists)
uses the authority photo alone: ``combine`` returns its score unchanged.
"""

from __future__ import annotations

from enum import StrEnum


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
