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

    def thresholds(self) -> dict[str, float]:
        return {"replay_near_bits": float(self.near_duplicate_max_hamming_bits)}

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


@dataclass(frozen=True, slots=True)
class ReplayMeasures:
    """What the hashes say, before any limit is applied (measured, not decided)."""

    exact: bool = False  # the decoded pixels of an earlier snapshot
    reference_exact: bool = False  # the decoded pixels of a reference photo
    nearest_bits: int | None = None  # to the nearest earlier snapshot or reference
    nearest_reference_bits: int | None = None  # to the nearest reference photo


def measure_replay(
    probe: Fingerprint, earlier: Iterable[Fingerprint], reference: Iterable[Fingerprint] = ()
) -> ReplayMeasures:
    """Compare ``probe`` with the driver's earlier snapshots and reference photos."""
    if not probe.present:
        return ReplayMeasures()
    exact = reference_exact = False
    nearest: int | None = None
    nearest_ref: int | None = None
    for fp in earlier:
        if not fp.present:
            continue
        exact = exact or fp.pixel_sha256 == probe.pixel_sha256
        d = hamming_bits(fp.perceptual_hash, probe.perceptual_hash)
        nearest = d if nearest is None else min(nearest, d)
    for fp in reference:
        if not fp.present:
            continue
        reference_exact = reference_exact or fp.pixel_sha256 == probe.pixel_sha256
        d = hamming_bits(fp.perceptual_hash, probe.perceptual_hash)
        nearest = d if nearest is None else min(nearest, d)
        nearest_ref = d if nearest_ref is None else min(nearest_ref, d)
    return ReplayMeasures(exact, reference_exact, nearest, nearest_ref)


def judge_replay(m: ReplayMeasures, policy: ReplayPolicy) -> ReplayCheck:
    """The replay rule (``decide_capture`` applies it with the operating policy's limit)."""
    limit = policy.near_duplicate_max_hamming_bits
    near_reference = m.reference_exact or (
        m.nearest_reference_bits is not None and m.nearest_reference_bits <= limit
    )
    near = near_reference or (
        m.nearest_bits is not None and m.nearest_bits <= limit and not m.exact
    )
    return ReplayCheck(
        exact=m.exact, near=near, near_reference=near_reference, nearest_hamming_bits=m.nearest_bits
    )


def check_replay(
    probe: Fingerprint,
    earlier: Iterable[Fingerprint],
    reference: Iterable[Fingerprint] = (),
    policy: ReplayPolicy | None = None,
) -> ReplayCheck:
    """Measure and judge in one call (the reviewer's re-verification report)."""
    return judge_replay(measure_replay(probe, earlier, reference), policy or ReplayPolicy())
