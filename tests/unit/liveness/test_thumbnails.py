"""The continuity check's grey thumbnails: the matrix form against OpenCV's area resize."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from proctor.liveness.burst_evidence import THUMB_SIZE, area_weights, grey_thumbnail


@pytest.mark.parametrize("shape", [(480, 640), (480, 512), (720, 1280), (37, 49), (36, 48)])
def test_grey_thumbnail_is_opencvs_area_shrink_within_one_level(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    # a smooth scene plus noise: both the low and the high frequencies are exercised
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = 128 + 80 * np.sin(xx / 23.0) * np.cos(yy / 17.0)
    rgb = np.clip(base[..., None] + rng.normal(0, 25, (*shape, 3)), 0, 255).astype(np.uint8)
    ours = grey_thumbnail(rgb)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    theirs = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    assert ours.shape == theirs.shape == (THUMB_SIZE[1], THUMB_SIZE[0])
    assert ours.dtype == np.uint8
    assert int(np.abs(ours.astype(int) - theirs.astype(int)).max()) <= 1


def test_area_weights_are_a_partition_of_the_input() -> None:
    w = area_weights(480, 36).astype(np.float64)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)  # each output is a mean
    np.testing.assert_allclose(w.sum(axis=0), 36 / 480, atol=1e-6)  # every input counts once
