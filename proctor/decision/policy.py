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
  (``anchor_l2``) and, loosely, the reference (``reference_loose_l2``, or on the s-norm z
  ``reference_loose_z`` when the comparison was normalised).

Cohort s-norm (issue 21) is part of the policy: ``snorm`` names the calibrated rule
(``snorm_references``: one reference per person), the cohort's ``top_k`` and minimum size;
``cohort_id`` is the live cohort the z-scores were measured with (None: raw fallback).
``fusion`` is the burst's multi-frame probe (k frames, weighting). All of them reach
``policy_id`` and ``by_kind()``, so a refreshed cohort is a new, named policy.

Two references (issue 21 item 4): ``two_references`` holds the calibrated rule and its
limits for a later check of a driver who has a ``live_verified`` reference (实人认证): the
probe is compared with both references and the rule's combined score decides, in place of
the authority photo's. The first verification (实人认证 itself) never has a live reference
measured, so the authority photo decides alone there.
Liveness bursts (issue 20): ``light_code`` holds the screen-light code's limits (None: the
code is off, for devices that cannot show it) and ``continuity`` the cut/warp limits (None:
not checked). Both are applied by ``decide_capture`` to what the burst measured.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from proctor.liveness.continuity import ContinuityPolicy
from proctor.liveness.light_code import LightCodePolicy
from proctor.liveness.reference_replay import ReferenceReplayPolicy
from proctor.liveness.replay import ReplayPolicy
from proctor.matching.fusion import FusionPolicy


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
    # The same loose check on the s-norm z (the shipped cohort rule's EER threshold), used
    # when the comparison was normalised: fair to faces the raw L2 limit was not fitted to.
    reference_loose_z: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.anchor_l2 < 2 or not 0 < self.reference_loose_l2 < 2:
            raise ValueError("thresholds must lie in (0, 2)")

    def thresholds(self) -> dict[str, float]:
        out = {"anchor_l2": self.anchor_l2, "reference_loose_l2": self.reference_loose_l2}
        if self.reference_loose_z is not None:
            out["reference_loose_z"] = self.reference_loose_z
        return out


@dataclass(frozen=True, slots=True)
class SnormPolicy:
    """Adaptive s-norm against a cohort of other people's templates.

    ``rule``: the calibrated cohort rule whose z thresholds are used (``snorm_references``:
    one reference per person, the shipped cohort; ``snorm``: the calibration folds).
    Below ``min_size`` templates the service holds no cohort and the raw limits decide."""

    source: str  # "references" (enrolled drivers, refreshed) or "file" (cohort_path)
    rule: str
    top_k: int
    min_size: int
    size: int

    def __post_init__(self) -> None:
        if self.top_k < 2 or self.min_size < 2 or self.size < self.min_size:
            raise ValueError("need top_k >= 2 and 2 <= min_size <= size")

    def thresholds(self) -> dict[str, float]:
        return {
            "top_k": float(self.top_k),
            "min_size": float(self.min_size),
            "size": float(self.size),
        }


