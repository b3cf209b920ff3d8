"""Review-case use cases: open (复核 request, flag, appeal), assign, overdue view, decide.

A 复核 request is accepted once per exam record (the case is unique per session)
and within 24 h (``ReviewService.request_fuxi``). The due date is 3 working days
after receipt (rules module). A passing decision makes the exam result valid, which
leads to the point reduction, and the driver is notified; every step is audited.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.errors import IllegalTransition
from proctor.review.ports import ReviewUnitOfWork, Selection
from proctor.review.queue import CaseKind, CaseStatus, ReviewCase, due_for, overdue
from proctor.rules.calendar import WorkdayCalendar
from proctor.rules.policy import RulesPolicy
from proctor.services.common import NotFound, NotOwner, new_id
from proctor.services.ports import NotificationEvent
from proctor.services.review import ReviewService


class ReviewCaseService:
    def __init__(
        self,
        uow: Callable[[], ReviewUnitOfWork],
        review: ReviewService,
        clock: Clock,
        calendar: WorkdayCalendar,
        rules: RulesPolicy,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._review, self._clock = uow, review, clock
        self._calendar, self._rules = calendar, rules
        self._rng = rng or default_rng()

    def request_fuxi(self, session_id: str, driver_id: str, statement: str) -> ReviewCase:
        with self._uow() as uow:
            if uow.review_cases.by_source(CaseKind.FUXI.value, session_id) is not None:
                raise IllegalTransition(
                    "a 复核 was already requested for this record",
                    details={"session_id": session_id},
                )
        m = self._review.request_fuxi(session_id, driver_id, statement)
        return self._open(CaseKind.FUXI, session_id, session_id, driver_id, m.evidence_ids)

    def open_from_flag(self, flag_id: str) -> ReviewCase:
        with self._uow() as uow:
            flag = uow.flags.get(flag_id)
            if flag is None:
                raise NotFound(details={"flag_id": flag_id})
            existing = uow.review_cases.by_source(CaseKind.FLAG.value, flag_id)
        if existing is not None:
            return existing
        return self._open(
            CaseKind.FLAG, flag_id, flag.session_id, flag.driver_id, flag.evidence_ids
        )

    def open_from_appeal(self, appeal_id: str) -> ReviewCase:
        with self._uow() as uow:
            appeal = uow.appeals.get(appeal_id)
            if appeal is None:
                raise NotFound(details={"appeal_id": appeal_id})
            existing = uow.review_cases.by_source(CaseKind.APPEAL.value, appeal_id)
            entry = uow.blacklist.get(appeal.blacklist_id)
            flag = uow.flags.get(entry.flag_id) if entry else None
        if existing is not None:
            return existing
        if flag is None:
            raise NotFound(details={"appeal_id": appeal_id})
        return self._open(
            CaseKind.APPEAL, appeal_id, flag.session_id, flag.driver_id, flag.evidence_ids
        )

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

    def overdue(self) -> list[ReviewCase]:
        with self._uow() as uow:
            cases = uow.review_cases.select(Selection(statuses=("open", "assigned")))
        return overdue(cases, self._clock.now())

    def decide(
        self, case_id: str, reviewer_id: str, passed: bool, reasons: tuple[str, ...]
    ) -> ReviewCase:
        """The human decision. Passing: the exam result is valid (point reduction follows)."""
        if not reasons:
            raise IllegalTransition("a decision needs its reasons")
        now = self._clock.now()
        with self._uow() as uow:
            case = self._get(uow, case_id)
            if case.assigned_to != reviewer_id:
                raise NotOwner(details={"case_id": case_id})
            if case.status is CaseStatus.DECIDED:
                raise IllegalTransition("case already decided", details={"case_id": case_id})
            case.status, case.decided_by, case.decided_at = CaseStatus.DECIDED, reviewer_id, now
            case.decision = "pass" if passed else "reject"
            case.decision_reasons = reasons
            uow.review_cases.save(case)
            payload: dict[str, object] = {"case_id": case.id, "decision": case.decision}
            if passed:
                exam = uow.exams.get(case.session_id)
                if exam is not None:
                    outcome = dict(exam.outcome or {})
                    outcome.update(valid=True, review_case_id=case.id)
                    exam.outcome = outcome
                    uow.exams.save(exam)
                    payload["exam_result_valid"] = True
                    payload["point_reduction"] = bool(outcome.get("score_passed", True))
            uow.outbox.emit(NotificationEvent("review_decided", case.driver_id, now, payload))
            self._audit(
                uow,
                reviewer_id,
                "review_case_decided",
                case_id,
                {"decision": case.decision, "reasons": list(reasons)},
            )
            uow.commit()
        return case

    def _open(
        self,
        kind: CaseKind,
        source_id: str,
        session_id: str,
        driver_id: str,
        evidence: tuple[str, ...],
    ) -> ReviewCase:
        now = self._clock.now()
        due = due_for(now, self._calendar, self._rules.review, self._rules.calendar)
        case = ReviewCase(
            id=new_id(self._rng),
            kind=kind,
            source_id=source_id,
            session_id=session_id,
            driver_id=driver_id,
            received_at=now,
            due_on=due.last_day,
            due_verified=due.verified,
            evidence_ids=evidence,
        )
        with self._uow() as uow:
            uow.review_cases.add(case)
            self._audit(uow, driver_id, "review_case_opened", case.id, {"kind": kind.value})
            uow.commit()
        return case

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
