"""Is a capture the reference photo, or a copy of it? (pure core, issue 17)

A proxy who holds the driver's real-name photo can show it (or a resized, re-encoded,
cropped or mirrored copy) instead of a live face. A copy of one photo gives an
aligned face chip that is almost the same as the reference chip, and an embedding
almost on top of the reference template; a new photo of the same person does not.
Two tests, either one is enough:

- ``hash``: the probe chip's 64-bit dHash is within ``max_hamming_bits`` of a
  reference chip's hash or of its mirror image's hash (mirrored copies);
- ``distance``: the L2 distance to the reference template is below
  ``distance_floor_l2`` (the copies the hash misses after a crop or a strong
  re-encoding). Genuine captures of the same person are a new photo: they sit
  well above the floor (measured: ``proctor.bench.replay_measure``; SECURITY.md).

Only templates and hashes of the reference are kept, never the photo outside its
evidence retention. :func:`reference_replay_reasons` returns stable reason codes
so that a single capture decision can call it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proctor.liveness.replay import Fingerprint
from proctor.types import Template

REFERENCE_REPLAYED = "reference_replayed"


@dataclass(frozen=True, slots=True)
class ReferenceReplayPolicy:
    # Measured (proctor.bench.replay_measure, SECURITY.md): 137 genuine pairs of the
    # lfw/asian dev lists, none refused (nearest genuine: 7 bits, 0.189 L2); 938 of 959
    # copies caught.
    max_hamming_bits: int = 6
    distance_floor_l2: float = 0.15
    mirror_floor_l2: float = 0.15

    def thresholds(self) -> dict[str, float]:
        return {
            "reference_replay_hash_bits": float(self.max_hamming_bits),
            "reference_replay_floor_l2": self.distance_floor_l2,
            "reference_replay_mirror_floor_l2": self.mirror_floor_l2,
        }

    def __post_init__(self) -> None:
        if not -1 <= self.max_hamming_bits <= 64:
            raise ValueError("max_hamming_bits must be in -1..64 (-1: no hash test)")
        for floor in (self.distance_floor_l2, self.mirror_floor_l2):
            if not 0.0 <= floor < 1.0:
                raise ValueError("distance floors must be in [0, 1)")


@dataclass(frozen=True, slots=True)
class ReferenceReplayCheck:
    replayed: bool
    nearest_hamming_bits: int | None
    distance: float | None
    by_hash: bool = False
    by_distance: bool = False
    mirror_distance: float | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        return (REFERENCE_REPLAYED,) if self.replayed else ()


def nearest_hamming_bits(probe_hash: int, reference_hashes: Iterable[int]) -> int | None:
    """Bits between the probe chip's 64-bit hash and the nearest reference hash (None: no
    probe hash, or no reference hashes)."""
    nearest: int | None = None
    if probe_hash:
        for h in reference_hashes:
            d = ((h ^ probe_hash) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()
            nearest = d if nearest is None else min(nearest, d)
    return nearest


def copy_tests(
    nearest_bits: int | None,
    distance: float | None,
    mirror_distance: float | None,
    policy: ReferenceReplayPolicy,
) -> tuple[bool, bool]:
    """(by_hash, by_distance): the two tests of the module doc on measured values."""
    by_hash = nearest_bits is not None and nearest_bits <= policy.max_hamming_bits
    by_distance = (distance is not None and distance < policy.distance_floor_l2) or (
        mirror_distance is not None and mirror_distance < policy.mirror_floor_l2
    )
    return by_hash, by_distance


def check_reference_replay(
    probe_hash: int,
    distance: float | None,
    reference_hashes: Iterable[int],
    policy: ReferenceReplayPolicy | None = None,
    *,
    mirror_distance: float | None = None,
) -> ReferenceReplayCheck:
    """``probe_hash``: dHash of the probe's aligned chip (0: no chip, hash test skipped);
    ``distance``: L2 to the reference template (None: no embedding); ``reference_hashes``:
    the reference chips' hashes, mirrored ones included; ``mirror_distance``: L2 to the
    template of the mirrored reference photo (None: not enrolled)."""
    policy = policy or ReferenceReplayPolicy()
    nearest = nearest_hamming_bits(probe_hash, reference_hashes)
    by_hash, by_distance = copy_tests(nearest, distance, mirror_distance, policy)
    return ReferenceReplayCheck(
        by_hash or by_distance,
        nearest,
        distance,
        by_hash=by_hash,
        by_distance=by_distance,
        mirror_distance=mirror_distance,
    )


def reference_replay_reasons(
    probe_hash: int,
    distance: float | None,
    reference_hashes: Iterable[int],
    policy: ReferenceReplayPolicy | None = None,
    *,
    mirror_distance: float | None = None,
) -> tuple[str, ...]:
    """``("reference_replayed",)`` when the capture is a copy of the reference, else ``()``."""
    return check_reference_replay(
        probe_hash, distance, reference_hashes, policy, mirror_distance=mirror_distance
    ).reasons


def mirrored_fingerprints(
    template: Template, photo_fps: Sequence[Fingerprint]
) -> list[Fingerprint]:
    """Reference fingerprints for the hashes of the mirrored reference chips (the template
    carries them from enrolment). The pixel digest is a marker that no capture can have."""
    own = {fp.perceptual_hash for fp in photo_fps}
    return [
        Fingerprint(hashlib.sha256(f"mirror:{h:016x}".encode()).hexdigest(), h)
        for h in template.perceptual_hashes
        if h not in own
    ]
