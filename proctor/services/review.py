"""Reviewer use cases: the queue, assignment, case views with audited evidence, manual reviews.

Reviewers see only items assigned to them (anything else is ``not_owner``,
answered as 404) and only face crops: evidence objects hold crops, never full
frames. Every view of a case or an evidence crop writes an audit entry naming
the reviewer, the case and the purpose. Manual reviews are human checks outside
the flag flow: ``manual_id`` (a photo of the driver holding their ID, after a
failed entry check) and ``fuxi`` (复核 of an invalid session, within 24 h).

With a case desk (``proctor.review.cases.ReviewCaseService``, wired by the
bootstrap) a 复核 request opens its review case itself (once per exam record,
due in 3 working days, evidence held until the decision), claiming a flag or a
复核 assigns its case, the case view carries the newest re-verification report,
and deciding a 复核 decides its case (valid result, point reduction, notification).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.errors import IllegalTransition, ProctorError
from proctor.ports import FaceVerifier
from proctor.review.queue import CaseKind, ReviewCase
from proctor.rules.deadlines import Deadline
from proctor.services.adjudication import AdjudicationService
from proctor.services.common import NotFound, NotOwner, new_id
from proctor.services.ports import (
    ManualReview,
    NotificationEvent,
    QueueItem,
    RecordsUnitOfWork,
    RetentionClass,
)
from proctor.services.records import reference_bucket
from proctor.session.adjudication import BlacklistEntry, Flag

FUXI_WINDOW = timedelta(hours=24)


class ReviewWindowClosed(ProctorError):
    code = "review_window_closed"


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """A flagged attempt as the reviewer sees it: codes and distances, never pixels."""

    attempt_no: int
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    distance: float | None
    threshold: float | None
    verdict: str = ""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    policy_id: str = ""


@dataclass(frozen=True, slots=True)
class Reverification:
    """The review case behind a flag or 复核 and its newest re-verification report."""

    case: ReviewCase
    job_id: str | None = None
    report: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    item: QueueItem
    evidence_ids: tuple[str, ...]
    reference_ids: tuple[str, ...]
    attempts: tuple[AttemptSummary, ...] = ()
    reverification: Reverification | None = None


class CaseDesk(Protocol):
    """What the reviewer use cases need from ``ReviewCaseService``."""

    def request_fuxi(
        self, session_id: str, driver_id: str, statement: str
    ) -> tuple[ManualReview, ReviewCase]: ...

    def sync_flags(self) -> int: ...

    def assign_source(self, kind: CaseKind, source_id: str, reviewer_id: str) -> None: ...

    def case_of(self, kind: CaseKind, source_id: str) -> ReviewCase | None: ...

    def report_of(self, case_id: str) -> tuple[str, dict[str, Any]] | None: ...

    def decide_fuxi(
        self, review_id: str, reviewer_id: str, approve: bool, reason: str
    ) -> ManualReview | None: ...


DECIDED_KEEP = timedelta(hours=24)  # a decided ID check's crops, as a closed session's


def check_fuxi_allowed(
    uow: RecordsUnitOfWork, session_id: str, driver_id: str, now: datetime
) -> None:
    """A 复核 may be asked of one's own invalid session, within 24 h of its result."""
    s = uow.sessions.get(session_id)
    if s is None or s.driver_id != driver_id:
        raise NotFound(details={"session_id": session_id})
    if s.state.value != "terminated_invalid" or s.closed_at is None:
        raise IllegalTransition("only an invalid session can be reviewed")
    if now > s.closed_at + FUXI_WINDOW:
        raise ReviewWindowClosed(details={"closed_at": s.closed_at.isoformat()})


# (uow, session id, approved, reviewer id) -> whether a waiting session was found
IdentityDecided = Callable[[RecordsUnitOfWork, str, bool, str], bool]


