"""Capture challenges: server-issued, single-use, expiring; refusals carry their own codes.

A snapshot must name its challenge. A challenge moves ``open -> submitted ->
decided``; ``open -> expired`` when unanswered past ``expires_at`` (a failed
attempt, ``capture_timeout``); ``submitted -> abandoned`` when the server never
decided it (no counter moves). Anything else presented is refused:

- ``challenge_unknown``: no such challenge anywhere;
- ``challenge_foreign``: it belongs to another session or driver;
- ``challenge_expired``: it expired before the snapshot arrived;
- ``challenge_reused``: it was already submitted (single use);
- ``session_closed``: the session is terminal;
- ``burst_required``: a single snapshot was sent for a challenge with ``actions``.

A refusal never changes any counter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from proctor.errors import ProctorError


class ChallengeKind(StrEnum):
    """Why a capture was requested. Persisted: never rename."""

    ENTRY = "entry"
    RANDOM = "random"
    EXAM_START = "exam_start"
    EXAM_END = "exam_end"
    RETRY = "retry"


class ChallengeState(StrEnum):
    """Challenge lifecycle. Persisted: never rename."""

    OPEN = "open"
    SUBMITTED = "submitted"
    DECIDED = "decided"
    EXPIRED = "expired"
    ABANDONED = "abandoned"

    @property
    def pending(self) -> bool:
        """True while a comparison is outstanding (the exam clock is paused)."""
        return self in (ChallengeState.OPEN, ChallengeState.SUBMITTED)


class RefusalCode(StrEnum):
    """Stable codes for refused snapshots."""

    CHALLENGE_UNKNOWN = "challenge_unknown"
    CHALLENGE_FOREIGN = "challenge_foreign"
    CHALLENGE_EXPIRED = "challenge_expired"
    CHALLENGE_REUSED = "challenge_reused"
    SESSION_CLOSED = "session_closed"
    BURST_REQUIRED = "burst_required"


class ChallengeRefused(ProctorError):
    code = "challenge_refused"


class ChallengeUnknown(ChallengeRefused):
    code = RefusalCode.CHALLENGE_UNKNOWN.value


class ChallengeForeign(ChallengeRefused):
    code = RefusalCode.CHALLENGE_FOREIGN.value


class ChallengeExpired(ChallengeRefused):
    code = RefusalCode.CHALLENGE_EXPIRED.value


class ChallengeReused(ChallengeRefused):
    code = RefusalCode.CHALLENGE_REUSED.value


class SessionClosed(ChallengeRefused):
    code = RefusalCode.SESSION_CLOSED.value


class BurstRequired(ChallengeRefused):
    """A single snapshot was sent for a challenge that asks for actions (send a burst)."""

    code = RefusalCode.BURST_REQUIRED.value


def new_challenge_id(rng: random.Random) -> str:
    """128 random bits as hex; unguessable when ``rng`` is the CSPRNG."""
    return f"{rng.getrandbits(128):032x}"


@dataclass(slots=True)
class CaptureChallenge:
    """One capture request. Times are server UTC; client clocks are never used."""

    id: str
    session_id: str
    kind: ChallengeKind
    issued_at: datetime
    expires_at: datetime
    state: ChallengeState = ChallengeState.OPEN
    guidance: str = ""
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    # Liveness actions (``proctor.liveness.actions.Action`` values) the burst must show,
    # in order; empty: a single snapshot answers the challenge.
    actions: tuple[str, ...] = ()

    @property
    def pending(self) -> bool:
        return self.state.pending
