"""Liveness bursts on real frames: labelled clips from ../shared/data/video and a 2D photo attack.

Clips are read from PROCTOR_VIDEO_DATA (default ../shared/data/video next to the
project); tests that need them skip with the reason when they are absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.bench.liveness import (
    PHOTO,
    Report,
    evaluate_photo,
    load_annotations,
    photo_bursts,
    read_clip,
    reference_from,
    video_root,
    window,
)
from proctor.liveness.burst import BurstAnalyzer
from proctor.liveness.judge import detect_actions
from proctor.testing.real import decide_alone

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def analyzer(pipeline: object) -> Iterator[BurstAnalyzer]:
    yield BurstAnalyzer(pipeline)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def videos() -> Path:
    root = video_root()
    if not (root / "liveportrait" / "d18.mp4").exists():
        pytest.skip(f"shared video data not found at {root} (set PROCTOR_VIDEO_DATA)")
    return root


def burst_at(root: Path, path: str, start_s: float, until_s: float = 8.0):  # type: ignore[no-untyped-def]
    frames, fps = read_clip(root / path, until_s)
    return frames, *window(frames, fps, start_s, 12)


def test_yawn_is_an_open_mouth_and_passes(analyzer: BurstAnalyzer, videos: Path) -> None:
    frames, burst, times = burst_at(videos, "liveportrait/d18.mp4", 1.7)
    ref = reference_from(analyzer, frames[0])
    j = analyzer.judge_frames(ref, burst, times, ["open_mouth"], {})
    assert j.liveness.passed, j.liveness.reasons
    assert j.verification is not None and decide_alone(j.verification).passed
    assert 2 <= len(j.chosen_frames) <= 3  # embeddings on chosen frames only


def test_webcam_blink_is_detected(analyzer: BurstAnalyzer, videos: Path) -> None:
    frames, burst, times = burst_at(videos, "liveportrait/d9.mp4", 0.4)
    ref = reference_from(analyzer, frames[0])
    assert ref is not None
    j = analyzer.judge_frames(ref, burst, times, ["blink"], {})
    assert j.series is not None
    assert "blink" in {e.action.value for e in detect_actions(j.series, analyzer.policy)}


def test_a_labelled_blink_closes_the_refined_eyelids(analyzer: BurstAnalyzer, videos: Path) -> None:
    """LP_d18's labelled blink (fixtures/liveness/annotations.toml): FaceMesh's own lids
    barely move on it; the iris model's lids close past the judge's drop. The iris model
    runs only when a blink is asked (no other measure reads the lids)."""
    from proctor.liveness.judge import SeriesMeasures

    frames, burst, times = burst_at(videos, "liveportrait/d18.mp4", 2.22)
    ref = reference_from(analyzer, frames[0])
    assert ref is not None
    blink = analyzer.judge_frames(ref, burst, times, ["blink"], {})
    assert blink.liveness.passed, blink.liveness.reasons
    assert blink.timings_ms.get("iris", 0.0) > 0.0
    assert blink.series is not None
    ear = np.asarray(SeriesMeasures.of(blink.series).ear)
    assert ear.min() < np.median(ear) * (1.0 - analyzer.policy.blink_min_drop)
    mouth = analyzer.judge_frames(ref, burst, times, ["open_mouth"], {})
    assert "iris" not in mouth.timings_ms


def test_a_fast_webcam_head_turn_is_tracked_frame_by_frame(
    analyzer: BurstAnalyzer, videos: Path
) -> None:
    # real.mov 6.2-8.2 s: the man turns his nose towards the image's left, fast, with motion
    # blur. Points seeded only from the previous frame slid off the face here and the yaw
    # flipped sign (both turns "seen", the identity witness off the face).
    frames, burst, times = burst_at(videos, "pyimagesearch_liveness/real.mov", 6.18, 9.0)
    ref = reference_from(analyzer, frames[0])
    j = analyzer.judge_frames(ref, burst, times, ["turn_right"], {})
    assert j.series is not None
    seen = {e.action.value for e in detect_actions(j.series, analyzer.policy)}
    assert "turn_right" in seen and "turn_left" not in seen, j.liveness.details
    assert "identity_changed_in_burst" not in j.liveness.reasons, j.identity_l2


def test_an_animated_talker_keeps_one_identity_through_the_burst(
    analyzer: BurstAnalyzer, videos: Path
) -> None:
    # d12 0.2-2.2 s: laughing, head bobbing; a labelled blink at 1.52-2.20 s.
    frames, burst, times = burst_at(videos, "liveportrait/d12.mp4", 0.2, 7.0)
    ref = reference_from(analyzer, frames[-1])
    j = analyzer.judge_frames(ref, burst, times, ["blink"], {})
    assert j.identity_l2 and max(j.identity_l2) < analyzer.policy.identity_max_l2
    assert "identity_changed_in_burst" not in j.liveness.reasons


def test_asking_for_a_turn_in_a_still_talking_clip_fails(
    analyzer: BurstAnalyzer, videos: Path
) -> None:
    frames, burst, times = burst_at(videos, "liveportrait/d18.mp4", 1.7)
    ref = reference_from(analyzer, frames[0])
    j = analyzer.judge_frames(ref, burst, times, ["turn_right", "open_mouth"], {})
    assert not j.liveness.passed and "action_missing" in j.liveness.reasons


def test_still_frame_burst_is_rejected(analyzer: BurstAnalyzer, videos: Path) -> None:
    frames, _, _ = burst_at(videos, "liveportrait/d18.mp4", 0.0)
    ref = reference_from(analyzer, frames[0])
    times = [2.0 * k / 11 for k in range(12)]
    for action in ("blink", "turn_left", "turn_right", "open_mouth"):
        j = analyzer.judge_frames(ref, [frames[5]] * 12, times, [action], {})
        assert j.liveness.reasons == ("action_missing",)


def test_annotations_are_timestamps_only() -> None:
    clips, attacks = load_annotations()
    assert clips and all(e.end_s > e.start_s for c in clips for e in c.events)
    assert "replay" in attacks


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    if not PHOTO.exists():
        pytest.skip("fixture portraits missing: run `python -m proctor.fixtures_setup`")
    return np.ascontiguousarray(cv2.imread(str(PHOTO))[:, :, ::-1])


def test_photo_tilted_to_imitate_a_turn_is_flat(analyzer: BurstAnalyzer, photo: np.ndarray) -> None:
    ref = reference_from(analyzer, photo)
    times = [2.0 * k / 11 for k in range(12)]
    bursts = dict(photo_bursts(photo, 12, seed=0))
    for name in ("tilt_left", "tilt_right"):
        j = analyzer.judge_frames(ref, bursts[name], times, ["turn_left"], {})
        assert (
            j.verification is not None and decide_alone(j.verification).passed
        )  # the face is right
        assert not j.liveness.passed
        # Either the warp is read as a turn and caught as flat, or (FaceMesh's 3-D prior
        # keeps a tilted photo's yaw within a few degrees) no turn is seen at all.
        assert "flat_motion_suspected" in j.liveness.reasons or (
            "action_missing" in j.liveness.reasons
            and all(e.action.value != "turn_left" for e in j.liveness.events)
        ), name


def test_photo_attack_passes_no_two_action_challenge(
    analyzer: BurstAnalyzer, photo: np.ndarray
) -> None:
    report = Report()
    evaluate_photo(analyzer, 12, report)
    name = next(iter(report.apcer))
    assert report.apcer[name].total == 160
    assert report.apcer_pair[name].hits == 0, report.attack_reasons
    # Known gap (models/cards/liveness.md): 2 of 40 single-action presentations pass.
    assert report.apcer_single[name].hits <= 2, report.attack_reasons
