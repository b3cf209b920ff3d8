"""Flag review, adjudication, blacklist and appeal use cases.

A flag never blacklists by itself (PIPL Art. 24): ``decide_flag`` is the only
path to a blacklist entry, it needs a prior review, and the adjudicator must be
a different human from the reviewer. Upholding voids the driver's completed
records; an upheld appeal lifts the entry and restores them. Every step writes
an audit entry and emits a notification event. With case hooks (the review
case desk) a filed appeal opens its review case, and deciding a flag or an
appeal closes the case (releasing any evidence hold it had).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.errors import IllegalTransition
from proctor.services.common import NotFound, NotOwner, new_id
from proctor.services.ports import NotificationEvent, RetentionClass, UnitOfWork
from proctor.session.adjudication import (
    Appeal,
    AppealStatus,
    BlacklistEntry,
    BlacklistStatus,
    Flag,
)

REVIEW_WINDOW = timedelta(hours=24)


class CaseHooks(Protocol):
    """Review-case bookkeeping after each committed step (``ReviewCaseService``)."""

    def appeal_filed(self, appeal_id: str) -> None: ...

    def flag_decided(self, flag_id: str, adjudicator_id: str, upheld: bool) -> None: ...

    def appeal_decided(self, appeal_id: str, adjudicator_id: str, upheld: bool) -> None: ...


class AdjudicationService:
    """Constructor: ``AdjudicationService(uow_factory, clock, rng=..., cases=...)``."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        *,
        rng: random.Random | None = None,
        cases: CaseHooks | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._rng = rng or default_rng()
        self._cases = cases

    def review_flag(
        self, flag_id: str, reviewer_id: str, recommendation: str, reason: str = ""
    ) -> Flag:
        now = self._clock.now()
        with self._uow() as uow:
            flag = self._flag(uow, flag_id)
            flag.review(reviewer_id, recommendation, now, reason)
            uow.flags.save(flag)
            uow.audit.append(
                actor=reviewer_id,
                action="flag_reviewed",
                subject=flag.id,
                details={"recommendation": recommendation, "reason": reason},
                at=now,
            )
            uow.outbox.emit(
                NotificationEvent("flag_reviewed", flag.driver_id, now, {"flag_id": flag.id})
            )
            uow.commit()
            return flag

    def decide_flag(
        self, flag_id: str, adjudicator_id: str, uphold: bool, note: str = ""
    ) -> BlacklistEntry | None:
        """A human decision; upholding creates the blacklist entry and voids records."""
        now = self._clock.now()
        with self._uow() as uow:
            flag = self._flag(uow, flag_id)
            flag.decide(adjudicator_id, uphold, now, note)
            uow.flags.save(flag)
            entry: BlacklistEntry | None = None
            if uphold:
                entry = BlacklistEntry.from_decision(new_id(self._rng), flag)
                uow.blacklist.add(entry)
                voided = uow.sessions.completed_for_driver(flag.driver_id)
                for session_id in voided:
                    uow.voided.void(session_id, entry.id, now)
                uow.evidence.set_retention(
                    flag.evidence_ids, RetentionClass.PROXY_CONFIRMED, entry.platform_until
                )
                details: dict[str, object] = {
                    "uphold": True,
                    "blacklist_id": entry.id,
                    "platform_until": entry.platform_until.isoformat(),
                    "legal_bar_scoring_cycles": entry.legal_bar_scoring_cycles,
                    "voided_sessions": len(voided),
                }
                kind = "blacklist_created"
                payload: dict[str, object] = {
                    "flag_id": flag.id,
                    "blacklist_id": entry.id,
                    "platform_until": entry.platform_until.isoformat(),
                    "reasons": list(flag.reasons),
                }
            else:
                uow.evidence.set_retention(
                    flag.evidence_ids, RetentionClass.FLAGGED, now + REVIEW_WINDOW
                )
                details = {"uphold": False}
                kind = "flag_dismissed"
                payload = {"flag_id": flag.id}
            uow.audit.append(
                actor=adjudicator_id,
                action="flag_decided",
                subject=flag.id,
                details=details,
                at=now,
            )
            uow.outbox.emit(NotificationEvent(kind, flag.driver_id, now, payload))
            uow.commit()
        if self._cases is not None:
            self._cases.flag_decided(flag_id, adjudicator_id, uphold)
        return entry

    def file_appeal(
        self,
        blacklist_id: str,
        driver_id: str,
        statement: str,
        evidence_refs: Sequence[str] = (),
    ) -> Appeal:
        now = self._clock.now()
        with self._uow() as uow:
            entry = self._entry(uow, blacklist_id)
            if entry.driver_id != driver_id:
                raise NotOwner(details={"blacklist_id": blacklist_id})
            entry.check_appeal_allowed(uow.appeals.for_blacklist(entry.id))
            appeal = Appeal(
                id=new_id(self._rng),
                blacklist_id=entry.id,
                driver_id=driver_id,
                filed_at=now,
                statement=statement,
                evidence_refs=tuple(evidence_refs),
            )
            uow.appeals.add(appeal)
            uow.audit.append(
                actor=driver_id,
                action="appeal_filed",
                subject=appeal.id,
                details={"blacklist_id": entry.id, "evidence_refs": len(appeal.evidence_refs)},
                at=now,
            )
            uow.outbox.emit(
                NotificationEvent("appeal_filed", driver_id, now, {"appeal_id": appeal.id})
            )
            uow.commit()
        if self._cases is not None:
            self._cases.appeal_filed(appeal.id)
        return appeal

    def decide_appeal(self, appeal_id: str, adjudicator_id: str, uphold: bool) -> Appeal:
        now = self._clock.now()
        with self._uow() as uow:
            appeal = uow.appeals.get(appeal_id)
            if appeal is None:
                raise NotFound(details={"appeal_id": appeal_id})
            entry = self._entry(uow, appeal.blacklist_id)
            # neither the flag's reviewer nor its adjudicator decides the appeal (issue 17)
            appeal.decide(adjudicator_id, uphold, now, entry, uow.flags.get(entry.flag_id))
            uow.appeals.save(appeal)
            restored: list[str] = []
            if uphold and entry.status is BlacklistStatus.ACTIVE:
                entry.lift(appeal.id, now)
                uow.blacklist.save(entry)
                restored = uow.voided.restore(entry.id, now)
                flag = uow.flags.get(entry.flag_id)
                if flag is not None:
                    uow.evidence.set_retention(
                        flag.evidence_ids, RetentionClass.FLAGGED, now + REVIEW_WINDOW
                    )
            uow.audit.append(
                actor=adjudicator_id,
                action="appeal_decided",
                subject=appeal.id,
                details={
                    "uphold": uphold,
                    "blacklist_id": entry.id,
                    "restored_sessions": len(restored),
                },
                at=now,
            )
            kind = "appeal_upheld" if appeal.status is AppealStatus.UPHELD else "appeal_rejected"
            uow.outbox.emit(
                NotificationEvent(
                    kind,
                    appeal.driver_id,
                    now,
                    {"appeal_id": appeal.id, "restored_sessions": len(restored)},
                )
            )
            if uphold:
                uow.outbox.emit(
                    NotificationEvent(
                        "blacklist_lifted", appeal.driver_id, now, {"blacklist_id": entry.id}
                    )
                )
            uow.commit()
        if self._cases is not None:
            self._cases.appeal_decided(appeal.id, adjudicator_id, uphold)
        return appeal

    def reopen_appeal(self, blacklist_id: str, staff_id: str, reason: str) -> BlacklistEntry:
        """Staff reopen for new evidence after the entry's appeal was decided: the driver
        may file one more appeal. A reason is required; audited; the driver is told."""
        if not reason.strip():
            raise IllegalTransition(
                "a reopen needs a reason", details={"blacklist_id": blacklist_id}
            )
        now = self._clock.now()
        with self._uow() as uow:
            entry = self._entry(uow, blacklist_id)
            entry.reopen_for_appeal(uow.appeals.for_blacklist(entry.id))
            uow.blacklist.save(entry)
            uow.audit.append(
                actor=staff_id,
                action="appeal_reopened",
                subject=entry.id,
                details={"reason": reason, "appeals_allowed": entry.appeals_allowed},
                at=now,
            )
            uow.outbox.emit(
                NotificationEvent(
                    "appeal_reopened", entry.driver_id, now, {"blacklist_id": entry.id}
                )
            )
            uow.commit()
        return entry

    def is_blacklisted(self, driver_id: str) -> bool:
        now = self._clock.now()
        with self._uow() as uow:
            return any(e.active_at(now) for e in uow.blacklist.for_driver(driver_id))

    @staticmethod
    def _flag(uow: UnitOfWork, flag_id: str) -> Flag:
        flag = uow.flags.get(flag_id)
        if flag is None:
            raise NotFound(details={"flag_id": flag_id})
        return flag

    @staticmethod
    def _entry(uow: UnitOfWork, blacklist_id: str) -> BlacklistEntry:
        entry = uow.blacklist.get(blacklist_id)
        if entry is None:
            raise NotFound(details={"blacklist_id": blacklist_id})
        return entry