@dataclass(frozen=True, slots=True)
class TwoReferencePolicy:
    """Limits on the combined score of the authority photo and the ``live_verified``
    reference under ``rule`` (``proctor.matching.references.TwoReferenceRule``: ``mean`` or
    ``max``), calibrated on that combined score (``<population>-two-references`` in
    ``operating_points.toml``).

    Entry: three zones on the combined z (s-norm live) or the combined L2 (raw fallback).
    Anchored: the loose reference check on the combined score (its EER threshold)."""

    rule: str
    match_l2: float
    no_match_l2: float
    loose_l2: float
    match_z: float | None = None
    no_match_z: float | None = None
    loose_z: float | None = None

    def __post_init__(self) -> None:
        if self.rule not in ("mean", "max"):
            raise ValueError("two-reference rule must be mean or max")
        if not 0 < self.match_l2 <= self.no_match_l2 < 2 or not 0 < self.loose_l2 < 2:
            raise ValueError("need 0 < two-reference match_l2 <= no_match_l2 < 2")
        zs = (self.match_z, self.no_match_z, self.loose_z)
        if any(z is None for z in zs) and any(z is not None for z in zs):
            raise ValueError("give every two-reference z limit or none")
        if (
            self.match_z is not None
            and self.no_match_z is not None
            and self.match_z < self.no_match_z
        ):
            raise ValueError("need two-reference match_z >= no_match_z")

    @property
    def normalised(self) -> bool:
        return self.match_z is not None

    def zones(self) -> ZonePolicy:
        """The entry zones on the combined score."""
        return ZonePolicy(self.match_l2, self.no_match_l2, self.match_z, self.no_match_z)

    def thresholds(self) -> dict[str, float]:
        out = {
            "two_reference_match_l2": self.match_l2,
            "two_reference_no_match_l2": self.no_match_l2,
            "two_reference_loose_l2": self.loose_l2,
        }
        if self.match_z is not None and self.no_match_z is not None and self.loose_z is not None:
            out |= {
                "two_reference_match_z": self.match_z,
                "two_reference_no_match_z": self.no_match_z,
                "two_reference_loose_z": self.loose_z,
            }
        return out


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
    snorm: SnormPolicy | None = None  # None: raw L2 limits only
    fusion: FusionPolicy = field(default_factory=lambda: FusionPolicy(k=1))
    cohort_id: str | None = None  # the live cohort (None: none installed, raw fallback)
    # a capture that is a copy of the reference photo fails (issue 17)
    reference_replay: ReferenceReplayPolicy = field(default_factory=ReferenceReplayPolicy)
    # a near duplicate of an earlier snapshot or of the reference is flagged (replay_suspected)
    replay: ReplayPolicy = field(default_factory=ReplayPolicy)
    # a later check of a driver with a live_verified reference (None: authority photo alone)
    two_references: TwoReferencePolicy | None = None
    # bursts: the screen-light code (None: off) and the continuity check (None: off)
    light_code: LightCodePolicy | None = None
    continuity: ContinuityPolicy | None = None
    # provenance, e.g. {"population": "asian-dev", "reference_match": "raw_l2@0.001"}
    sources: Mapping[str, str] = field(default_factory=dict)
    policy_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ValueError("an operating policy names its model")
        object.__setattr__(self, "sources", dict(sorted(self.sources.items())))
        body = json.dumps(
            {
                "model_id": self.model_id,
                "kinds": self.by_kind(),
                "sources": self.sources,
                "snorm": None if self.snorm is None else [self.snorm.source, self.snorm.rule],
                "fusion_weighting": self.fusion.weighting.value,
                "cohort_id": self.cohort_id,
                "two_reference_rule": (
                    None if self.two_references is None else self.two_references.rule
                ),
            },
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

    @property
    def cohort_live(self) -> bool:
        """z-scores decide: s-norm is configured and a cohort of enough templates is live."""
        return self.snorm is not None and self.cohort_id is not None

    def with_cohort(self, cohort_id: str | None) -> OperatingPolicy:
        """The same thresholds with the live cohort named (a refresh: a new policy id)."""
        if cohort_id == self.cohort_id:
            return self
        return replace(self, cohort_id=cohort_id)

    def by_kind(self) -> dict[str, dict[str, float]]:
        """The thresholds that decide each kind of capture (plus the flag margin, the
        s-norm cohort's parameters, the multi-frame fusion's and the bursts' light-code
        and continuity limits)."""
        kinds = {
            "entry": self.reference.thresholds(),
            "flags": {"proxy_margin_l2": self.flags.proxy_margin_l2},
            "fusion": {"k": float(self.fusion.k), "min_quality": self.fusion.min_quality},
            "reference_replay": self.reference_replay.thresholds(),
            "replay": self.replay.thresholds(),
        }
        if self.anchor is not None:
            kinds["anchored"] = self.anchor.thresholds()
        if self.snorm is not None:
            kinds["snorm"] = self.snorm.thresholds()
        if self.two_references is not None:
            kinds["two_references"] = self.two_references.thresholds()
        if self.light_code is not None:
            kinds["light_code"] = self.light_code.thresholds()
        if self.continuity is not None:
            kinds["continuity"] = self.continuity.thresholds()
        return kinds
