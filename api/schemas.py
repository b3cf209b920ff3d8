"""Request and response bodies (pydantic). No image bytes or embeddings in any of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.auth import Role


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


LivenessAction = Literal["blink", "turn_left", "turn_right", "open_mouth"]


class LightSegmentOut(BaseModel):
    rgb: str = Field(description="#rrggbb sRGB colour")
    ms: int = Field(description="how long to show it")


class ChallengeOut(BaseModel):
    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime
    guidance: str = Field(description="Chinese guidance to show, actions included in order")
    actions: list[LivenessAction] = Field(
        description="Liveness actions to perform in this order during a burst of about 2 s "
        "(POST /v1/sessions/{session_id}/bursts); empty: answer with one snapshot. "
        "turn_left is the driver's own left; upload unmirrored frames."
    )
    action_guidance: list[str] = Field(
        description="Chinese guidance per action, same order as actions "
        "(请眨眼, 请向左转头, 请向右转头, 请张嘴)"
    )
    light_code: list[LightSegmentOut] = Field(
        default_factory=list,
        description="Screen-light code for the burst (issue 20): show each colour "
        "full-screen for its ms, in order, starting with the recording, and send each "
        "frame's time from the code's start as the multipart field frame_times_ms "
        "(comma-separated). Empty: no code (a snapshot).",
    )


class SessionOut(BaseModel):
    session_id: str
    kind: str
    state: str
    challenge: ChallengeOut | None
    consecutive_failures: int
    attempts: int
    credited_s: float
    server_time: datetime
    termination_reason: str = Field(
        "",
        description="why a terminated_invalid session ended: three_consecutive_failures, "
        "identity_review_rejected or identity_review_expired; empty otherwise",
    )


class OpenSessionIn(Strict):
    kind: Literal["study"] = "study"


class CaptureDecisionOut(BaseModel):
    """The capture decision as recorded: the same on the attempt and its audit entry."""

    verdict: str = Field(
        "", description="match, no_match, uncertain or rejected (proctor.decision.capture)"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="every threshold that decided, by name (e.g. reference_match_l2, "
        "anchor_l2), as in the operating policy named by policy_id",
    )
    policy_id: str = Field("", description="the operating policy (GET /readyz names it)")


class SubmissionOut(CaptureDecisionOut):
    attempt_no: int
    passed: bool
    reasons: list[str]
    flags: list[str]
    distance: float | None
    threshold: float | None
    session: SessionOut


class ConsentTextOut(BaseModel):
    text_version: str
    text: str
    text_sha256: str


class ConsentIn(Strict):
    text_sha256: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")
    channel: Literal["app", "web", "window"] = "app"


class ConsentOut(BaseModel):
    consent_id: str
    text_version: str
    given_at: datetime


class WithdrawOut(BaseModel):
    withdrawn: int


class EnrolledOut(BaseModel):
    enrolled: bool


class EligibilityOut(BaseModel):
    eligible: bool
    reasons: list[str]
    cycle_start: date
    clearing_date: date
    has_open_application: bool


class ApplicationOut(BaseModel):
    application_id: str
    state: str
    reasons: list[str]
    created_at: datetime
    details: dict[str, Any]


class QuestionOut(BaseModel):
    index: int
    question_id: str
    kind: str
    stem: str
    options: dict[str, str]
    budget_s: float
    session: SessionOut


class AnswerIn(Strict):
    choice: str = Field(min_length=1, max_length=4, pattern=r"^[A-Z]$")


class AnswerOut(BaseModel):
    index: int
    correct: bool
    counted: bool
    effective_s: float
    wrong_so_far: int
    exam_over: bool
    session: SessionOut


class ExamResultOut(BaseModel):
    passed: bool
    valid: bool
    correct: int
    wrong: int
    questions_used: int
    ended_early: bool
    session_state: str
    application_id: str | None = None
    point_reduction: dict[str, Any] | None = None  # status applied/held/void, removed_points


class StatementIn(Strict):
    statement: str = Field(default="", max_length=2000)


class ManualReviewOut(BaseModel):
    review_id: str
    kind: str
    subject_id: str
    status: str
    decision: str | None
    created_at: datetime


class BlacklistOut(BaseModel):
    blacklist_id: str
    status: str
    start_at: datetime
    platform_until: datetime


class AppealOut(BaseModel):
    appeal_id: str
    blacklist_id: str
    status: str
    filed_at: datetime


class QueueItemOut(BaseModel):
    flag_id: str
    session_id: str
    status: str
    reasons: list[str]
    raised_at: datetime
    reviewer_id: str | None
    due_on: date | None = None  # last day for the decision (working days, Asia/Shanghai)
    overdue: bool = False
    review_reason: str = ""


class QueueOut(BaseModel):
    flags: list[QueueItemOut]
    manual_reviews: list[ManualReviewOut]
    unassigned: int


class ClaimOut(BaseModel):
    case_id: str | None


class AttemptOut(CaptureDecisionOut):
    attempt_no: int
    reasons: list[str]
    flags: list[str]
    distance: float | None
    threshold: float | None


class ReplayCheckOut(BaseModel):
    exact: bool
    near: bool
    near_reference: bool
    nearest_hamming_bits: int | None = None


class ReverifySnapshotOut(BaseModel):
    """One evidence crop re-run through the review profile: measurements, never pixels."""

    evidence_id: str
    verdict: Literal["match", "mismatch", "uncertain", "unusable"]
    distances: dict[str, float] = Field(description="L2 per model/runtime (model_id/runtime)")
    quality_reasons: list[str]
    replay: ReplayCheckOut
    yaw_deg: float = 0.0
    sharpness: float = 0.0


class ReverifyReportOut(BaseModel):
    """A case's re-verification: the recommendation for the human, with its evidence."""

    case_id: str
    job_id: str | None = None
    kind: str | None = None
    source_id: str | None = Field(default=None, description="flag id, 复核 review id, appeal id")
    recommendation: Literal["uphold_match", "confirm_mismatch", "needs_human"]
    reasons: list[str]
    snapshots: list[ReverifySnapshotOut]
    zones: dict[str, float] = {}
    group_id: str | None = Field(default=None, description="proxy ring shared with other cases")


