"""Seam for the two-reference decision (issue 21 × issue 17's ``live_verified`` reference).

Issue 17 stores, after a successful 实人认证, a dated ``live_verified`` reference beside the
authority photo. ``DriverReferences`` is the port this decision needs from it; the rule is
``proctor.matching.references.combine_scores`` (shipped: ``mean``) and its thresholds are
the ``<population>-two-references`` points in ``models/operating_points.toml``
(``two_reference_thresholds``). Where it plugs in: the reference check of a later capture
(today ``SessionService._in_zones``; after issue 16 the one ``decide_capture``) scores the
probe against both references and decides on the combined score; the first verification
(实人认证 itself, or no ``live_verified`` reference yet) keeps the authority photo alone.
"""

from __future__ import annotations

from typing import Any, Protocol

from proctor.types import Template


class DriverReferences(Protocol):
    def authority(self, subject_key: str) -> Template | None: ...

    def live_verified(self, subject_key: str) -> Template | None: ...


def two_reference_thresholds(
    points: dict[str, Any], model_id: str, population: str, rule: str, target_fmr: str
) -> float | None:
    """z threshold of the two-reference ``rule`` ("mean" or "max") at ``target_fmr``."""
    table = points.get(model_id, {}).get(f"{population}-two-references", {})
    point = table.get(f"two_reference_{rule}", {}).get(target_fmr)
    return None if not isinstance(point, dict) else float(point["threshold"])
