"""``decide_capture``: the one place a snapshot or burst is judged (pure core).

The pipeline and the burst analyzer *measure* (face found, quality reasons, distances
to the reference and the session anchor, hashes, liveness outcome, timings); the
session service gathers those numbers into ``CaptureMeasurements`` and calls
``decide_capture(measurements, context, policy)`` once. The returned ``CaptureDecision``
is what the session records, what the API answers and what the audit entry carries:
verdict, reasons, flags, and the exact thresholds (with the ``OperatingPolicy`` id)
that decided.

Order of the checks (the first that fails decides the verdict):

1. ``image``: an unusable upload → ``rejected`` with the image error's code;
2. ``face``: no face / several faces / quality reasons → ``rejected``;
3. ``identity``: ``entry`` zones on the reference, or ``anchored`` agreement; when a
   ``live_verified`` reference was measured too (a later check of a driver who passed
   实人认证) and the policy has ``two_references``, the two references' combined score
   (the calibrated rule) takes the authority photo's place in either kind;
4. ``replay``: the exact pixels of an earlier snapshot → fails with ``replay``;
5. ``liveness`` (bursts): a failed liveness → ``rejected``, its reasons first;
6. ``light_code`` (bursts, when the policy has it): the face did not reflect the
   challenge's screen-light code → ``rejected`` (``light_code_missing`` / ``_mismatch`` /
   ``_shifted``);
7. ``continuity`` (bursts, when the policy has it): a cut or warp jump → ``rejected``
   (``continuity_broken``).

Flags (evidence for a human, never a blacklist) are added along the way.

Extension point: a later check adds (a) an optional field to ``CaptureMeasurements``
with a default that means "not measured" (so existing callers are unchanged),
(b) its codes to ``proctor.decision.reasons``, (c) its thresholds to
``OperatingPolicy`` (so they reach ``policy_id`` and ``thresholds``), and (d) one
step function ``_check_<name>(measurements, policy, acc) -> None`` appended to
``CHECKS`` that adds reasons/flags/thresholds to the accumulator. Examples expected:
``reference_replayed``, ``light_code_mismatch``, ``continuity_broken`` (all three built),
multi-frame fusion (a fused distance in place of ``reference_l2``), a second reference (built:
``live_reference_l2`` / ``live_reference_z`` and ``OperatingPolicy.two_references``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from proctor.decision.policy import (
    AnchorPolicy,
    OperatingPolicy,
    TwoReferencePolicy,
    ZonePolicy,
)
from proctor.decision.reasons import CaptureFlag, CaptureReason
from proctor.errors import ContractMismatch
from proctor.liveness.continuity import ContinuityMeasures, judge_continuity
from proctor.liveness.judge import LivenessReason
from proctor.liveness.light_code import LightCodeMeasures, LightOutcome, judge_light_code
from proctor.liveness.reference_replay import copy_tests
from proctor.liveness.replay import ReplayMeasures, judge_replay
from proctor.matching.references import TwoReferenceRule, combine_distances, combine_scores
from proctor.types import FaceMeasurement, Verdict

# A burst whose only problem was too few usable frames is not evidence of a spoof.
NOT_SPOOF_EVIDENCE = frozenset({LivenessReason.TOO_FEW_FRAMES.value})


class DecisionKind(StrEnum):
    ENTRY = "entry"  # against the real-name reference, three zones
    ANCHORED = "anchored"  # against the session anchor and, loosely, the reference


@dataclass(frozen=True, slots=True)
class LivenessMeasure:
    """The burst judge's outcome (its own thresholds live in ``liveness.judge``)."""

    passed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureMeasurements:
    """Numbers and codes measured on one capture; None means "not measured"."""

    model_id: str = ""
    image_error: str | None = None  # the ImageError code of an unusable upload
    quality_reasons: tuple[str, ...] = ()  # no_face, multiple_faces, quality codes
    face_count: int = 0
    reference_l2: float | None = None
    reference_z: float | None = None  # cohort-normalised similarity (s-norm), when on
    anchor_l2: float | None = None  # distance to the session anchor, when there is one
    replay: ReplayMeasures = field(default_factory=ReplayMeasures)  # hashes vs earlier/references
    liveness: LivenessMeasure | None = None  # bursts only
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    # copy of the reference photo? bits to the nearest reference chip hash (mirrored
    # ones included) and the distance to the mirrored reference's template (issue 17)
    reference_hash_bits: int | None = None
    reference_mirror_l2: float | None = None
    # the same probe against the driver's live_verified reference (实人认证), when there is
    # one and this is a later check; None: the authority photo decides alone
    live_reference_l2: float | None = None
    live_reference_z: float | None = None
    # bursts (issue 20): the face's colour against the challenge's screen-light code (None:
    # no code shown), and the frame-to-frame jumps of the tracked frames
    light_code: LightCodeMeasures | None = None
    continuity: ContinuityMeasures | None = None

    @classmethod
    def of_face(
        cls,
        face: FaceMeasurement | None,
        *,
        anchor_l2: float | None = None,
        replay: ReplayMeasures | None = None,
        liveness: LivenessMeasure | None = None,
        timings_ms: Mapping[str, float] | None = None,
        reference_hash_bits: int | None = None,
        reference_mirror_l2: float | None = None,
        live_reference: tuple[float, float | None] | None = None,
        light_code: LightCodeMeasures | None = None,
        continuity: ContinuityMeasures | None = None,
    ) -> CaptureMeasurements:
        """The pipeline's face measurement plus what the caller measured besides it
        (``face`` None: no usable face anywhere, e.g. in a whole burst)."""
        extra = dict(timings_ms or {})
        if face is None:
            reasons = (CaptureReason.NO_FACE.value,)
            return cls(
                quality_reasons=reasons,
                liveness=liveness,
                timings_ms=extra,
                light_code=light_code,
                continuity=continuity,
            )
        return cls(
            model_id=face.model_id,
            quality_reasons=face.quality_reasons,
            face_count=face.face_count,
            reference_l2=face.reference_l2,
            reference_z=face.reference_z,
            anchor_l2=anchor_l2,
            replay=replay or ReplayMeasures(),
            liveness=liveness,
            timings_ms={**face.timings_ms, **extra},
            reference_hash_bits=reference_hash_bits,
            reference_mirror_l2=reference_mirror_l2,
            live_reference_l2=None if live_reference is None else live_reference[0],
            live_reference_z=None if live_reference is None else live_reference[1],
            light_code=light_code,
            continuity=continuity,
        )


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """What the session knows about this capture."""

    anchored: bool = False  # the session has an anchor (a later capture)