class ReviewCaseOut(BaseModel):
    """The review case behind a flag or 复核: deadline, recommendation, decision."""

    case_id: str
    kind: Literal["fuxi", "flag", "appeal"]
    status: Literal["open", "assigned", "decided"]
    received_at: datetime
    due_on: date
    overdue: bool
    recommendation: Literal["uphold_match", "confirm_mismatch", "needs_human"] | None = None
    group_id: str | None = None
    decision: str | None = None
    decision_reasons: list[str] = []
    point_reduction: dict[str, Any] | None = None
    report: ReverifyReportOut | None = None


class CaseOut(BaseModel):
    flag: QueueItemOut
    evidence_ids: list[str]
    reference_ids: list[str]
    attempts: list[AttemptOut] = []
    review_case: ReviewCaseOut | None = None


class ManualCaseOut(ManualReviewOut):
    """A manual review as its reviewer sees it; a 复核 carries its review case."""

    evidence_ids: list[str] = []
    # the driver's registered photo crops, to set beside the evidence
    reference_ids: list[str] = []
    review_case: ReviewCaseOut | None = None
    session_state: str | None = Field(
        None, description="the reviewed session's state now (None: no such session)"
    )
    session_termination_reason: str = Field(
        "", description="e.g. identity_review_expired: the driver's wait ran out"
    )


CaseRef = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class ReviewJobIn(Strict):
    """Which of the caller's cases to re-verify; criteria combine (all must hold).

    ``case_ids`` takes review case ids, flag ids or 复核 review ids. With no criterion
    every case assigned to the caller is selected.
    """

    case_ids: list[CaseRef] = Field(default=[], max_length=500)
    since: AwareDatetime | None = Field(default=None, description="received at or after")
    until: AwareDatetime | None = Field(default=None, description="received before")
    statuses: list[Literal["open", "assigned", "decided"]] = Field(default=[], max_length=3)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class ReviewJobOut(BaseModel):
    job_id: str
    status: Literal["running", "finished"]
    done: int
    total: int
    percent: float = Field(description="done / total × 100, one decimal; 100 when total is 0")
    created_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] = {}


class ReviewJobResultsOut(BaseModel):
    job: ReviewJobOut
    cases: list[ReverifyReportOut]
    groups: list[list[str]]


class ReviewIn(Strict):
    recommendation: Literal["uphold", "dismiss"]
    reason: str = Field(min_length=1, max_length=2000, description="why: required, kept on record")


class FlagOut(BaseModel):
    flag_id: str
    status: str
    reviewer_id: str | None
    adjudicator_id: str | None


class DecisionIn(Strict):
    uphold: bool
    note: str = Field(default="", max_length=2000)


class DecisionOut(BaseModel):
    flag_id: str
    upheld: bool
    blacklist_id: str | None


class ManualDecisionIn(Strict):
    approve: bool
    reason: str = Field(default="", max_length=2000, description="why (kept with a 复核 decision)")


class AppealDecisionIn(Strict):
    uphold: bool


class AuditOut(BaseModel):
    ok: bool


class ReductionIn(Strict):
    on: date
    points: int = Field(ge=0, le=12)


class DriverRecordIn(Strict):
    first_licence_date: date
    cycle_points: int = Field(default=0, ge=0, le=36)
    carried_over_points: int = Field(default=0, ge=0, le=36)
    pending_violation_count: int = Field(default=0, ge=0, le=1000)
    licence_review_overdue: bool = False
    licence_detained: bool = False
    vehicle_inspection_overdue: bool = False
    vehicle_not_deregistered: bool = False
    # issue 18: the rest of the record; a bad or naive date is 422 naming the field
    last_violation_processed_at: AwareDatetime | None = None
    temporary_permit_date: date | None = None
    platform_blacklist_until: date | None = None
    licence_grant_dates: list[date] = Field(default_factory=list, max_length=20)
    full_score_education_dates: list[date] = Field(default_factory=list, max_length=50)
    serious_offence_dates: list[date] = Field(default_factory=list, max_length=50)
    fraud_record_dates: list[date] = Field(default_factory=list, max_length=50)
    reductions: list[ReductionIn] = Field(default_factory=list, max_length=100)


class TokenIn(Strict):
    sub: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    role: Role


class TokenOut(BaseModel):
    token: str
    expires_in_s: int


class HealthOut(BaseModel):
    status: str
    checks: dict[str, bool] = {}
    # The operating policy every capture is decided with (id = model@digest), and the
    # thresholds that decide each kind of capture (entry, anchored) plus the flag margin.
    policy_id: str | None = None
    thresholds: dict[str, dict[str, float]] | None = None
    # /readyz: "snorm" with the cohort's size and id, or "raw" and why (issue 21)
    cohort: dict[str, Any] | None = None
    details: dict[str, Any] = {}  # e.g. the working-day calendar (issue 18)
    warnings: list[str] = []  # e.g. calendar_year_ending, calendar_pending: still ready
