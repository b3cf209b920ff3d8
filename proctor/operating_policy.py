"""Loads the one ``OperatingPolicy`` at start: registry + operating points + settings.

``models/registry.toml`` gives the model and its single calibrated threshold;
``models/operating_points.toml`` (written by ``proctor calibrate``) gives the zone,
s-norm and session-anchor thresholds; settings pick the population, the FMR targets
and which parts are on. Anything asked for but not calibrated is refused here, at
start (``operating_policy_invalid``), instead of silently falling back at run time.
"""

from __future__ import annotations

from typing import Any

from proctor.calibration.points import (
    anchor_thresholds,
    load_points,
    two_reference_points,
    zone_thresholds,
)
from proctor.config import ProctorSettings
from proctor.decision.policy import (
    AnchorPolicy,
    OperatingPolicy,
    SnormPolicy,
    TwoReferencePolicy,
    ZonePolicy,
)
from proctor.embedding.registry import default_models_dir, model_spec
from proctor.errors import ModelError
from proctor.liveness.continuity import ContinuityPolicy
from proctor.liveness.light_code import LightCodePolicy
from proctor.liveness.reference_replay import ReferenceReplayPolicy
from proctor.liveness.replay import ReplayPolicy
from proctor.matching.fusion import FusionPolicy, Weighting


class OperatingPolicyInvalid(ModelError):
    """The operating policy the settings ask for is not calibrated or not consistent."""

    code = "operating_policy_invalid"


def load_operating_policy(
    s: ProctorSettings | None = None, model_id: str | None = None
) -> OperatingPolicy:
    """Build and validate the policy once; raises ``OperatingPolicyInvalid``."""
    s = s or ProctorSettings()
    models_dir = s.models_dir or default_models_dir()
    spec = model_spec(model_id or s.model_id, s.models_dir)
    points = load_points(models_dir)
    pop = s.operating_population
    single = s.threshold_l2 if s.threshold_l2 is not None else spec.threshold_l2
    single_src = "settings threshold_l2" if s.threshold_l2 is not None else "registry.toml"
    sources: dict[str, str] = {"population": pop}
    try:
        snorm: tuple[float, float] | None = None
        cohort = snorm_policy(s, points, spec.model_id)
        if cohort is not None:
            target = s.operating_target_fmr
            z = zone_thresholds(points, spec.model_id, pop, target, target)
            if z is None or z.match_z is None:
                raise _missing(f"s-norm operating point {spec.model_id}/{pop} at FMR {target}")
            snorm = (z.match_z, z.match_z)
            sources["reference_z"] = f"operating_points.toml {cohort.rule}@{target}"
        if s.three_zones:
            z = zone_thresholds(points, spec.model_id, pop, s.zone_match_fmr, s.zone_no_match_fmr)
            if z is None:
                raise _missing(f"three-zone operating points {spec.model_id}/{pop}")
            if snorm is not None:
                if z.match_z is None or z.no_match_z is None:
                    raise _missing(f"s-norm zone points {spec.model_id}/{pop}")
                snorm = (z.match_z, z.no_match_z)
                sources["reference_z"] = (
                    f"operating_points.toml {cohort and cohort.rule}"
                    f"@{s.zone_match_fmr}/{s.zone_no_match_fmr}"
                )
            reference = ZonePolicy(z.match_l2, z.no_match_l2, *(snorm or (None, None)))
            sources["reference"] = (
                f"operating_points.toml raw_l2@{s.zone_match_fmr}/{s.zone_no_match_fmr}"
            )
        else:
            reference = ZonePolicy(single, single, *(snorm or (None, None)))
            sources["reference"] = f"{single_src} threshold_l2 (three zones off)"
        anchor = None
        if s.session_anchor:
            found = anchor_thresholds(points, spec.model_id, s.anchor_target_fmr, pop)
            if found is None:
                raise _missing(f"session-anchor operating point {spec.model_id}")
            loose_z = _loose_z(points, spec.model_id, pop) if cohort is not None else None
            anchor = AnchorPolicy(*found, loose_z)
            sources["anchor"] = (
                f"operating_points.toml session-anchor raw_l2@{s.anchor_target_fmr}; "
                f"reference_loose = {pop} raw EER threshold"
                + ("" if loose_z is None else f"; reference_loose_z = {pop} {RULE} EER threshold")
            )
        replay_floor = s.reference_replay_floor_l2
        copies = ReferenceReplayPolicy(s.reference_replay_hash_bits, replay_floor, replay_floor)
        sources["reference_replay"] = "settings reference_replay_* (SECURITY.md RR1)"
        sources["replay"] = "settings replay_near_bits"
        two = two_reference_policy(s, points, spec.model_id, cohort is not None)
        if two is not None:
            sources["two_references"] = (
                f"operating_points.toml {pop}-two-references two_reference_{two.rule}"
                f"@{s.zone_match_fmr}/{s.zone_no_match_fmr}; loose = its EER threshold"
            )
        fusion = fusion_of(s)
        sources["fusion"] = "settings fusion_k/fusion_weighting (chosen on the dev clips)"
        light, continuity = liveness_parts(s)
        if light is not None:
            sources["light_code"] = "LightCodePolicy defaults (models/cards/liveness.md)"
        if continuity is not None:
            sources["continuity"] = "ContinuityPolicy defaults (models/cards/liveness.md)"
        return OperatingPolicy(
            spec.model_id,
            reference,
            anchor,
            reference_replay=copies,
            replay=ReplayPolicy(s.replay_near_bits),
            snorm=cohort,
            fusion=fusion,
            two_references=two,
            light_code=light,
            continuity=continuity,
            sources=sources,
        )
    except KeyError as gap:  # an FMR target the points file does not have
        raise _missing(f"operating point {gap.args[0]} for {spec.model_id}/{pop}") from gap
    except ValueError as bad:  # thresholds out of range or out of order
        raise OperatingPolicyInvalid(str(bad), details={"models_dir": str(models_dir)}) from bad