@dataclass(frozen=True, slots=True)
class CaptureDecision:
    """One decided capture. The first eight fields keep the order of the former
    ``ComparisonOutcome`` (which is this class): the session records it as is."""

    passed: bool
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    distance: float | None = None  # the distance ``threshold`` was compared with
    threshold: float | None = None  # the limit that placed ``distance`` (L2)
    model_id: str = ""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    # Between the zones of a reference check: at entry this sends the driver to a
    # manual identity review instead of counting a strike.
    uncertain: bool = False
    verdict: Verdict | None = None  # derived from passed/uncertain when not given
    kind: str = ""  # DecisionKind value, "" when no identity check ran
    thresholds: Mapping[str, float] = field(default_factory=dict)  # every limit that decided
    distances: Mapping[str, float] = field(default_factory=dict)  # what they were compared with
    policy_id: str = ""

    def __post_init__(self) -> None:
        if not self.passed and not self.reasons:
            raise ValueError("a failed comparison needs a reason")
        if self.uncertain and self.passed:
            raise ValueError("an uncertain comparison has not passed")
        if self.verdict is None:
            v = Verdict.MATCH if self.passed else Verdict.NO_MATCH
            object.__setattr__(self, "verdict", Verdict.UNCERTAIN if self.uncertain else v)


@dataclass(slots=True)
class _Acc:
    verdict: Verdict = Verdict.MATCH
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    kind: str = ""
    distance: float | None = None
    threshold: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    distances: dict[str, float] = field(default_factory=dict)
    stop: bool = False  # a check decided and nothing after it can change the verdict
    spoof_reasons: int = 0  # how many liveness-type reasons lead ``reasons``


Check = Callable[[CaptureMeasurements, CaptureContext, OperatingPolicy, _Acc], None]


def _check_image(m: CaptureMeasurements, _: CaptureContext, __: OperatingPolicy, a: _Acc) -> None:
    if m.image_error is not None:
        a.verdict, a.reasons, a.stop = Verdict.REJECTED, [m.image_error], True


