"""What the session use cases return, and the hooks they take (no behaviour here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from proctor.capture.challenge import CaptureChallenge
from proctor.liveness.light_code import LightCode, light_code_for
from proctor.services.ports import UnitOfWork
from proctor.session.session import ProctorSession
from proctor.session.states import SessionKind, SessionState


@dataclass(frozen=True, slots=True)
class ChallengeView:
    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime
    guidance: str
    # Liveness actions to perform in order (answer with submit_burst); empty: one snapshot.
    actions: tuple[str, ...] = ()
    # The screen-light code to show while recording the burst (issue 20): derived from the
    # challenge's random id, so it needs no storage; None without actions or with it off.
    light_code: LightCode | None = None

    @classmethod
    def of(cls, c: CaptureChallenge | None, light_code: bool = False) -> ChallengeView | None:
        if c is None:
            return None
        code = light_code_for(c.id) if light_code and c.actions else None
        return cls(c.id, c.kind.value, c.issued_at, c.expires_at, c.guidance, c.actions, code)


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: str
    kind: str
    state: str
    challenge: ChallengeView | None
    consecutive_failures: int
    attempts: int
    credited_s: float
    termination_reason: str = ""  # set when the session ended invalid

    @classmethod
    def of(
        cls, s: ProctorSession, challenge: CaptureChallenge | None, light_code: bool = False
    ) -> SessionView:
        return cls(
            s.id,
            s.kind.value,
            s.state.value,
            ChallengeView.of(challenge, light_code),
            s.consecutive_failures,
            len(s.attempts),
            s.credited_s,
            s.termination_reason,
        )


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    attempt_no: int
    passed: bool
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    distance: float | None
    threshold: float | None
    evidence_id: str | None
    session: SessionView
    # the decision as recorded: verdict, every threshold that decided, the policy's id
    verdict: str = ""
    thresholds: dict[str, float] = field(default_factory=dict)
    policy_id: str = ""


# runs inside the transaction that records a decision (see SubmitCapture)
OnRecorded = Callable[[UnitOfWork, SubmissionResult], None]
# runs inside the transaction that opens a session; raises to refuse (consent, one open)
Admit = Callable[[UnitOfWork, str, SessionKind, datetime], None]
# runs inside the transaction that claims a challenge; raises to refuse (consent)
AdmitCapture = Callable[[UnitOfWork, str], None]


def anchor_key(session_id: str) -> str:
    """Template-store key of a session's anchor (sealed like every template)."""
    return f"anchor:{session_id}"


def is_active(view: SessionView) -> bool:
    return view.state == SessionState.ACTIVE.value
