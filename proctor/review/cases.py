"""Review-case use cases: open (复核 request, flag, appeal), assign, hold evidence, decide.

A 复核 request is accepted once per exam record (the case is unique per session)
and within 24 h of the invalid result; the due date is 3 working days after
receipt (rules module). Flags and appeals open their case once (unique per
source). Opening a case *holds* the evidence it needs (class ``review_held``,
no ``delete_after``): a failed session's crops would otherwise expire 24 h after
close, while the decision may take 3 working days. The decision releases the
hold: each crop goes back to its own class, counted from the decision. Reading
evidence (re-verification, reviewer views) never touches retention.

A passing 复核 decision makes the exam result valid and runs the rules module's
point reduction (eligibility re-checked at reduction time, award, per-cycle cap);
the driver is notified of the decision and of the reduction. Every step is audited.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.errors import IllegalTransition
from proctor.review.ports import ReviewUnitOfWork, Selection
from proctor.review.queue import CaseKind, CaseStatus, ReviewCase, due_for, overdue
from proctor.rules import Response, score_exam
from proctor.rules.calendar import WorkdayCalendar
from proctor.rules.eligibility import Stage, check_eligibility, reduced_in_cycle
from proctor.rules.points import Mode, award_points, reduce_points
from proctor.rules.policy import RulesPolicy
from proctor.rules.reasons import Reason
from proctor.rules.timeutil import local_date
from proctor.services.applications import FuxiDecided, reduced_body
from proctor.services.common import NotFound, NotOwner, new_id
from proctor.services.ports import ExamRecord, ManualReview, NotificationEvent, RetentionClass
from proctor.services.records import driver_record_from_json
from proctor.services.review import check_fuxi_allowed

# After the decision the normal class runs again from the decision: 24 h, the window the
# driver has to contest it (SECURITY.md c.4: "delete ≤ 24 h after the final decision").
AFTER_DECISION = timedelta(hours=24)
_SHORT = (RetentionClass.PASSED, RetentionClass.FAILED)
EXAM_NOT_PASSED = "exam_not_passed"  # stable code: the exam's own score did not pass


class ReviewCaseService:
    def __init__(
        self,
        uow: Callable[[], ReviewUnitOfWork],
        clock: Clock,
        calendar: WorkdayCalendar,
        rules: RulesPolicy,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._clock = uow, clock
        self._calendar, self._rules = calendar, rules
        self._rng = rng or default_rng()
        # The application lifecycle decides the reduction of an exam that belongs to an
        # application (ApplicationFlow.review_decided_in); None for an exam outside one.
        self.on_fuxi_decided: FuxiDecided | None = None

    # ---- opening ------------------------------------------------------------------------------
    def request_fuxi(
        self, session_id: str, driver_id: str, statement: str
    ) -> tuple[ManualReview, ReviewCase]:
        """The driver's 复核 request: the manual review, its case and the evidence hold, at once."""
        now = self._clock.now()
        with self._uow() as uow:
            check_fuxi_allowed(uow, session_id, driver_id, now)
            if uow.review_cases.by_source(CaseKind.FUXI.value, session_id) is not None:
                raise IllegalTransition(
                    "a 复核 was already requested for this record",
                    details={"session_id": session_id, "reason": "review_already_requested"},
                )
            evidence = tuple(uow.evidence.for_session(session_id))
            m = ManualReview(
                id=new_id(self._rng),
                driver_id=driver_id,
                kind="fuxi",
                subject_id=session_id,
                created_at=now,
                evidence_ids=evidence,
                statement=statement,
            )
            uow.manual_reviews.add(m)
            uow.audit.append(
                actor=driver_id,
                action="fuxi_requested",
                subject=m.id,
                details={"evidence": len(evidence)},
                at=now,
            )
            case = self._open_in(
                uow, CaseKind.FUXI, session_id, session_id, driver_id, evidence, now
            )
            case.details["manual_review_id"] = m.id
            uow.review_cases.save(case)
            uow.commit()
        return m, case

    def open_from_flag(self, flag_id: str) -> ReviewCase:
        """The flag's case (opened once; received when the flag was raised)."""
        with self._uow() as uow:
            flag = uow.flags.get(flag_id)
            if flag is None:
                raise NotFound(details={"flag_id": flag_id})
            case = self.open_flag_in(uow, flag_id)
            uow.commit()
        return case

    def open_flag_in(self, uow: ReviewUnitOfWork, flag_id: str) -> ReviewCase:
        """Inside the caller's transaction: the flag's case, opened if it has none."""
        existing = uow.review_cases.by_source(CaseKind.FLAG.value, flag_id)
        if existing is not None:
            return existing
        flag = uow.flags.get(flag_id)
        assert flag is not None
        return self._open_in(
            uow,
            CaseKind.FLAG,
            flag_id,
            flag.session_id,
            flag.driver_id,
            flag.evidence_ids,
            flag.raised_at,
        )

    def sync_flags(self) -> int:
        """Open the case of every undecided flag that has none yet (idempotent)."""
        with self._uow() as uow:
            items = uow.review_queue.flags(["open", "reviewed"], 5000)
            missing = [
                i.flag_id
                for i in items
                if uow.review_cases.by_source(CaseKind.FLAG.value, i.flag_id) is None
            ]
            for flag_id in missing:
                self.open_flag_in(uow, flag_id)
            if missing:
                uow.commit()
        return len(missing)

    def open_from_appeal(self, appeal_id: str) -> ReviewCase:
        with self._uow() as uow:
            appeal = uow.appeals.get(appeal_id)
            if appeal is None:
                raise NotFound(details={"appeal_id": appeal_id})
            existing = uow.review_cases.by_source(CaseKind.APPEAL.value, appeal_id)
            if existing is not None:
                return existing
            entry = uow.blacklist.get(appeal.blacklist_id)
            flag = uow.flags.get(entry.flag_id) if entry else None
            if flag is None:
                raise NotFound(details={"appeal_id": appeal_id})
            case = self._open_in(
                uow,
                CaseKind.APPEAL,
                appeal_id,
                flag.session_id,
                flag.driver_id,
                flag.evidence_ids,
                appeal.filed_at,
            )
            uow.commit()
        return case

    # ---- hooks from the adjudication service --------------------------------------------------
    def appeal_filed(self, appeal_id: str) -> None:
        self.open_from_appeal(appeal_id)

    def flag_decided(self, flag_id: str, adjudicator_id: str, upheld: bool) -> None:
        self._close_source(CaseKind.FLAG, flag_id, adjudicator_id, upheld)

    def appeal_decided(self, appeal_id: str, adjudicator_id: str, upheld: bool) -> None:
        self._close_source(CaseKind.APPEAL, appeal_id, adjudicator_id, upheld)

    # ---- assignment and views -----------------------------------------------------------------
    def assign(self, case_id: str, reviewer_id: str) -> ReviewCase:
        with self._uow() as uow:
            case = self._get(uow, case_id)
            if case.status is CaseStatus.DECIDED:
                raise IllegalTransition("case already decided", details={"case_id": case_id})
            case.assigned_to, case.status = reviewer_id, CaseStatus.ASSIGNED
            uow.review_cases.save(case)
            self._audit(uow, reviewer_id, "review_case_assigned", case_id, {})
            uow.commit()
        return case

    def assign_source(self, kind: CaseKind, source_id: str, reviewer_id: str) -> None:
        """The reviewer claimed the flag / manual review: the case follows (opened if needed)."""
        with self._uow() as uow:
            if kind is CaseKind.FLAG:
                if uow.flags.get(source_id) is None:
                    return
                case: ReviewCase | None = self.open_flag_in(uow, source_id)
            else:
                case = uow.review_cases.by_source(kind.value, source_id)
            if case is None or case.status is CaseStatus.DECIDED:
                uow.commit()
                return
            case.assigned_to, case.status = reviewer_id, CaseStatus.ASSIGNED
            uow.review_cases.save(case)
            self._audit(uow, reviewer_id, "review_case_assigned", case.id, {})
            uow.commit()

    def case_of(self, kind: CaseKind, source_id: str) -> ReviewCase | None:
        with self._uow() as uow:
            return uow.review_cases.by_source(kind.value, source_id)

    def report_of(self, case_id: str) -> tuple[str, dict[str, Any]] | None:
        """The newest re-verification report of a case and the job that made it."""
        with self._uow() as uow:
            return uow.review_jobs.latest_for_case(case_id)

    def overdue(self) -> list[ReviewCase]:
        with self._uow() as uow:
            cases = uow.review_cases.select(Selection(statuses=("open", "assigned")))
        return overdue(cases, self._clock.now())

    # ---- decisions ----------------------------------------------------------------------------
    def decide(
        self, case_id: str, reviewer_id: str, passed: bool, reasons: tuple[str, ...]
    ) -> ReviewCase:
        """The human decision. Passing a 复核: the exam result is valid and points are reduced."""
        if not reasons:
            raise IllegalTransition("a decision needs its reasons")
        now = self._clock.now()
        with self._uow() as uow:
            case = self._get(uow, case_id)
            if case.assigned_to != reviewer_id:
                raise NotOwner(details={"case_id": case_id})
            if case.status is CaseStatus.DECIDED:
                raise IllegalTransition("case already decided", details={"case_id": case_id})
            self._decide_in(uow, case, reviewer_id, passed, reasons, now)
            uow.commit()
        return case

    def decide_fuxi(
        self, review_id: str, reviewer_id: str, approve: bool, reason: str
    ) -> ManualReview | None:
        """Decide a 复核 manual review and its case together; None when it has no case."""
        now = self._clock.now()
        with self._uow() as uow:
            m = uow.manual_reviews.get(review_id)
            if m is None or m.assigned_to != reviewer_id:
                raise NotOwner(details={"review_id": review_id})
            case = uow.review_cases.by_source(CaseKind.FUXI.value, m.subject_id)
            if m.kind != "fuxi" or case is None:
                return None
            if m.status != "open" or case.status is CaseStatus.DECIDED:
                raise IllegalTransition("review already decided", details={"review_id": m.id})
            m.status, m.decided_by, m.decided_at = "decided", reviewer_id, now
            m.decision = "approved" if approve else "rejected"
            uow.manual_reviews.save(m)
            self._audit(uow, reviewer_id, "manual_review_decided", m.id, {"purpose": m.decision})
            uow.outbox.emit(
                NotificationEvent(
                    "fuxi_decided", m.driver_id, now, {"review_id": m.id, "decision": m.decision}
                )
            )
            case.assigned_to = reviewer_id
            reasons = (reason,) if reason else (m.decision,)
            self._decide_in(uow, case, reviewer_id, approve, reasons, now)
            uow.commit()
        return m

    def _decide_in(
        self,
        uow: ReviewUnitOfWork,
        case: ReviewCase,
        reviewer_id: str,
        passed: bool,
        reasons: tuple[str, ...],
        now: datetime,
    ) -> None:
        case.status, case.decided_by, case.decided_at = CaseStatus.DECIDED, reviewer_id, now
        case.decision = "pass" if passed else "reject"
        case.decision_reasons = reasons
        payload: dict[str, Any] = {"case_id": case.id, "decision": case.decision}
        if not passed and case.kind is CaseKind.FUXI and self.on_fuxi_decided is not None:
            self.on_fuxi_decided(uow, case.driver_id, case.session_id, False)
        if passed and case.kind is CaseKind.FUXI:
            exam = uow.exams.get(case.session_id)
            if exam is not None:
                reduction = self._validate_and_reduce(uow, case, exam, now)
                payload.update(exam_result_valid=True, point_reduction=reduction)
                case.details["point_reduction"] = reduction
        self._release(uow, case, now)
        uow.review_cases.save(case)
        uow.outbox.emit(NotificationEvent("review_decided", case.driver_id, now, payload))
        self._audit(
            uow,
            reviewer_id,
            "review_case_decided",
            case.id,
            {"decision": case.decision, "reasons": list(reasons)},
        )

    def _validate_and_reduce(
        self, uow: ReviewUnitOfWork, case: ReviewCase, exam: ExamRecord, now: datetime
    ) -> dict[str, Any]:
        """The exam result becomes valid; a passing score earns the reduction (once)."""
        outcome = dict(exam.outcome or {})
        if isinstance(outcome.get("point_reduction"), dict):
            return dict(outcome["point_reduction"])  # already applied for this exam record
        responses = [
            Response(correct=a.correct and a.counted, elapsed_s=a.effective_s)
            for a in sorted(exam.answers, key=lambda a: a.index)
        ]
        scored = score_exam(responses, self._rules.exam)
        outcome.update(valid=True, passed=scored.passed, review_case_id=case.id)
        decided = (
            self.on_fuxi_decided(uow, case.driver_id, case.session_id, True)
            if self.on_fuxi_decided is not None
            else None
        )
        if decided is not None:
            reduction = decided
        elif scored.passed:
            reduction = self._reduce(uow, case.driver_id, now)
        else:
            reduction = {"status": "void", "reasons": [EXAM_NOT_PASSED]}
        outcome["point_reduction"] = reduction
        exam.outcome = outcome
        uow.exams.save(exam)
        return reduction

    def _reduce(self, uow: ReviewUnitOfWork, driver_id: str, now: datetime) -> dict[str, Any]:
        """Re-check eligibility now, then award and cap (163 第25/27条) as the rules module does."""
        body = uow.driver_records.get(driver_id)
        if body is None:
            return {"status": "held", "reasons": ["driver_record_missing"]}
        record = driver_record_from_json(driver_id, body)
        verdict = check_eligibility(record, now, self._rules, stage=Stage.REDUCTION)
        if verdict.reasons == (Reason.DATA_SYNC_PENDING,):
            return {"status": "held", "reasons": [Reason.DATA_SYNC_PENDING.value]}
        if not verdict.eligible:
            reasons = [r.value for r in verdict.reasons if r is not Reason.DATA_SYNC_PENDING]
            return {"status": "void", "reasons": reasons}
        award = award_points(Mode.ONLINE, self._rules.points)
        reduced = reduced_in_cycle(record, verdict.cycle)
        r = reduce_points(award, record.accumulated_points, reduced, self._rules.points)
        if r.removed_points == 0:
            return {"status": "void", "reasons": [x.value for x in r.reasons]}
        on = local_date(now).isoformat()
        uow.driver_records.put(driver_id, reduced_body(body, record, r.removed_points, on))
        result: dict[str, Any] = {
            "status": "applied",
            "removed_points": r.removed_points,
            "points_after": r.points_after,
            "reasons": [x.value for x in r.reasons],
        }
        uow.outbox.emit(NotificationEvent("points_reduced", driver_id, now, dict(result)))
        return result

    # ---- internals ----------------------------------------------------------------------------
    def _open_in(
        self,
        uow: ReviewUnitOfWork,
        kind: CaseKind,
        source_id: str,
        session_id: str,
        driver_id: str,
        evidence: tuple[str, ...],
        received_at: datetime,
    ) -> ReviewCase:
        due = due_for(received_at, self._calendar, self._rules.review, self._rules.calendar)
        case = ReviewCase(
            id=new_id(self._rng),
            kind=kind,
            source_id=source_id,
            session_id=session_id,
            driver_id=driver_id,
            received_at=received_at,
            due_on=due.last_day,
            due_verified=due.verified,
            evidence_ids=evidence,
        )
        held = self._hold(uow, evidence)
        if held:
            case.details["held"] = held
        uow.review_cases.add(case)
        self._audit(
            uow, driver_id, "review_case_opened", case.id, {"kind": kind.value, "held": len(held)}
        )
        return case

    def _hold(self, uow: ReviewUnitOfWork, evidence: tuple[str, ...]) -> dict[str, str]:
        """Hold short-lived evidence until the decision; expired evidence stays expired."""
        now = self._clock.now()
        held: dict[str, str] = {}
        for eid in evidence:
            current = uow.evidence.retention_of(eid)
            if current is None:
                continue
            cls, delete_after = current
            if cls in _SHORT and (delete_after is None or delete_after > now):
                held[eid] = cls.value
                uow.evidence.set_retention([eid], RetentionClass.REVIEW_HELD, None)
        return held

    def _release(self, uow: ReviewUnitOfWork, case: ReviewCase, now: datetime) -> None:
        """Each held crop back to its own class from the decision, unless another open case of
        the session needs it (the hold moves there) or a decision re-classed it meanwhile."""
        held = _held(case.details.pop("held", None))
        if not held:
            return
        others = [
            c
            for c in uow.review_cases.for_session(case.session_id)
            if c.id != case.id and c.status is not CaseStatus.DECIDED
        ]
        for eid, cls in sorted(held.items()):
            taker = next((c for c in others if eid in c.evidence_ids), None)
            if taker is not None:
                taker.details["held"] = {**_held(taker.details.get("held")), eid: cls}
                uow.review_cases.save(taker)
                continue
            current = uow.evidence.retention_of(eid)
            if current is not None and current[0] is RetentionClass.REVIEW_HELD:
                uow.evidence.set_retention([eid], RetentionClass(cls), now + AFTER_DECISION)
        case.details["released_at"] = now.isoformat()

    def _close_source(self, kind: CaseKind, source_id: str, actor: str, upheld: bool) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            case = uow.review_cases.by_source(kind.value, source_id)
            if case is None or case.status is CaseStatus.DECIDED:
                return
            case.status, case.decided_by, case.decided_at = CaseStatus.DECIDED, actor, now
            case.decision = "upheld" if upheld else "dismissed"
            self._release(uow, case, now)
            uow.review_cases.save(case)
            self._audit(uow, actor, "review_case_decided", case.id, {"decision": case.decision})
            uow.commit()

    @staticmethod
    def _get(uow: ReviewUnitOfWork, case_id: str) -> ReviewCase:
        case = uow.review_cases.get(case_id)
        if case is None:
            raise NotFound(details={"case_id": case_id})
        return case

    def _audit(
        self,
        uow: ReviewUnitOfWork,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, object],
    ) -> None:
        uow.audit.append(
            actor=actor, action=action, subject=subject, details=details, at=self._clock.now()
        )


def _held(value: object) -> dict[str, str]:
    """A case's hold record: evidence id -> the retention class to restore."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


__all__ = ["AFTER_DECISION", "EXAM_NOT_PASSED", "ReviewCaseService"]
