"""The screen-light code: safe codes, and the reflection check on modelled colour samples."""

from __future__ import annotations

import random

import numpy as np
import pytest

from proctor.liveness.light_code import (
    GREY,
    PALETTE,
    CodeShape,
    ColourSample,
    LightCheck,
    LightCode,
    LightCodePolicy,
    LightOutcome,
    LightSegment,
    check_safety,
    colour_sample,
    draw_light_code,
    judge_light_code,
    light_code_for,
    measure_burst,
    measure_light_code,
    relative_luminance,
    srgb_to_linear,
    usable_client_times,
)
from proctor.liveness.reflection import ScreenGeometry, lit

from .synthetic import frame

TIMES = [2.0 * i / 29 for i in range(30)]
POLICY = LightCodePolicy()


def check_light_code(
    code: LightCode, times: list[float], colours: list[ColourSample]
) -> LightCheck:
    return judge_light_code(measure_light_code(code, times, colours), POLICY)


SKIN = np.array([0.45, 0.30, 0.22])  # linear albedo × ambient
WALL = np.array([0.30, 0.30, 0.28])


def samples(
    code: LightCode | None,
    k: float = 0.2,
    lag_s: float = 0.067,
    noise: float = 0.004,
    seed: int = 0,
    shift_s: float = 0.0,
) -> list[ColourSample]:
    """Skin and wall colours under ``code`` (None: no code), the physical model of the card."""
    rng = np.random.default_rng(seed)
    out = []
    for t in TIMES:
        light = np.zeros(3)
        if code is not None:
            light = srgb_to_linear(np.asarray(code.colour_at(t - lag_s - shift_s), float))
        exposure = 1.0 + 0.03 * np.sin(3 * t)  # the camera's exposure drifts: both move
        face = SKIN * (1 + k * light) * exposure * (1 + rng.normal(0, noise, 3))
        wall = WALL * (1 + 0.04 * k * light) * exposure * (1 + rng.normal(0, noise / 4, 3))
        out.append(ColourSample(tuple(face), tuple(wall)))  # type: ignore[arg-type]
    return out


def test_palette_is_isoluminant_and_never_a_saturated_red() -> None:
    lum = [relative_luminance(c) for c in (GREY, *PALETTE)]
    assert max(lum) - min(lum) < 0.01
    assert all(c[0] / sum(c) < 0.8 for c in PALETTE)


def test_drawn_codes_are_safe_and_unpredictable() -> None:
    rng = random.Random(1)
    codes = [draw_light_code(rng) for _ in range(300)]
    for c in codes:
        check_safety(c)  # raises if not
        assert c.segments[0].rgb == GREY and abs(c.duration_s - 2.0) < 0.25
        assert all(a.rgb != b.rgb for a, b in zip(c.segments[1:], c.segments[2:], strict=False))
    assert len({tuple(s.rgb for s in c.segments) for c in codes}) > 200


def test_unsafe_codes_are_refused() -> None:
    fast = LightCode(
        (LightSegment(GREY, 0.4), *(LightSegment(PALETTE[i % 2], 0.2) for i in range(6)))
    )
    with pytest.raises(ValueError, match="segment"):
        check_safety(fast)
    flash = LightCode((LightSegment((20, 20, 20), 0.5), LightSegment((250, 250, 250), 0.5)))
    with pytest.raises(ValueError, match="luminance"):
        check_safety(flash)
    with pytest.raises(ValueError):
        CodeShape(min_segment_s=0.2)
    with pytest.raises(ValueError):
        LightCodePolicy(min_lag_s=-2.0)


def test_code_follows_the_challenge_id() -> None:
    assert light_code_for("a" * 32) == light_code_for("a" * 32)
    assert light_code_for("a" * 32) != light_code_for("b" * 32)


def test_the_right_code_passes() -> None:
    code = light_code_for("c1")
    r = check_light_code(code, TIMES, samples(code))
    assert r.passed and r.best is not None, r
    assert 0.0 <= r.best.lag_s <= 0.15


def test_another_challenges_code_is_a_mismatch() -> None:
    code, other = light_code_for("c1"), light_code_for("c2")
    r = check_light_code(code, TIMES, samples(other))
    assert r.outcome is LightOutcome.MISMATCH, r


def test_no_code_is_missing() -> None:
    r = check_light_code(light_code_for("c1"), TIMES, samples(None))
    assert r.outcome is LightOutcome.MISSING, r


def test_the_right_code_late_is_shifted() -> None:
    code = light_code_for("c3")
    r = check_light_code(code, TIMES, samples(code, shift_s=0.45))
    assert r.outcome is LightOutcome.SHIFTED, r


def test_too_few_frames_under_the_code_is_missing() -> None:
    code = light_code_for("c1")
    r = check_light_code(code, TIMES[:6], samples(code)[:6])
    assert r.outcome is LightOutcome.MISSING


def test_geometry_gives_a_stated_k() -> None:
    g = ScreenGeometry()
    assert 0.1 < g.k < 0.3 and g.background_ratio < 0.05
    assert ScreenGeometry(ambient_lux=800).k < g.k / 3


def test_modelled_reflection_on_pixels_is_measured_back() -> None:
    """colour_sample reads the skin's colour where the reflection model puts the light."""
    rgb = np.full((400, 640, 3), (170, 140, 120), np.uint8)
    pts = frame()
    base = colour_sample(rgb, pts)
    magenta = colour_sample(lit(rgb, pts, (255, 36, 255), 0.2, 0.04), pts)
    assert magenta.face[2] / base.face[2] > 1.1 and magenta.face[1] / base.face[1] < 1.05
    assert magenta.background is not None and base.background is not None
    assert magenta.background[2] / base.background[2] < 1.02


def test_client_times_are_used_only_when_usable() -> None:
    assert usable_client_times([0.0, 0.1, 0.2], 3) == (0.0, 0.1, 0.2)
    assert usable_client_times([0.0, 0.1], 3) is None  # one per frame
    assert usable_client_times([0.0, 0.2, 0.1], 3) is None  # never backwards
    assert usable_client_times([0.0, float("nan"), 0.2], 3) is None
    assert usable_client_times([0.0, 0.1, 11.0], 3) is None


def test_burst_is_measured_on_its_tracked_frames_at_the_clients_times() -> None:
    """The analyzer's own times are evenly spaced from 0; the client's say when each frame
    was grabbed under the code: the measure must use the latter, on tracked frames only."""
    code = light_code_for("c1")
    colours = samples(code)
    late = [t + 0.6 for t in TIMES]  # the analyzer's clock is 0.6 s off the code's
    tracked = list(range(len(TIMES)))
    own = judge_light_code(measure_burst(code, late, tracked, colours), POLICY)
    assert not own.passed
    m = measure_burst(code, late, tracked, colours, client_times_s=TIMES)
    assert judge_light_code(m, POLICY).passed
    assert measure_burst(code, late, [], []).frames_under_code == 0
