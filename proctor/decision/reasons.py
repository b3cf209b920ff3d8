"""The one vocabulary of capture reason and flag codes (pure core).

Values are persisted and public: never rename them. Other modules re-export these
enums under their historical names (``FailureReason``, ``FlagReason``) instead of
declaring a code a second time.
"""

from __future__ import annotations

from enum import StrEnum


class CaptureReason(StrEnum):
    """Why a capture did not pass (quality codes come from ``quality.policy``)."""

    FACE_MISMATCH = "face_mismatch"  # not the reference's (at entry) or the anchor's face
    REFERENCE_MISMATCH = "reference_mismatch"  # anchor agrees, reference clearly someone else
    IDENTITY_UNCERTAIN = "identity_uncertain"  # between the zones: manual review, not a strike
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    REPLAY = "replay"  # the exact pixels of an earlier snapshot
    CAPTURE_TIMEOUT = "capture_timeout"
    REFERENCE_REPLAYED = "reference_replayed"  # the reference photo or a copy (issue 17)
    # the burst's screen-light code (issue 20, proctor.liveness.light_code)
    LIGHT_CODE_MISSING = "light_code_missing"  # no code reflected (or too few frames)
    LIGHT_CODE_MISMATCH = "light_code_mismatch"  # colour changes, but not this code's
    LIGHT_CODE_SHIFTED = "light_code_shifted"  # this code, outside the latency window
    CONTINUITY_BROKEN = "continuity_broken"  # a cut or warp jump (proctor.liveness.continuity)


class CaptureFlag(StrEnum):
    """Proxy evidence for a human. A flag never blacklists by itself (PIPL Art. 24)."""

    PROXY_FACE = "proxy_face"
    EXTRA_PEOPLE = "extra_people"
    REPLAY = "replay"
    REPLAY_SUSPECTED = "replay_suspected"
    SPOOF_SUSPECTED = "spoof_suspected"
    REFERENCE_REPLAYED = "reference_replayed"
