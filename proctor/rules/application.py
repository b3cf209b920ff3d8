"""One online 学法减分 application: an explicit state machine (DOMAIN.md (b)).

Every action takes the instant ``at`` (aware) and first calls :meth:`Application.tick`, which
applies the time-driven transitions (window lapses, auto-submit, cycle end). An action that is not
allowed raises :class:`ActionRefused` with reason codes; a transition outside
:data:`~proctor.rules.states.TRANSITIONS` raises :class:`IllegalApplicationTransition`.
Events for the driver are appended to ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from proctor.rules.calendar import WorkdayCalendar, tolerant
from proctor.rules.cycles import Cycle, clearing_reminder
from proctor.rules.deadlines import Deadline, Window, exam_deadline, review_due, study_window
from proctor.rules.driver import DriverRecord
from proctor.rules.eligibility import Stage, check_eligibility, reduced_in_cycle
from proctor.rules.errors import ActionRefused, IllegalApplicationTransition
from proctor.rules.events import EventKind, RuleEvent
from proctor.rules.exam import ExamOutcome
from proctor.rules.points import Mode, Reduction, award_points, reduce_points
from proctor.rules.policy import RetakeAnchor, RulesPolicy
from proctor.rules.reasons import Reason
from proctor.rules.states import ACTIVE, TRANSITIONS, ApplicationState, is_terminal
from proctor.rules.study import StudySegment, counted_seconds, study_complete
from proctor.rules.timeutil import local_date, require_aware

S = ApplicationState
_STUDY_EXPIRED = (Reason.STUDY_WINDOW_CLOSED, Reason.STUDY_TIME_INSUFFICIENT)


class ReductionStatus(StrEnum):
    APPLIED = "applied"
    HELD = "held"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class ReductionDecision:
    status: ReductionStatus
    reasons: tuple[Reason, ...]
    reduction: Reduction | None = None


class Application:
    """Aggregate for one application; create it with :meth:`submit`."""

    def __init__(
        self,
        application_id: str,
        driver_id: str,
        cycle: Cycle,
        policy: RulesPolicy,
        calendar: WorkdayCalendar,
    ) -> None:
        self.application_id = application_id
        self.driver_id = driver_id
        self.cycle = cycle
        self.policy = policy
        # Unknown calendar years never refuse or void: such deadlines are computed Monday–Friday,
        # unverified, i.e. ``pending_calendar``, and recomputed by ``resolve_calendar``.
        self.calendar = tolerant(calendar)
        self.state = S.ELIG_CHECK
        self.reasons: tuple[Reason, ...] = ()
        self.events: list[RuleEvent] = []
        self.history: list[tuple[ApplicationState, ApplicationState, datetime]] = []
        self.study_window: Window | None = None
        self.segments: list[StudySegment] = []
        self.terminated_sessions: set[str] = set()
        self.study_completed_on: date | None = None
        self.exam_deadline: Deadline | None = None
        self.attempts_used = 0
        self.failures: list[datetime] = []
        self.invalid_at: datetime | None = None
        self.review_requests = 0
        self.review_due: Deadline | None = None
        self.reduction: Reduction | None = None
        self.approved_at: datetime | None = None
        self.hold_until: datetime | None = None  # system review waits for the data sync
        self.review_received_on: date | None = None

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def submit(
        cls,
        application_id: str,
        driver: DriverRecord,
        at: datetime,
        policy: RulesPolicy,
        calendar: WorkdayCalendar,
        *,
        has_open_application: bool = False,
    ) -> Application:
        """Run the eligibility check: the result is ``pending_approval`` or ``rejected``."""
        verdict = check_eligibility(driver, at, policy, has_open_application=has_open_application)
        app = cls(application_id, driver.driver_id, verdict.cycle, policy, calendar)
        if not verdict.eligible:
            app._move(S.REJECTED, at, verdict.reasons)
            app.record_event(EventKind.APPLICATION_REJECTED, at, reasons=",".join(verdict.reasons))
            return app
        app._move(S.PENDING_APPROVAL, at)
        reminder = clearing_reminder(driver.cycle_anchor, local_date(at), policy.cycle)
        if reminder.remind:
            app.record_event(
                EventKind.DEADLINE_NEAR,
                at,
                deadline="clearing_date",
                date=reminder.clearing_date.isoformat(),
                days_left=str(reminder.days_left),
            )
        return app

    # -- machinery ------------------------------------------------------------------------------
    def _move(self, to: ApplicationState, at: datetime, reasons: tuple[Reason, ...] = ()) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalApplicationTransition(
                f"{self.state} → {to} is not a transition",
                details={"from": self.state.value, "to": to.value},
            )
        self.history.append((self.state, to, at))
        self.state = to
        self.reasons = reasons

    def record_event(self, kind: EventKind, at: datetime, **details: str) -> None:
        self.events.append(RuleEvent(kind, self.application_id, self.driver_id, at, details))

    def _require(self, at: datetime, *allowed: ApplicationState) -> None:
        self.tick(at)
        if self.state not in allowed:
            if is_terminal(self.state) and self.reasons:
                raise ActionRefused(self.reasons)
            raise IllegalApplicationTransition(
                f"action not allowed in state {self.state}", details={"state": self.state.value}
            )

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.state)

    @property
    def retake_deadline(self) -> datetime | None:
        """Last instant a retake may start (inclusive), or None when no failure is pending."""
        if not self.failures:
            return None
        exam = self.policy.exam
        anchor = self.failures[-1]
        if exam.retake_window_anchor is RetakeAnchor.FIRST_FAILURE:
            anchor = self.failures[0]
        deadline = anchor + timedelta(hours=exam.retake_window_hours)
        if (
            not exam.retake_allowed_after_exam_window
            and self.exam_deadline is not None
            and self.exam_deadline.verified
        ):
            deadline = min(deadline, self.exam_deadline.ends_at - timedelta(microseconds=1))
        return deadline

    @property
    def review_request_deadline(self) -> datetime | None:
        if self.invalid_at is None:
            return None
        return self.invalid_at + timedelta(hours=self.policy.review.request_window_hours)

    @property
    def pending_calendar(self) -> tuple[str, ...]:
        """Deadlines computed without a verified calendar year (never voided while pending)."""
        named = (
            ("study_window", self.study_window.deadline if self.study_window else None),
            ("exam_deadline", self.exam_deadline),
            ("review_due", self.review_due),
        )
        return tuple(name for name, d in named if d is not None and not d.verified)

    def resolve_calendar(self) -> tuple[str, ...]:
        """Recompute pending deadlines; returns the names that are now verified."""
        pending = self.pending_calendar
        if not pending:
            return ()
        pol = self.policy
        if "study_window" in pending and self.approved_at is not None:
            self.study_window = study_window(
                self.approved_at, self.calendar, pol.study, pol.calendar
            )
        if "exam_deadline" in pending and self.study_completed_on is not None:
            self.exam_deadline = exam_deadline(
                self.study_completed_on, self.calendar, pol.exam, pol.calendar
            )
        if "review_due" in pending and self.review_received_on is not None:
            self.review_due = review_due(
                self.review_received_on, self.calendar, pol.review, pol.calendar
            )
        still = set(self.pending_calendar)
        return tuple(name for name in pending if name not in still)

    def tick(self, at: datetime) -> ApplicationState:
        """Apply every transition that time alone causes by instant ``at``.

        A deadline still ``pending_calendar`` never voids: it waits for its year."""
        require_aware(at, "at")
        self.resolve_calendar()
        if self.state in ACTIVE and local_date(at) >= self.cycle.clearing_date:
            self._move(S.VOID_CYCLE_ENDED, at, (Reason.CYCLE_ENDED,))
            self.record_event(EventKind.APPLICATION_VOIDED, at, reason=Reason.CYCLE_ENDED.value)
            return self.state
        window = self.study_window
        if (
            self.state in (S.STUDY_OPEN, S.MANUAL_ID_REVIEW)
            and window is not None
            and window.deadline.verified
        ):
            end = window.deadline.ends_at
            if at >= end:
                if self.state is S.STUDY_OPEN and study_complete(
                    self.study_seconds, self.policy.study
                ):
                    self._complete_study(window.deadline.last_day, end)
                else:
                    self._move(S.VOID_STUDY_EXPIRED, end, _STUDY_EXPIRED)
                    self.record_event(
                        EventKind.STUDY_VOIDED, end, reason=Reason.STUDY_WINDOW_CLOSED.value
                    )
                    return self.state
        deadline = self.exam_deadline
        if (
            self.state is S.STUDY_COMPLETE
            and deadline is not None
            and deadline.verified
            and at >= deadline.ends_at
        ):
            self._move(S.VOID_EXAM_EXPIRED, deadline.ends_at, (Reason.EXAM_WINDOW_CLOSED,))
            self.record_event(EventKind.STUDY_VOIDED, at, reason=Reason.EXAM_WINDOW_CLOSED.value)
        retake = self.retake_deadline
        if self.state is S.EXAM_FAILED and retake is not None and at > retake:
            self._move(S.FAILED_FINAL, at, (Reason.RETAKE_WINDOW_CLOSED,))
        review = self.review_request_deadline
        if self.state is S.RESULT_INVALID_AUTH and review is not None and at > review:
            self._move(S.INVALID_FINAL, at, (Reason.REVIEW_WINDOW_CLOSED,))
        return self.state

    # -- approval -------------------------------------------------------------------------------
    def approve(self, at: datetime) -> Window:
        self._require(at, S.PENDING_APPROVAL)
        pol = self.policy
        window = study_window(at, self.calendar, pol.study, pol.calendar)
        self.study_window = window
        self.approved_at = at
        self._move(S.STUDY_OPEN, at)
        self.record_event(
            EventKind.APPLICATION_APPROVED,
            at,
            study_deadline=window.deadline.last_day.isoformat(),
            verified=str(window.deadline.verified).lower(),
        )
        return window

    def system_review(self, driver: DriverRecord, at: datetime) -> ApplicationState:
        """系统将自动核查: approve, refuse with every reason, or hold while a violation processed
        less than ``sync_window_hours`` ago is still syncing (approval waits, nothing is refused).
        """
        self._require(at, S.PENDING_APPROVAL)
        processed = driver.last_violation_processed_at
        hold = timedelta(hours=self.policy.eligibility.sync_window_hours)
        if processed is not None and at - processed < hold:
            self.hold_until = processed + hold
            return self.state
        self.hold_until = None
        verdict = check_eligibility(driver, at, self.policy)
        if verdict.eligible:
            self.approve(at)
        else:
            self._move(S.REJECTED, at, verdict.reasons)
            self.record_event(EventKind.APPLICATION_REJECTED, at, reasons=",".join(verdict.reasons))
        return self.state

    def reject(self, at: datetime) -> None:
        self._require(at, S.PENDING_APPROVAL)
        self._move(S.REJECTED, at, (Reason.REJECTED_BY_POLICE,))
        self.record_event(
            EventKind.APPLICATION_REJECTED, at, reasons=Reason.REJECTED_BY_POLICE.value
        )

    # -- study ----------------------------------------------------------------------------------
    @property
    def study_seconds(self) -> int:
        if self.study_window is None:
            return 0
        return counted_seconds(
            self.segments, self.study_window, self.policy.study, self.terminated_sessions
        )

    def entry_auth_failed(self, at: datetime) -> None:
        """实人认证 on entry failed: study is blocked until the hand-held ID photo is approved."""
        self._require(at, S.STUDY_OPEN)
        self._move(S.MANUAL_ID_REVIEW, at)

    def manual_id_approved(self, at: datetime) -> None:
        self._require(at, S.MANUAL_ID_REVIEW)
        self._move(S.STUDY_OPEN, at)

    def record_segment(self, segment: StudySegment) -> None:
        window = self.study_window
        self._require(segment.started_at, S.STUDY_OPEN)
        if window is not None and segment.ended_at <= window.opens_at:
            raise ActionRefused((Reason.STUDY_WINDOW_NOT_OPEN,))
        self.segments.append(segment)

    def terminate_session(self, session_id: str, at: datetime) -> None:
        """Three consecutive face failures: that session's time is void; the window stays open."""
        self._require(at, S.STUDY_OPEN)
        self.terminated_sessions.add(session_id)
        self.record_event(EventKind.STUDY_SESSION_VOIDED, at, session_id=session_id)

    def submit_study(self, at: datetime) -> Deadline:
        self._require(at, S.STUDY_OPEN)
        if not study_complete(self.study_seconds, self.policy.study):
            raise ActionRefused((Reason.STUDY_TIME_INSUFFICIENT,))
        self._complete_study(local_date(at), at)
        assert self.exam_deadline is not None
        return self.exam_deadline

    def _complete_study(self, on: date, at: datetime) -> None:
        pol = self.policy
        deadline = exam_deadline(on, self.calendar, pol.exam, pol.calendar)
        self.study_completed_on = on
        self.exam_deadline = deadline
        self._move(S.STUDY_COMPLETE, at)
        self.record_event(
            EventKind.STUDY_COMPLETED, at, exam_deadline=deadline.last_day.isoformat()
        )

    # -- exam -----------------------------------------------------------------------------------
    @property
    def max_attempts(self) -> int:
        return 1 + self.policy.exam.max_retakes

    def start_exam(self, at: datetime) -> int:
        """Start attempt k (1-based); refused when the exam or retake window has closed."""
        self._require(at, S.STUDY_COMPLETE, S.EXAM_FAILED)
        self._move(S.EXAM_IN_PROGRESS, at)
        return self.attempts_used + 1

    def finish_exam(self, outcome: ExamOutcome, at: datetime) -> None:
        self._require(at, S.EXAM_IN_PROGRESS)
        if outcome.passed:
            self._move(S.FINAL_AUTH, at)
            return
        self._fail_attempt(at, Reason.ATTEMPTS_EXHAUSTED, passed="false")

    def invalidate_exam(self, at: datetime) -> None:
        """Three consecutive face failures during the exam: the attempt is invalid."""
        self._require(at, S.EXAM_IN_PROGRESS)
        if self.policy.exam.face_invalid_counts_as_attempt:
            self._fail_attempt(at, Reason.FACE_CHECKS_FAILED, passed="invalid")
            return
        self._move(S.EXAM_FAILED if self.failures else S.STUDY_COMPLETE, at)
        self.record_event(EventKind.EXAM_RESULT, at, passed="invalid", counted="false")

    def _fail_attempt(self, at: datetime, final_reason: Reason, *, passed: str) -> None:
        self.attempts_used += 1
        self.failures.append(at)
        left = self.max_attempts - self.attempts_used
        self.record_event(EventKind.EXAM_RESULT, at, passed=passed, retakes_left=str(left))
        if left <= 0:
            self._move(
                S.FAILED_FINAL, at, tuple(dict.fromkeys((final_reason, Reason.ATTEMPTS_EXHAUSTED)))
            )
        else:
            self._move(S.EXAM_FAILED, at)

    def final_auth(self, passed: bool, at: datetime) -> None:
        """Real-person authentication after the last answer decides whether the pass stands."""
        self._require(at, S.FINAL_AUTH)
        if passed:
            self._move(S.PASSED_PENDING_APPLY, at)
            self.record_event(EventKind.EXAM_RESULT, at, passed="true")
            return
        self.invalid_at = at
        self._move(S.RESULT_INVALID_AUTH, at, (Reason.FINAL_AUTH_FAILED,))
        self.record_event(EventKind.EXAM_RESULT, at, passed="invalid", reason="final_auth_failed")

    # -- review (复核) ---------------------------------------------------------------------------
    def request_review(self, at: datetime) -> Deadline:
        if self.review_requests >= self.policy.review.requests_per_exam_record:
            raise ActionRefused((Reason.REVIEW_ALREADY_REQUESTED,))
        self._require(at, S.RESULT_INVALID_AUTH)
        pol = self.policy
        due = review_due(local_date(at), self.calendar, pol.review, pol.calendar)
        self.review_received_on = local_date(at)
        self.review_requests += 1
        self.review_due = due
        self._move(S.UNDER_REVIEW, at)
        return due

    def decide_review(self, upheld: bool, at: datetime) -> None:
        self._require(at, S.UNDER_REVIEW)
        if upheld:
            self._move(S.PASSED_PENDING_APPLY, at)
        else:
            self._move(S.INVALID_FINAL, at, (Reason.REVIEW_REJECTED,))
        self.record_event(EventKind.REVIEW_RESULT, at, upheld=str(upheld).lower())

    # -- reduction ------------------------------------------------------------------------------
    def reassess(self, driver: DriverRecord, at: datetime) -> tuple[Reason, ...]:
        """A new bar (score 12, licence detained, Art 26) aborts an active application."""
        self.tick(at)
        if self.state not in ACTIVE:
            return ()
        verdict = check_eligibility(driver, at, self.policy, stage=Stage.REDUCTION)
        reasons = tuple(r for r in verdict.reasons if r is not Reason.DATA_SYNC_PENDING)
        if reasons:
            self._move(S.ABORTED_INELIGIBLE, at, reasons)
            self.record_event(EventKind.APPLICATION_VOIDED, at, reasons=",".join(reasons))
        return reasons

    def apply_reduction(
        self, driver: DriverRecord, at: datetime, mode: Mode = Mode.ONLINE
    ) -> ReductionDecision:
        """Re-check eligibility now and reduce, hold (data sync pending) or void."""
        self._require(at, S.PASSED_PENDING_APPLY)
        verdict = check_eligibility(driver, at, self.policy, stage=Stage.REDUCTION)
        if verdict.reasons == (Reason.DATA_SYNC_PENDING,):
            return ReductionDecision(ReductionStatus.HELD, verdict.reasons)
        if not verdict.eligible:
            reasons = tuple(r for r in verdict.reasons if r is not Reason.DATA_SYNC_PENDING)
            return self._void_reduction(at, reasons)
        award = award_points(mode, self.policy.points)
        reduced = reduced_in_cycle(driver, verdict.cycle)
        reduction = reduce_points(award, driver.accumulated_points, reduced, self.policy.points)
        if reduction.removed_points == 0:
            return self._void_reduction(at, reduction.reasons)
        self.reduction = reduction
        self._move(S.REDUCED, at, reduction.reasons)
        self.record_event(
            EventKind.POINTS_REDUCED,
            at,
            removed=str(reduction.removed_points),
            points_after=str(reduction.points_after),
        )
        return ReductionDecision(ReductionStatus.APPLIED, reduction.reasons, reduction)

    def _void_reduction(self, at: datetime, reasons: tuple[Reason, ...]) -> ReductionDecision:
        self._move(S.VOID_NOT_APPLICABLE, at, reasons)
        self.record_event(EventKind.APPLICATION_VOIDED, at, reasons=",".join(reasons))
        return ReductionDecision(ReductionStatus.VOID, reasons)

    # -- fraud and appeal (see proctor.rules.fraud) ---------------------------------------------
    def revoke(self, at: datetime) -> int:
        """Fraud confirmed: the reduction is revoked; returns the points to restore."""
        self._require(at, S.REDUCED)
        self._move(S.REVOKED, at, (Reason.FRAUD_CONFIRMED,))
        return self.reduction.removed_points if self.reduction else 0

    def restore(self, at: datetime) -> int:
        """Appeal upheld: the reduction stands again; returns the points to re-apply."""
        self._require(at, S.REVOKED)
        self._move(S.RESTORED, at, (Reason.APPEAL_UPHELD,))
        return self.reduction.removed_points if self.reduction else 0
