"""Session kinds, states, reason codes and the transition table.

Values are persisted and public: never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from proctor.errors import ProctorError


class SessionKind(StrEnum):
    STUDY = "study"
    EXAM = "exam"


class SessionState(StrEnum):
    ACTIVE = "active"
    # The entry check was uncertain (between the zones): the session waits, without a
    # strike, for a human to check a photo of the driver holding their ID.
    IDENTITY_REVIEW = "identity_review"
    COMPLETED = "completed"
    TERMINATED_INVALID = "terminated_invalid"

    @property
    def terminal(self) -> bool:
        return not TRANSITIONS[self]


TRANSITIONS: Final[Mapping[SessionState, frozenset[SessionState]]] = {
    SessionState.ACTIVE: frozenset(
        {SessionState.COMPLETED, SessionState.TERMINATED_INVALID, SessionState.IDENTITY_REVIEW}
    ),
    SessionState.IDENTITY_REVIEW: frozenset({SessionState.ACTIVE, SessionState.TERMINATED_INVALID}),
    SessionState.COMPLETED: frozenset(),
    SessionState.TERMINATED_INVALID: frozenset(),
}


class FailureReason(StrEnum):
    """Failure reasons this package adds to the verifier's own codes."""

    FACE_MISMATCH = "face_mismatch"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    REPLAY = "replay"
    CAPTURE_TIMEOUT = "capture_timeout"
    IDENTITY_UNCERTAIN = "identity_uncertain"  # between the zones at entry: not a strike
    REFERENCE_REPLAYED = "reference_replayed"  # the reference photo or a copy (issue 17)


class FlagReason(StrEnum):
    """Proxy evidence for a human. A flag never blacklists by itself (PIPL Art. 24)."""

    PROXY_FACE = "proxy_face"
    EXTRA_PEOPLE = "extra_people"
    REPLAY = "replay"
    REPLAY_SUSPECTED = "replay_suspected"
    SPOOF_SUSPECTED = "spoof_suspected"
    REFERENCE_REPLAYED = "reference_replayed"


class SessionRefused(ProctorError):
    """An operation the session cannot take in its current state (no state changes)."""

    code = "session_refused"


class CapturePending(SessionRefused):
    code = "capture_pending"


class IdentityNotVerified(SessionRefused):
    code = "identity_not_verified"


class QuestionOutOfOrder(SessionRefused):
    code = "question_out_of_order"


class WrongSessionKind(SessionRefused):
    code = "wrong_session_kind"


class IdentityReviewPending(SessionRefused):
    """The session waits for a human's identity check; nothing else moves until then."""

    code = "identity_review_pending"