class ReviewService:
    def __init__(
        self,
        uow: Callable[[], RecordsUnitOfWork],
        adjudication: AdjudicationService,
        verifier: FaceVerifier,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        due: Callable[[datetime], Deadline] | None = None,
        on_identity_decided: IdentityDecided | None = None,
        cases: CaseDesk | None = None,
    ) -> None:
        self._uow, self._adj, self._verifier, self._clock = uow, adjudication, verifier, clock
        self._cases = cases  # review cases (proctor.review.cases.ReviewCaseService)
        # Resumes/ends a session waiting for this ID review (SessionService.apply_identity_review).
        self._on_identity = on_identity_decided
        self._rng = rng or default_rng()
        # Decision deadline of a case raised at a given instant (working days, rules module).
        self._due = due

    def _with_due(self, items: list[QueueItem]) -> list[QueueItem]:
        if self._due is None:
            return items
        now = self._clock.now()
        out = []
        for i in items:
            d = self._due(i.raised_at)
            out.append(replace(i, due_on=d.last_day, overdue=not d.is_open_at(now)))
        return out

    # ---- flag queue -------------------------------------------------------------------------
    def queue(self, reviewer_id: str) -> tuple[list[QueueItem], list[ManualReview], int]:
        """Items assigned to ``reviewer_id`` and the number still unassigned."""
        with self._uow() as uow:
            flags = uow.review_queue.flags(["open"], 500)
            manual = uow.manual_reviews.open_items(500)
        mine = self._with_due([f for f in flags if f.assigned_to == reviewer_id])
        mine_manual = [m for m in manual if m.assigned_to == reviewer_id]
        free = sum(1 for f in flags if f.assigned_to is None) + sum(
            1 for m in manual if m.assigned_to is None
        )
        return mine, mine_manual, free

    def claim(self, reviewer_id: str) -> str | None:
        """Assign the oldest unassigned open flag (else manual review) to the reviewer.

        The review case behind it (the flag's, or the 复核's) is assigned with it.
        """
        claimed = self._claim(reviewer_id)
        if claimed is None:
            return None
        item_id, kind, source = claimed
        if kind is not None and self._cases is not None:
            self._cases.assign_source(kind, source, reviewer_id)
        return item_id

    def _claim(self, reviewer_id: str) -> tuple[str, CaseKind | None, str] | None:
        now = self._clock.now()
        with self._uow() as uow:
            for f in uow.review_queue.flags(["open"], 500):
                if f.assigned_to is None:
                    uow.review_queue.assign(f.flag_id, reviewer_id, now)
                    self._audit(uow, reviewer_id, "case_assigned", f.flag_id, "review")
                    uow.commit()
                    return f.flag_id, CaseKind.FLAG, f.flag_id
            for m in uow.manual_reviews.open_items(500):
                if m.assigned_to is None:
                    m.assigned_to = reviewer_id
                    uow.manual_reviews.save(m)
                    self._audit(uow, reviewer_id, "case_assigned", m.id, "manual_review")
                    uow.commit()
                    kind = CaseKind.FUXI if m.kind == "fuxi" else None
                    return m.id, kind, m.subject_id
        return None

    def reverification(self, kind: CaseKind, source_id: str) -> Reverification | None:
        """The review case of a flag / 复核 and its newest re-verification report, if any."""
        if self._cases is None:
            return None
        case = self._cases.case_of(kind, source_id)
        if case is None:
            return None
        found = self._cases.report_of(case.id)
        return Reverification(case, *found) if found else Reverification(case)

    def case(self, flag_id: str, reviewer_id: str, purpose: str) -> CaseView:
        with self._uow() as uow:
            item = uow.review_queue.flag_item(flag_id)
            if item is None or item.assigned_to != reviewer_id:
                raise NotOwner(details={"flag_id": flag_id})
            flag = uow.flags.get(flag_id)
            assert flag is not None
            refs = self._references(uow, item.driver_id)
            session = uow.sessions.get(item.session_id)
            attempts = tuple(
                AttemptSummary(
                    a.attempt_no,
                    a.reasons,
                    a.flags,
                    a.distance,
                    a.threshold,
                    a.verdict,
                    a.thresholds,
                    a.policy_id,
                )
                for a in (session.attempts if session else [])
                if a.attempt_no in flag.attempt_nos
            )
            self._audit(uow, reviewer_id, "case_viewed", flag_id, purpose)
            uow.commit()
        return CaseView(
            self._with_due([item])[0],
            flag.evidence_ids,
            refs,
            attempts,
            self.reverification(CaseKind.FLAG, flag_id),
        )

    def evidence(self, case_id: str, evidence_id: str, reviewer_id: str, purpose: str) -> bytes:
        """A face crop of an assigned case (flag or manual review); audited."""
        with self._uow() as uow:
            allowed = self._case_evidence(uow, case_id, reviewer_id)
            if evidence_id not in allowed:
                raise NotOwner(details={"evidence_id": evidence_id})
            data = uow.evidence.read(evidence_id)
            uow.audit.append(
                actor=reviewer_id,
                action="evidence_viewed",
                subject=evidence_id,
                details={"case_id": case_id, "purpose": purpose},
                at=self._clock.now(),
            )
            uow.commit()
        return data

    def review_flag(
        self, flag_id: str, reviewer_id: str, recommendation: str, reason: str = ""
    ) -> Flag:
        with self._uow() as uow:
            item = uow.review_queue.flag_item(flag_id)
        if item is None or item.assigned_to != reviewer_id:
            raise NotOwner(details={"flag_id": flag_id})
        return self._adj.review_flag(flag_id, reviewer_id, recommendation, reason)

    def adjudication_queue(self) -> list[QueueItem]:
        with self._uow() as uow:
            return self._with_due(uow.review_queue.flags(["reviewed"], 500))

    def blacklist_of(self, driver_id: str) -> list[BlacklistEntry]:
        with self._uow() as uow:
            return uow.blacklist.for_driver(driver_id)

    # ---- manual reviews ---------------------------------------------------------------------
    def request_manual_id(
        self, driver_id: str, image: bytes, session_id: str | None = None
    ) -> ManualReview:
        """Keep the face crop of the ID-holding photo for a reviewer; never the full frame.

        With ``session_id`` (a session waiting in ``identity_review`` after an uncertain
        entry check) the review also carries that session's entry capture, and its
        decision resumes or ends the session.
        """
        from proctor.services.session_gate import admit_capture

        session_evidence: tuple[str, ...] = ()
        with self._uow() as uow:
            admit_capture(uow, driver_id)  # a photo of the face needs consent, as a capture
            if session_id is not None:
                s = uow.sessions.get(session_id)
                if s is None or s.driver_id != driver_id:
                    raise NotFound(details={"session_id": session_id})
                if s.state.value != "identity_review":
                    raise IllegalTransition(
                        "the session is not waiting for an identity review",
                        details={"session_id": session_id, "state": s.state.value},
                    )
                session_evidence = tuple(uow.evidence.for_session(session_id))
            subject_key = uow.drivers.subject_key(driver_id)
            template = uow.templates.get(subject_key) if subject_key else None
        evidence: tuple[str, ...] = ()
        if subject_key is not None and template is not None:
            crop = self._verifier.measure(template, image).face_crop_jpeg
            if crop:
                with self._uow() as uow:
                    evidence = (
                        uow.evidence.put(
                            crop,
                            subject_key=subject_key,
                            session_id=f"manual-{subject_key}"[:64],
                            retention=RetentionClass.FLAGGED,
                            at=self._clock.now(),
                        ),
                    )
                    uow.commit()
        subject = session_id or driver_id
        return self._new_manual(driver_id, "manual_id", subject, evidence + session_evidence, "")

    def request_fuxi(self, session_id: str, driver_id: str, statement: str) -> ManualReview:
        """复核 of an invalid session; accepted only within 24 h of the result, once per record.

        With a case desk this opens the review case (and holds its evidence) in the same
        transaction as the manual review.
        """
        if self._cases is not None:
            return self._cases.request_fuxi(session_id, driver_id, statement)[0]
        with self._uow() as uow:
            check_fuxi_allowed(uow, session_id, driver_id, self._clock.now())
            evidence = tuple(uow.evidence.for_session(session_id))
        return self._new_manual(driver_id, "fuxi", session_id, evidence, statement)

    def manual(self, review_id: str, reviewer_id: str) -> ManualReview:
        with self._uow() as uow:
            m = uow.manual_reviews.get(review_id)
            if m is None or m.assigned_to != reviewer_id:
                raise NotOwner(details={"review_id": review_id})
            self._audit(uow, reviewer_id, "case_viewed", review_id, "manual_review")
            uow.commit()
        return m

    def decide_manual(
        self, review_id: str, reviewer_id: str, approve: bool, reason: str = ""
    ) -> ManualReview:
        """Decide a manual review; a 复核 with a case is decided through the case."""
        if self._cases is not None:
            decided = self._cases.decide_fuxi(review_id, reviewer_id, approve, reason)
            if decided is not None:
                return decided
        now = self._clock.now()
        with self._uow() as uow:
            m = uow.manual_reviews.get(review_id)
            if m is None or m.assigned_to != reviewer_id:
                raise NotOwner(details={"review_id": review_id})
            if m.status != "open":
                raise IllegalTransition("review already decided", details={"review_id": m.id})
            m.status, m.decided_by, m.decided_at = "decided", reviewer_id, now
            m.decision = "approved" if approve else "rejected"
            uow.manual_reviews.save(m)
            if m.kind == "manual_id":
                # The ID-photo crop and any uncertain entry capture were held for this
                # decision; from now on they live as a passed/failed capture would: 24 h
                # (the window to contest), tightened again when a resumed session closes.
                retention = RetentionClass.PASSED if approve else RetentionClass.FAILED
                uow.evidence.set_retention(list(m.evidence_ids), retention, now + DECIDED_KEEP)
                if self._on_identity is not None:
                    # same transaction: the session resumes or ends with the decision
                    self._on_identity(uow, m.subject_id, approve, reviewer_id)
            self._audit(uow, reviewer_id, "manual_review_decided", m.id, m.decision)
            uow.outbox.emit(
                NotificationEvent(
                    f"{m.kind}_decided",
                    m.driver_id,
                    now,
                    {"review_id": m.id, "decision": m.decision},
                )
            )
            uow.commit()
        return m

    def my_manual(self, review_id: str, driver_id: str) -> ManualReview:
        with self._uow() as uow:
            m = uow.manual_reviews.get(review_id)
        if m is None or m.driver_id != driver_id:
            raise NotOwner(details={"review_id": review_id})
        return m

    # ---- internals --------------------------------------------------------------------------
    def _new_manual(
        self, driver_id: str, kind: str, subject: str, evidence: tuple[str, ...], statement: str
    ) -> ManualReview:
        now = self._clock.now()
        m = ManualReview(
            id=new_id(self._rng),
            driver_id=driver_id,
            kind=kind,
            subject_id=subject,
            created_at=now,
            evidence_ids=evidence,
            statement=statement,
        )
        with self._uow() as uow:
            uow.manual_reviews.add(m)
            uow.audit.append(
                actor=driver_id,
                action=f"{kind}_requested",
                subject=m.id,
                details={"evidence": len(evidence)},
                at=now,
            )
            uow.commit()
        return m

    def session_state(self, session_id: str) -> tuple[str, str] | None:
        """(state, termination reason) of a manual review's session as of now, for the
        case view: an ID-review wait that ran out shows as ``identity_review_expired``
        even before anyone touched the session again. Reads only: nothing is saved."""
        with self._uow() as uow:
            s = uow.sessions.get(session_id)
        if s is None:
            return None
        s.advance(self._clock.now())
        return s.state.value, s.termination_reason

    def references_for(self, driver_id: str) -> tuple[str, ...]:
        """Evidence ids of the driver's registered reference crops (for a case view)."""
        with self._uow() as uow:
            return self._references(uow, driver_id)

    @staticmethod
    def _references(uow: RecordsUnitOfWork, driver_id: str) -> tuple[str, ...]:
        subject_key = uow.drivers.subject_key(driver_id)
        if subject_key is None:
            return ()
        return tuple(uow.evidence.for_session(reference_bucket(subject_key)))

    def _case_evidence(
        self, uow: RecordsUnitOfWork, case_id: str, reviewer_id: str
    ) -> tuple[str, ...]:
        item = uow.review_queue.flag_item(case_id)
        if item is not None:
            if item.assigned_to != reviewer_id:
                raise NotOwner(details={"case_id": case_id})
            flag = uow.flags.get(case_id)
            assert flag is not None
            return flag.evidence_ids + self._references(uow, item.driver_id)
        m = uow.manual_reviews.get(case_id)
        if m is None or m.assigned_to != reviewer_id:
            raise NotOwner(details={"case_id": case_id})
        return m.evidence_ids + self._references(uow, m.driver_id)

    def _audit(
        self, uow: RecordsUnitOfWork, actor: str, action: str, subject: str, purpose: str
    ) -> None:
        uow.audit.append(
            actor=actor,
            action=action,
            subject=subject,
            details={"purpose": purpose},
            at=self._clock.now(),
        )
