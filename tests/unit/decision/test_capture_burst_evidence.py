"""``decide_capture`` on the bursts' light-code and continuity measures (issue 20).

The measures are built by hand, so each case sits on a known side of each limit of the
policy's ``LightCodePolicy`` / ``ContinuityPolicy``; with a part off (None) the
measure is ignored.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from proctor.decision.capture import (
    CaptureContext,
    CaptureMeasurements,
    LivenessMeasure,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.decision.reasons import CaptureFlag, CaptureReason
from proctor.liveness.continuity import ContinuityMeasures, ContinuityPolicy
from proctor.liveness.light_code import LagScore, LightCodeMeasures, LightCodePolicy

LIGHT = LightCodePolicy()
CONT = ContinuityPolicy()
POLICY = replace(OperatingPolicy.single_threshold("m", 0.45), light_code=LIGHT, continuity=CONT)
SMOOTH = ContinuityMeasures((0.03,) * 29, (0.01,) * 29, (1.0,) * 29)


def _lag(lag: float, ok: bool, amplitude: float = 0.2) -> LagScore:
    r = 0.95 if ok else 0.2
    return LagScore(lag, r, 0.8 if ok else -0.5, amplitude, 0.8 if ok else 0.1, 0.2, 0.7)


def _light(passing_at: float | None, amplitude: float = 0.2, under: int = 20) -> LightCodeMeasures:
    lags = tuple(
        _lag(x / 40, passing_at is not None and abs(x / 40 - passing_at) < 1e-9, amplitude)
        for x in range(-40, 41)
    )
    return LightCodeMeasures(6, under, 0.1, lags)


def _m(**kw: object) -> CaptureMeasurements:
    base = {
        "model_id": "m",
        "reference_l2": 0.3,
        "face_count": 1,
        "liveness": LivenessMeasure(True, ("liveness_passed",)),
        "continuity": SMOOTH,
    }
    return CaptureMeasurements(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("light", "reason"),
    [
        (_light(0.05), None),
        (_light(0.5), CaptureReason.LIGHT_CODE_SHIFTED),
        (_light(None), CaptureReason.LIGHT_CODE_MISMATCH),
        (_light(None, amplitude=0.01), CaptureReason.LIGHT_CODE_MISSING),
        (_light(0.05, under=LIGHT.min_frames_under_code - 1), CaptureReason.LIGHT_CODE_MISSING),
        (LightCodeMeasures(0, 0), CaptureReason.LIGHT_CODE_MISSING),
    ],
)
def test_light_code_outcomes_have_their_own_reasons(
    light: LightCodeMeasures, reason: CaptureReason | None
) -> None:
    out = decide_capture(_m(light_code=light), CaptureContext(), POLICY)
    assert out.thresholds["light_min_step_correlation"] == LIGHT.min_step_correlation
    if reason is None:
        assert out.passed and out.reasons == ()
        assert out.distances["light_lag_s"] == pytest.approx(0.05)
    else:
        assert not out.passed and out.reasons[0] == reason.value
        assert CaptureFlag.SPOOF_SUSPECTED.value in out.flags


def test_light_code_off_ignores_the_measure() -> None:
    off = replace(POLICY, light_code=None)
    out = decide_capture(_m(light_code=_light(None)), CaptureContext(), off)
    assert out.passed and "light_min_step_correlation" not in out.thresholds
    assert "light_code" not in off.by_kind() and "light_code" in POLICY.by_kind()
    assert off.policy_id != POLICY.policy_id


def test_a_continuity_spike_is_broken_with_its_own_reason() -> None:
    jumps = [0.03] * 29
    jumps[14] = 0.03 * (CONT.max_face_spike + 2)
    cut = ContinuityMeasures(tuple(jumps), (0.01,) * 29, (1.0,) * 29)
    out = decide_capture(_m(continuity=cut), CaptureContext(), POLICY)
    assert not out.passed and out.reasons == (CaptureReason.CONTINUITY_BROKEN.value,)
    assert out.distances["continuity_face_spike"] > CONT.max_face_spike
    assert out.thresholds["continuity_max_face_spike"] == CONT.max_face_spike
    assert decide_capture(_m(), CaptureContext(), POLICY).passed
    assert decide_capture(
        _m(continuity=cut), CaptureContext(), replace(POLICY, continuity=None)
    ).passed


def test_liveness_reasons_come_first_then_light_code_then_identity() -> None:
    m = _m(
        reference_l2=0.9,
        liveness=LivenessMeasure(False, ("action_not_detected",)),
        light_code=_light(None),
    )
    out = decide_capture(m, CaptureContext(), POLICY)
    assert out.reasons == ("action_not_detected", "light_code_mismatch", "face_mismatch")
