"""The continuity check: a live face moves smoothly; a cut or a pasted-in warp jumps."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from proctor.liveness.continuity import (
    ContinuityCheck,
    ContinuityPolicy,
    face_mask_on_thumb,
    judge_continuity,
    measure_continuity,
)

from .synthetic import frame

POLICY = ContinuityPolicy()


def check_continuity(
    pts: list[np.ndarray],
    thumbs: list[npt.NDArray[np.uint8]] | None = None,
    masks: list[npt.NDArray[np.bool_]] | None = None,
) -> ContinuityCheck:
    return judge_continuity(measure_continuity(pts, thumbs or (), masks or ()), POLICY)


def smooth_turn(rng: np.random.Generator, n: int = 30) -> list[np.ndarray]:
    yaws = list(np.linspace(0, 25, n // 2)) + list(np.linspace(25, 0, n - n // 2))
    return [frame(y, shift_px=(0.5 * i, 0.0), noise_px=0.4, rng=rng) for i, y in enumerate(yaws)]


def test_a_smooth_turn_with_landmark_noise_is_continuous() -> None:
    r = check_continuity(smooth_turn(np.random.default_rng(1)))
    assert r.passed and r.at_frame is None, r


def test_a_blink_does_not_break_continuity() -> None:
    rng = np.random.default_rng(2)
    eyes = [1.0] * 30
    eyes[14], eyes[15] = 0.1, 0.5
    r = check_continuity([frame(eye_open=e, noise_px=0.4, rng=rng) for e in eyes])
    assert r.passed, r


def test_a_cut_between_two_takes_is_broken() -> None:
    rng = np.random.default_rng(3)
    first = [frame(2.0, noise_px=0.4, rng=rng) for _ in range(15)]
    # the second take: the head lower, turned and further away
    second = [
        frame(-15.0, shift_px=(12.0, 18.0), scale=0.88, noise_px=0.4, rng=rng) for _ in range(15)
    ]
    r = check_continuity(first + second)
    assert not r.passed and r.at_frame == 15, r


def test_a_background_jump_alone_is_broken() -> None:
    rng = np.random.default_rng(4)
    pts = [frame(noise_px=0.4, rng=rng) for _ in range(30)]
    scene = rng.integers(0, 255, (36, 48), dtype=np.uint8)
    other = rng.integers(0, 255, (36, 48), dtype=np.uint8)
    thumbs = [
        np.clip(scene.astype(int) + rng.integers(-1, 2, scene.shape), 0, 255).astype(np.uint8)
        for _ in range(15)
    ] + [other] * 15
    masks = [face_mask_on_thumb(p, (480, 640), (36, 48)) for p in pts]
    assert check_continuity(pts).passed
    r = check_continuity(pts, thumbs, masks)
    assert not r.passed and r.background_spike > POLICY.max_background_spike, r
