"""The pure reference-replay decision (issue 17) and its effect on a comparison outcome."""

from __future__ import annotations

import pytest

from proctor.decision.capture import CaptureContext, CaptureMeasurements, decide_capture
from proctor.decision.policy import OperatingPolicy, ZonePolicy
from proctor.liveness.reference_replay import (
    REFERENCE_REPLAYED,
    ReferenceReplayPolicy,
    check_reference_replay,
    mirrored_fingerprints,
    reference_replay_reasons,
)
from proctor.liveness.replay import Fingerprint
from proctor.types import Template

REF = 0x0123_4567_89AB_CDEF
POLICY = ReferenceReplayPolicy(max_hamming_bits=6, distance_floor_l2=0.15, mirror_floor_l2=0.15)


def flip(h: int, bits: int) -> int:
    return h ^ ((1 << bits) - 1)


@pytest.mark.parametrize(
    ("probe", "distance", "mirror", "expected"),
    [
        (REF, 0.40, None, True),  # the reference chip's hash
        (flip(REF, 6), 0.40, None, True),  # within 6 bits
        (flip(REF, 7), 0.40, None, False),  # a new photo: 7 bits, far embedding
        (flip(REF, 20), 0.149, None, True),  # embedding on top of the reference
        (flip(REF, 20), 0.15, None, False),  # the floor is exclusive
        (flip(REF, 20), 0.40, 0.05, True),  # on top of the mirrored photo's template
        (0, 0.40, None, False),  # no chip: no hash test
        (0, None, None, False),  # nothing measured: not a replay
    ],
)
def test_decision(probe: int, distance: float | None, mirror: float | None, expected: bool) -> None:
    reasons = reference_replay_reasons(probe, distance, [REF], POLICY, mirror_distance=mirror)
    assert reasons == ((REFERENCE_REPLAYED,) if expected else ())


def test_check_reports_what_decided() -> None:
    c = check_reference_replay(flip(REF, 3), 0.5, [flip(REF, 40), REF], POLICY)
    assert c.replayed and c.by_hash and not c.by_distance and c.nearest_hamming_bits == 3


def test_policy_bounds() -> None:
    ReferenceReplayPolicy(max_hamming_bits=-1)  # hash test off
    with pytest.raises(ValueError):
        ReferenceReplayPolicy(max_hamming_bits=65)
    with pytest.raises(ValueError):
        ReferenceReplayPolicy(distance_floor_l2=1.0)


def test_mirrored_fingerprints_are_markers_no_capture_has() -> None:
    import numpy as np

    t = Template("m", np.zeros(4), perceptual_hashes=(REF, flip(REF, 30)))
    own = [Fingerprint("a" * 64, REF)]
    extra = mirrored_fingerprints(t, own)
    assert [f.perceptual_hash for f in extra] == [flip(REF, 30)]
    assert extra[0].present and extra[0].pixel_sha256 != "a" * 64


def test_a_copy_of_the_reference_fails_in_decide_capture_and_raises_a_flag() -> None:
    """The copy check is one step of the single capture decision (issue 16's CHECKS)."""
    policy = OperatingPolicy("m", ZonePolicy(0.38, 0.45))
    entry = CaptureContext()

    def m(d: float, bits: int | None = None, mirror: float | None = None) -> CaptureMeasurements:
        return CaptureMeasurements(
            model_id="m",
            reference_l2=d,
            face_count=1,
            reference_hash_bits=bits,
            reference_mirror_l2=mirror,
        )

    # a genuine new capture: far from the copy tests
    ok = decide_capture(m(0.30, bits=20, mirror=0.5), entry, policy)
    assert ok.passed and REFERENCE_REPLAYED not in ok.reasons
    # by hash, by distance, by the mirrored template: each one alone fails the capture
    for copy in (m(0.30, bits=6), m(0.149, bits=30), m(0.30, bits=30, mirror=0.149)):
        out = decide_capture(copy, entry, policy)
        assert not out.passed and not out.uncertain, copy
        assert out.reasons[0] == REFERENCE_REPLAYED and REFERENCE_REPLAYED in out.flags
        assert out.thresholds["reference_replay_hash_bits"] == 6.0
        assert out.policy_id == policy.policy_id
    # never an ID review for a copy, even when the comparison alone was uncertain
    uncertain = decide_capture(m(0.40, bits=2), entry, policy)
    assert not uncertain.uncertain and uncertain.reasons[0] == REFERENCE_REPLAYED
    # the boundary: 7 bits and 0.15 are not copies
    edge = decide_capture(m(0.15, bits=7, mirror=0.15), entry, policy)
    assert edge.passed
    # the copy thresholds are part of the policy id
    other = OperatingPolicy(
        "m", ZonePolicy(0.38, 0.45), reference_replay=ReferenceReplayPolicy(max_hamming_bits=3)
    )
    assert other.policy_id != policy.policy_id
