"""Loading and saving a session inside a use case's transaction (shared by every use case)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from proctor.capture.challenge import ChallengeRefused, ChallengeUnknown
from proctor.clock import Clock
from proctor.services.common import NotFound, publish
from proctor.services.ports import RetentionClass, UnitOfWork
from proctor.services.sessions.views import anchor_key
from proctor.session.session import ProctorSession

# evidence of a closed session is kept this long for a 复核 request
REVIEW_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SessionStore:
    """The unit-of-work factory, clock and rng every session use case shares.

    ``anchored``: session anchoring is on (the operating policy has an anchor part); a
    session's anchor template is deleted when the session closes. ``light_code``: burst
    challenges carry their screen-light code (the operating policy has a light-code part).
    """

    uow: Callable[[], UnitOfWork]
    clock: Clock
    rng: random.Random
    anchored: bool
    light_code: bool = False

    def load(self, uow: UnitOfWork, session_id: str, driver_id: str) -> ProctorSession:
        s = uow.sessions.get(session_id)
        if s is None or s.driver_id != driver_id:
            raise NotFound(details={"session_id": session_id})  # do not confirm it exists
        s.rng = self.rng
        return s

    def load_for_challenge(
        self, uow: UnitOfWork, session_id: str, driver_id: str, challenge_id: str
    ) -> ProctorSession:
        s = uow.sessions.get(session_id)
        owner = uow.sessions.session_of_challenge(challenge_id)
        # Someone else's challenge or session is answered exactly like an unknown one:
        # the code must not tell an attacker which ids exist (issue 17).
        if s is None or s.driver_id != driver_id or (owner is not None and owner != s.id):
            raise ChallengeUnknown(details={"challenge_id": challenge_id})
        s.rng = self.rng
        return s

    def refuse(
        self, uow: UnitOfWork, s: ProctorSession, challenge_id: str, refused: ChallengeRefused
    ) -> None:
        """Audit a refused claim and commit what time changed (expiries), not the refusal."""
        self.flush(uow, s)
        uow.audit.append(
            actor=s.driver_id,
            action="snapshot_refused",
            subject=s.id,
            details={"code": refused.code, "challenge_id": challenge_id},
            at=self.clock.now(),
        )
        uow.commit()

    def flush(self, uow: UnitOfWork, s: ProctorSession) -> None:
        """Save the session and publish its events; a closed session's evidence gets its
        review-window retention and its anchor template is deleted."""
        events = s.pull_events()
        uow.sessions.save(s)
        publish(uow, s.driver_id, events)
        if s.terminal and s.closed_at is not None:
            self._close_retention(uow, s)
            if self.anchored:
                uow.templates.delete(anchor_key(s.id))  # the anchor lives as long as its session

    @staticmethod
    def _close_retention(uow: UnitOfWork, s: ProctorSession) -> None:
        assert s.closed_at is not None
        until = s.closed_at + REVIEW_WINDOW
        for evidence_id in uow.evidence.for_session(s.id):
            current = uow.evidence.retention_of(evidence_id)
            if current is None:
                continue
            retention, delete_after = current
            if retention in (RetentionClass.PASSED, RetentionClass.FAILED) and (
                delete_after is None or delete_after > until
            ):
                uow.evidence.set_retention([evidence_id], retention, until)