def _check_face(m: CaptureMeasurements, _: CaptureContext, __: OperatingPolicy, a: _Acc) -> None:
    if m.quality_reasons or m.reference_l2 is None:
        a.verdict = Verdict.REJECTED
        a.reasons = list(m.quality_reasons or (CaptureReason.NO_FACE.value,))


@dataclass(frozen=True, slots=True)
class _Reference:
    """The reference side of the identity check: the authority photo's scores, or the two
    references' combined scores, with the limits (and their names) that judge them."""

    l2: float
    z: float | None
    zones: ZonePolicy
    zone_names: dict[str, float]
    loose_l2: float | None
    loose_z: float | None
    loose_names: dict[str, float]


def _reference_side(m: CaptureMeasurements, p: OperatingPolicy, a: _Acc) -> _Reference:
    """Authority photo alone, unless a live_verified reference was measured and the policy
    has the two-reference rule: then the rule's combined score, on its own limits."""
    assert m.reference_l2 is not None
    two: TwoReferencePolicy | None = p.two_references
    loose_l2 = None if p.anchor is None else p.anchor.reference_loose_l2
    loose_z = None if p.anchor is None else p.anchor.reference_loose_z
    if two is None or m.live_reference_l2 is None:
        names = {} if p.anchor is None else p.anchor.thresholds()
        zones = p.reference
        return _Reference(
            m.reference_l2, m.reference_z, zones, zones.thresholds(), loose_l2, loose_z, names
        )
    rule = TwoReferenceRule(two.rule)
    a.distances["live_reference_l2"] = m.live_reference_l2
    d = combine_distances(m.reference_l2, m.live_reference_l2, rule)
    a.distances["two_reference_l2"] = d
    z = None
    if two.normalised and m.reference_z is not None and m.live_reference_z is not None:
        a.distances["live_reference_z"] = m.live_reference_z
        z = combine_scores(m.reference_z, m.live_reference_z, rule)
        a.distances["two_reference_z"] = z
    names = two.thresholds()
    loose = {k: v for k, v in names.items() if k.startswith("two_reference_loose")}
    if loose_z is None:  # the anchored check is on raw distances: no z limit decides
        loose.pop("two_reference_loose_z", None)
    anchor_names = {} if p.anchor is None else {"anchor_l2": p.anchor.anchor_l2}
    return _Reference(
        d,
        z,
        two.zones(),
        {k: v for k, v in names.items() if "loose" not in k},
        two.loose_l2,
        two.loose_z if loose_z is not None else None,
        anchor_names | loose,
    )


def _check_identity(
    m: CaptureMeasurements, ctx: CaptureContext, p: OperatingPolicy, a: _Acc
) -> None:
    if a.verdict is Verdict.REJECTED or m.reference_l2 is None:
        return
    a.distances["reference_l2"] = m.reference_l2
    ref = _reference_side(m, p, a)
    if ctx.anchored and p.anchor is not None and m.anchor_l2 is not None:
        a.distances["anchor_l2"] = m.anchor_l2
        z = ref.z if ref.loose_z is not None else None
        if m.reference_z is not None and p.anchor.reference_loose_z is not None:
            a.distances["reference_z"] = m.reference_z
        _anchored(ref, m.anchor_l2, z, p.anchor, a)
        if CaptureReason.FACE_MISMATCH.value in a.reasons and not m.quality_reasons:
            a.flags.append(CaptureFlag.PROXY_FACE.value)  # not the face that anchored it
    else:
        if m.reference_z is not None and p.reference.normalised:
            a.distances["reference_z"] = m.reference_z
        _entry(ref.l2, ref.z, ref.zones, a, ref.zone_names)
        if (
            CaptureReason.FACE_MISMATCH.value in a.reasons
            and ref.l2 >= ref.zones.no_match_l2 + p.flags.proxy_margin_l2
        ):
            a.flags.append(CaptureFlag.PROXY_FACE.value)  # a clear face of someone else
            a.thresholds["proxy_margin_l2"] = p.flags.proxy_margin_l2


