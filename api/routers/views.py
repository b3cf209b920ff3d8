"""Converters from use-case results to response bodies."""

from __future__ import annotations

from datetime import datetime

from api.schemas import (
    ChallengeOut,
    LightSegmentOut,
    ManualReviewOut,
    QueueItemOut,
    SessionOut,
    SubmissionOut,
)
from proctor.liveness.actions import GUIDANCE_ZH, parse_actions
from proctor.services.ports import ManualReview, QueueItem
from proctor.services.sessions import SessionView, SubmissionResult


def submission_out(r: SubmissionResult, now: datetime) -> SubmissionOut:
    """A decided snapshot or burst, as the driver sees it."""
    return SubmissionOut(
        attempt_no=r.attempt_no,
        passed=r.passed,
        reasons=list(r.reasons),
        flags=list(r.flags),
        distance=r.distance,
        threshold=r.threshold,
        session=session_out(r.session, now),
        verdict=r.verdict,
        thresholds=dict(r.thresholds),
        policy_id=r.policy_id,
    )


def session_out(v: SessionView, now: datetime) -> SessionOut:
    c = v.challenge
    return SessionOut(
        session_id=v.session_id,
        kind=v.kind,
        state=v.state,
        challenge=(
            ChallengeOut(
                id=c.id,
                kind=c.kind,
                issued_at=c.issued_at,
                expires_at=c.expires_at,
                guidance=c.guidance,
                actions=[a.value for a in parse_actions(c.actions)],
                action_guidance=[GUIDANCE_ZH[a] for a in parse_actions(c.actions)],
                light_code=[LightSegmentOut.model_validate(seg) for seg in c.light_code.as_json()]
                if c.light_code
                else [],
            )
            if c
            else None
        ),
        consecutive_failures=v.consecutive_failures,
        attempts=v.attempts,
        credited_s=v.credited_s,
        termination_reason=v.termination_reason,
        server_time=now,
    )


def manual_out(m: ManualReview) -> ManualReviewOut:
    return ManualReviewOut(
        review_id=m.id,
        kind=m.kind,
        subject_id=m.subject_id,
        status=m.status,
        decision=m.decision,
        created_at=m.created_at,
    )


def item_out(i: QueueItem) -> QueueItemOut:
    return QueueItemOut(
        flag_id=i.flag_id,
        session_id=i.session_id,
        status=i.status,
        reasons=list(i.reasons),
        raised_at=i.raised_at,
        reviewer_id=i.reviewer_id,
        due_on=i.due_on,
        overdue=i.overdue,
        review_reason=i.review_reason,
    )