def liveness_parts(
    s: ProctorSettings,
) -> tuple[LightCodePolicy | None, ContinuityPolicy | None]:
    """The bursts' light-code and continuity limits, each None when settings turn it off."""
    light = LightCodePolicy() if s.liveness_light_code else None
    return light, ContinuityPolicy() if s.liveness_continuity else None


def fusion_of(s: ProctorSettings) -> FusionPolicy:
    """The burst's multi-frame probe as configured (k best frames, weighting)."""
    return FusionPolicy(k=s.fusion_k, weighting=Weighting(s.fusion_weighting))


RULE = "snorm_references"  # the shipped cohort rule: one reference per person


def snorm_on(s: ProctorSettings) -> bool:
    return s.cohort_path is not None or s.cohort_source != "off"


def snorm_policy(s: ProctorSettings, points: dict[str, Any], model_id: str) -> SnormPolicy | None:
    """The cohort part of the policy, or None: s-norm off, or (for the default source,
    enrolled references) not calibrated for this model, when the raw limits decide. A
    configured cohort file without its calibration is refused by the caller."""
    if not snorm_on(s):
        return None
    pop = points.get(model_id, {}).get(s.operating_population, {})
    rule = RULE if RULE in pop else "snorm"
    if s.cohort_path is None:
        if s.cohort_source != "references":
            raise OperatingPolicyInvalid(
                f"unknown cohort source {s.cohort_source!r}: references or off",
                details={"cohort_source": s.cohort_source},
            )
        if rule not in pop:
            return None
    top_k = int(pop.get("top_k", 50))
    source = "file" if s.cohort_path is not None else "references"
    return SnormPolicy(source, rule, top_k, s.cohort_min_size, s.cohort_size)


def two_reference_policy(
    s: ProctorSettings, points: dict[str, Any], model_id: str, normalised: bool
) -> TwoReferencePolicy | None:
    """The two-reference rule's limits (raw, and z when s-norm is configured), or None when
    switched off; switched on but not calibrated is refused."""
    if not s.two_references:
        return None
    found = two_reference_points(
        points,
        model_id,
        s.operating_population,
        s.two_reference_rule,
        (s.zone_match_fmr, s.zone_no_match_fmr),
        normalised,
    )
    if found is None:
        raise _missing(
            f"two-reference operating points {model_id}/{s.operating_population}-two-references "
            f"({s.two_reference_rule} at {s.zone_match_fmr}/{s.zone_no_match_fmr})"
        )
    return found


def _loose_z(points: dict[str, Any], model_id: str, pop: str) -> float | None:
    found = points.get(model_id, {}).get(pop, {}).get(f"{RULE}_eer_threshold")
    return None if found is None else float(found)


def _missing(what: str) -> OperatingPolicyInvalid:
    return OperatingPolicyInvalid(
        f"{what} not calibrated: run `proctor calibrate`, or turn that part off in settings",
        details={"missing": what},
    )