def _entry(d: float, z: float | None, zones: ZonePolicy, a: _Acc, names: dict[str, float]) -> None:
    """Three zones on the raw distance, or on the normalised score when both it and
    the z-score zones are given (``names``: the limits as recorded)."""
    a.kind = DecisionKind.ENTRY.value
    a.thresholds |= names
    if z is not None and zones.match_z is not None and zones.no_match_z is not None:
        zone = 0 if z >= zones.match_z else 1 if z >= zones.no_match_z else 2
    else:
        zone = 0 if d <= zones.match_l2 else 1 if d <= zones.no_match_l2 else 2
    a.distance = d
    a.threshold = zones.no_match_l2 if zone == 2 else zones.match_l2
    if zone == 1:
        a.verdict = Verdict.UNCERTAIN
        a.reasons.append(CaptureReason.IDENTITY_UNCERTAIN.value)
    elif zone == 2:
        a.verdict = Verdict.NO_MATCH
        a.reasons.append(CaptureReason.FACE_MISMATCH.value)


def _anchored(
    ref: _Reference, d_anchor: float, z: float | None, anchor: AnchorPolicy, a: _Acc
) -> None:
    """Both must agree: the anchor's face, and not clearly someone other than the driver
    (on the s-norm ``z`` against the loose z limit when the comparison was normalised)."""
    a.kind = DecisionKind.ANCHORED.value
    a.thresholds |= ref.loose_names
    loose_l2 = ref.loose_l2 if ref.loose_l2 is not None else anchor.reference_loose_l2
    if d_anchor > anchor.anchor_l2:
        a.verdict, a.distance, a.threshold = Verdict.NO_MATCH, d_anchor, anchor.anchor_l2
        a.reasons.append(CaptureReason.FACE_MISMATCH.value)
    elif z is not None and ref.loose_z is not None:
        if z < ref.loose_z:
            a.verdict, a.distance, a.threshold = Verdict.NO_MATCH, ref.l2, loose_l2
            a.reasons.append(CaptureReason.REFERENCE_MISMATCH.value)
        else:
            a.distance, a.threshold = d_anchor, anchor.anchor_l2
    elif ref.l2 > loose_l2:
        a.verdict, a.distance, a.threshold = Verdict.NO_MATCH, ref.l2, loose_l2
        a.reasons.append(CaptureReason.REFERENCE_MISMATCH.value)
    else:
        a.distance, a.threshold = d_anchor, anchor.anchor_l2


def _check_replay(m: CaptureMeasurements, _: CaptureContext, p: OperatingPolicy, a: _Acc) -> None:
    """Exact pixels of an earlier snapshot fail; a near duplicate (within the policy's bits)
    of an earlier snapshot or of the reference is only flagged for a human."""
    rc = judge_replay(m.replay, p.replay)
    if rc.exact:
        a.reasons.insert(0, CaptureReason.REPLAY.value)
        a.flags.insert(0, CaptureFlag.REPLAY.value)
    elif rc.near:
        a.flags.insert(0, CaptureFlag.REPLAY_SUSPECTED.value)
    else:
        return
    a.thresholds |= p.replay.thresholds()
    if rc.nearest_hamming_bits is not None:
        a.distances["replay_nearest_bits"] = float(rc.nearest_hamming_bits)


def _check_reference_replay(
    m: CaptureMeasurements, _: CaptureContext, p: OperatingPolicy, a: _Acc
) -> None:
    """The reference photo or a copy of it (resized, re-encoded, cropped, mirrored) fails
    and is flagged, whatever the identity check said: the face is right, the person is
    not there (issue 17). Never uncertain: a copy gets no ID review."""
    if a.verdict is Verdict.REJECTED and m.reference_l2 is None:
        return  # no face measured
    by_hash, by_distance = copy_tests(
        m.reference_hash_bits, m.reference_l2, m.reference_mirror_l2, p.reference_replay
    )
    if not (by_hash or by_distance):
        return
    a.thresholds |= p.reference_replay.thresholds()
    if m.reference_hash_bits is not None:
        a.distances["reference_hash_bits"] = float(m.reference_hash_bits)
    if m.reference_mirror_l2 is not None:
        a.distances["reference_mirror_l2"] = m.reference_mirror_l2
    a.verdict = Verdict.REJECTED
    a.reasons.insert(0, CaptureReason.REFERENCE_REPLAYED.value)
    a.flags.insert(0, CaptureFlag.REFERENCE_REPLAYED.value)


def _check_people(m: CaptureMeasurements, _: CaptureContext, __: OperatingPolicy, a: _Acc) -> None:
    if CaptureReason.MULTIPLE_FACES.value in m.quality_reasons or m.face_count > 1:
        a.flags.append(CaptureFlag.EXTRA_PEOPLE.value)


