"""Multi-frame fusion (pure): selection by quality, weighting, scale kept."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.matching.fusion import (
    FusionPolicy,
    Weighting,
    frontal_quality,
    fuse,
    fuse_best,
    select_frames,
)


def test_fusing_copies_of_one_embedding_returns_it() -> None:
    v = np.random.default_rng(0).normal(size=128) * 0.1
    assert np.allclose(fuse([v, v, v], [1.0, 0.5, 0.2]), v)


def test_fused_vector_keeps_the_inputs_scale_and_averages_directions() -> None:
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 2.0])
    out = fuse([a, b], None, Weighting.UNIFORM)
    assert np.isclose(np.linalg.norm(out), 1.5)  # mean input norm
    assert np.isclose(out[0], out[1])  # unit directions averaged, not raw vectors


def test_quality_weighting_pulls_towards_the_better_frame() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    out = fuse([a, b], [0.9, 0.1], Weighting.QUALITY)
    assert out[0] > 0.9 * np.linalg.norm(out)
    assert np.allclose(fuse([a, b], [0.9, 0.1], Weighting.UNIFORM), fuse([a, b], None))


def test_fusion_averages_out_frame_noise() -> None:
    rng = np.random.default_rng(3)
    face = rng.normal(size=128)
    face /= np.linalg.norm(face)
    frames = [face + rng.normal(scale=0.05, size=128) for _ in range(8)]
    single = np.linalg.norm(frames[0] - face)
    fused = np.linalg.norm(fuse(frames, [1.0] * 8) - face)
    assert fused < single


def test_select_frames_takes_the_k_best_and_skips_unusable_ones() -> None:
    q = [0.2, float("nan"), 0.9, 0.9, 0.05, 0.7]
    assert select_frames(q, FusionPolicy(k=3)) == [2, 3, 5]
    assert select_frames(q, FusionPolicy(k=10, min_quality=0.1)) == [2, 3, 5, 0]
    vec, used = fuse_best([np.ones(4) * (i + 1) for i in range(6)], q, FusionPolicy(k=2))
    assert used == [2, 3] and np.allclose(vec, np.ones(4) * 3.5)


def test_frontal_quality_and_bad_input() -> None:
    assert frontal_quality(0.0, 25.0) == 1.0
    assert frontal_quality(-12.5, 25.0) == 0.5
    assert frontal_quality(40.0, 25.0) == 0.0
    with pytest.raises(ValueError):
        fuse([])
    with pytest.raises(ValueError):
        fuse([np.zeros(3)])
    with pytest.raises(ValueError):
        FusionPolicy(k=0)
    with pytest.raises(ValueError):
        fuse_best([np.ones(2)], [float("nan")], FusionPolicy())
