"""Replay checks over hashes that arrive in a ``FaceMeasurement`` (pure core).

- Exact replay: the SHA-256 of the decoded pixels equals that of an earlier
  snapshot of this driver. The attempt fails with ``replay``.
- Near duplicate: the 64-bit perceptual hash is within
  ``near_duplicate_max_hamming_bits`` of an earlier snapshot or of the reference
  photo. This only raises a ``replay_suspected`` flag for a human: a genuine
  driver holding still can produce very similar frames.

A fingerprint with an empty ``pixel_sha256`` carries no hashes and is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    near_duplicate_max_hamming_bits: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.near_duplicate_max_hamming_bits <= 64:
            raise ValueError("near_duplicate_max_hamming_bits must be in 0..64")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Hashes of one image's decoded pixels (never the pixels themselves)."""

    pixel_sha256: str
    perceptual_hash: int

    @property
    def present(self) -> bool:
        return bool(self.pixel_sha256)


@dataclass(frozen=True, slots=True)
class ReplayCheck:
    exact: bool = False
    near: bool = False
    near_reference: bool = False
    nearest_hamming_bits: int | None = None


def hamming_bits(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def check_replay(
    probe: Fingerprint,
    earlier: Iterable[Fingerprint],
    reference: Iterable[Fingerprint] = (),
    policy: ReplayPolicy | None = None,
) -> ReplayCheck:
    """Compare ``probe`` with the driver's earlier snapshots and reference photos."""
    policy = policy or ReplayPolicy()
    if not probe.present:
        return ReplayCheck()
    limit = policy.near_duplicate_max_hamming_bits
    exact = False
    nearest: int | None = None
    for fp in earlier:
        if not fp.present:
            continue
        if fp.pixel_sha256 == probe.pixel_sha256:
            exact = True
        d = hamming_bits(fp.perceptual_hash, probe.perceptual_hash)
        nearest = d if nearest is None else min(nearest, d)
    near_reference = False
    for fp in reference:
        if not fp.present:
            continue
        d = hamming_bits(fp.perceptual_hash, probe.perceptual_hash)
        nearest = d if nearest is None else min(nearest, d)
        if d <= limit or fp.pixel_sha256 == probe.pixel_sha256:
            near_reference = True
    near = near_reference or (nearest is not None and nearest <= limit and not exact)
    return ReplayCheck(
        exact=exact, near=near, near_reference=near_reference, nearest_hamming_bits=nearest
    )