def _check_liveness(
    m: CaptureMeasurements, _: CaptureContext, __: OperatingPolicy, a: _Acc
) -> None:
    live = m.liveness
    if live is None or live.passed:
        return
    a.verdict = Verdict.REJECTED
    a.reasons = [*live.reasons, *a.reasons]
    a.spoof_reasons = len(live.reasons)
    if set(live.reasons) - NOT_SPOOF_EVIDENCE:
        a.flags.append(CaptureFlag.SPOOF_SUSPECTED.value)


_LIGHT_REASONS = {
    LightOutcome.MISSING: CaptureReason.LIGHT_CODE_MISSING,
    LightOutcome.MISMATCH: CaptureReason.LIGHT_CODE_MISMATCH,
    LightOutcome.SHIFTED: CaptureReason.LIGHT_CODE_SHIFTED,
}


def _spoof(a: _Acc, reason: str) -> None:
    """A liveness-type failure: rejected, its reason after the judge's and before the
    identity's, flagged."""
    a.verdict = Verdict.REJECTED
    a.reasons.insert(a.spoof_reasons, reason)
    a.spoof_reasons += 1
    a.flags.append(CaptureFlag.SPOOF_SUSPECTED.value)


def _check_light_code(
    m: CaptureMeasurements, _: CaptureContext, p: OperatingPolicy, a: _Acc
) -> None:
    """The face must have reflected this challenge's screen-light code in order and time."""
    if m.light_code is None or p.light_code is None:
        return
    check = judge_light_code(m.light_code, p.light_code)
    a.thresholds |= p.light_code.thresholds()
    if check.best is not None:
        a.distances["light_step_correlation"] = check.best.step_correlation
        a.distances["light_step_amplitude"] = check.best.step_amplitude
        a.distances["light_lag_s"] = check.best.lag_s
    a.distances["light_frames_under_code"] = float(m.light_code.frames_under_code)
    if not check.passed:
        _spoof(a, _LIGHT_REASONS[check.outcome].value)


def _check_continuity(
    m: CaptureMeasurements, _: CaptureContext, p: OperatingPolicy, a: _Acc
) -> None:
    """No cut or warp jump that the face's own motion does not explain."""
    if m.continuity is None or p.continuity is None:
        return
    check = judge_continuity(m.continuity, p.continuity)
    a.thresholds |= p.continuity.thresholds()
    a.distances["continuity_face_spike"] = check.face_spike
    a.distances["continuity_background_spike"] = check.background_spike
    if not check.passed:
        _spoof(a, CaptureReason.CONTINUITY_BROKEN.value)


CHECKS: tuple[Check, ...] = (
    _check_image,
    _check_face,
    _check_identity,
    _check_replay,
    _check_reference_replay,
    _check_people,
    _check_liveness,
    _check_light_code,
    _check_continuity,
)


def decide_capture(
    m: CaptureMeasurements, context: CaptureContext, policy: OperatingPolicy
) -> CaptureDecision:
    """Run ``CHECKS`` in order over the measurements; see the module doc."""
    if m.model_id and m.model_id != policy.model_id:
        raise ContractMismatch(
            "a capture is decided with its own model's operating policy",
            details={"measured": m.model_id, "policy": policy.model_id},
        )
    a = _Acc()
    for check in CHECKS:
        check(m, context, policy, a)
        if a.stop:
            break
    passed = a.verdict is Verdict.MATCH and not m.replay.exact
    uncertain = a.verdict is Verdict.UNCERTAIN and not m.replay.exact
    verdict = a.verdict
    if m.replay.exact and verdict in (Verdict.MATCH, Verdict.UNCERTAIN):
        verdict = Verdict.REJECTED  # the face may be right; the capture is not new
    reasons = a.reasons
    if not passed and not reasons:
        reasons.append(verdict.value)
    return CaptureDecision(
        passed=passed,
        reasons=tuple(dict.fromkeys(reasons)),
        flags=tuple(dict.fromkeys(a.flags)),
        distance=a.distance,
        threshold=a.threshold,
        model_id=m.model_id,
        timings_ms=dict(m.timings_ms),
        uncertain=uncertain,
        verdict=verdict,
        kind=a.kind,
        thresholds=a.thresholds,
        distances=a.distances,
        policy_id=policy.policy_id,
    )
