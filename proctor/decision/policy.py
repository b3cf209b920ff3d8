"""``OperatingPolicy``: every threshold a capture decision may use, frozen (pure core).

Built once at start by ``proctor.operating_policy.load_operating_policy`` from
``models/registry.toml`` + ``models/operating_points.toml`` + settings, and handed to
``decide_capture``. Its ``policy_id`` is a digest of the thresholds and their sources:
``/readyz`` names it and every decided attempt records it, so a reviewer can tell which
figures decided a capture.

Decision kinds and the thresholds that decide them:

- ``entry`` (no session anchor yet): three zones on the L2 distance to the real-name
  reference (``reference_match_l2`` / ``reference_no_match_l2``; the z-score pair when
  cohort s-norm is on). With three zones off both limits are the registry threshold.
- ``anchored`` (a later capture of a session with an anchor): the anchor distance
  (``anchor_l2``) and, loosely, the reference distance (``reference_loose_l2``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from proctor.liveness.reference_replay import ReferenceReplayPolicy


@dataclass(frozen=True, slots=True)
class ZonePolicy:
    """Reference check: match ≤ match_l2 < uncertain ≤ no_match_l2 < no_match.

    With cohort normalisation the z-score zones are used instead (higher is more alike):
    match ≥ match_z > uncertain ≥ no_match_z > no_match.
    """

    match_l2: float
    no_match_l2: float
    match_z: float | None = None
    no_match_z: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.match_l2 <= self.no_match_l2 < 2:
            raise ValueError("need 0 < match_l2 <= no_match_l2 < 2")
        if (self.match_z is None) != (self.no_match_z is None):
            raise ValueError("give both z-score zone limits or neither")
        if (
            self.match_z is not None
            and self.no_match_z is not None
            and self.match_z < self.no_match_z
        ):
            raise ValueError("need match_z >= no_match_z")

    @property
    def normalised(self) -> bool:
        return self.match_z is not None and self.no_match_z is not None

    def thresholds(self) -> dict[str, float]:
        out = {"reference_match_l2": self.match_l2, "reference_no_match_l2": self.no_match_l2}
        if self.match_z is not None and self.no_match_z is not None:
            out |= {"reference_match_z": self.match_z, "reference_no_match_z": self.no_match_z}
        return out


@dataclass(frozen=True, slots=True)
class AnchorPolicy:
    anchor_l2: float  # same-session threshold against the anchor
    reference_loose_l2: float  # the reference must not be clearly someone else

    def __post_init__(self) -> None:
        if not 0 < self.anchor_l2 < 2 or not 0 < self.reference_loose_l2 < 2:
            raise ValueError("thresholds must lie in (0, 2)")

    def thresholds(self) -> dict[str, float]:
        return {"anchor_l2": self.anchor_l2, "reference_loose_l2": self.reference_loose_l2}


@dataclass(frozen=True, slots=True)
class FlagPolicy:
    """``proxy_face`` at entry: a mismatch at least this far past the no-match limit."""

    proxy_margin_l2: float = 0.15

    def __post_init__(self) -> None:
        if self.proxy_margin_l2 < 0:
            raise ValueError("proxy_margin_l2 must be non-negative")


@dataclass(frozen=True, slots=True)
class OperatingPolicy:
    """The thresholds of one model's capture decisions, and where each came from."""

    model_id: str
    reference: ZonePolicy
    anchor: AnchorPolicy | None = None
    flags: FlagPolicy = field(default_factory=FlagPolicy)
    # a capture that is a copy of the reference photo fails (issue 17)
    reference_replay: ReferenceReplayPolicy = field(default_factory=ReferenceReplayPolicy)
    # provenance, e.g. {"population": "asian-dev", "reference_match": "raw_l2@0.001"}
    sources: Mapping[str, str] = field(default_factory=dict)
    policy_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ValueError("an operating policy names its model")
        object.__setattr__(self, "sources", dict(sorted(self.sources.items())))
        body = json.dumps(
            {"model_id": self.model_id, "kinds": self.by_kind(), "sources": self.sources},
            sort_keys=True,
        )
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        object.__setattr__(self, "policy_id", f"{self.model_id}@{digest}")

    @classmethod
    def single_threshold(cls, model_id: str, threshold_l2: float) -> OperatingPolicy:
        """One reference threshold, no zones, no anchoring (tests, tools)."""
        return cls(
            model_id,
            ZonePolicy(threshold_l2, threshold_l2),
            sources={"reference": "single threshold"},
        )

    def by_kind(self) -> dict[str, dict[str, float]]:
        """The thresholds that decide each kind of capture (plus the flag margin)."""
        kinds = {
            "entry": self.reference.thresholds(),
            "flags": {"proxy_margin_l2": self.flags.proxy_margin_l2},
            "reference_replay": self.reference_replay.thresholds(),
        }
        if self.anchor is not None:
            kinds["anchored"] = self.anchor.thresholds()
        return kinds
