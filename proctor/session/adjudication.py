"""Flags, blacklist entries and appeals: the human side of proxy findings (pure core).

A flag carries reason codes and evidence references. It never blacklists by
itself (PIPL Art. 24): a reviewer recommends, and a *different* adjudicator
decides (SECURITY.md c.6, two distinct humans). Upholding creates a blacklist
entry: 3 years off the internet/self-service platform (local practice) plus the
legal bar of 3 scoring cycles (163号令 Art. 26(5)). An upheld appeal, decided by
someone other than the original adjudicator, lifts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from proctor.errors import IllegalTransition, ProctorError

PLATFORM_BAR_YEARS = 3
LEGAL_BAR_SCORING_CYCLES = 3


class FlagStatus(StrEnum):
    OPEN = "open"
    REVIEWED = "reviewed"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class BlacklistStatus(StrEnum):
    ACTIVE = "active"
    LIFTED = "lifted"


class AppealStatus(StrEnum):
    FILED = "filed"
    UPHELD = "upheld"
    REJECTED = "rejected"


class AppealRefused(ProctorError):
    """One appeal per blacklist entry (issue 17): none once lifted, decided or pending."""

    code = "appeal_refused"


class SameHumanTwice(ProctorError):
    """Review and decision (or decision and appeal) need two distinct people."""

    code = "same_human_twice"


def add_years(at: datetime, years: int) -> datetime:
    """Same month and day ``years`` later; 29 Feb becomes 28 Feb (民法典 Art. 202: month end)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


@dataclass(slots=True)
class Flag:
    id: str
    session_id: str
    driver_id: str
    raised_at: datetime
    reasons: tuple[str, ...]
    attempt_nos: tuple[int, ...] = ()
    evidence_ids: tuple[str, ...] = ()
    status: FlagStatus = FlagStatus.OPEN
    reviewer_id: str | None = None
    recommendation: str | None = None
    reviewed_at: datetime | None = None
    adjudicator_id: str | None = None
    decided_at: datetime | None = None
    note: str = ""
    review_reason: str = ""

    def merge(self, reasons: tuple[str, ...], attempt_no: int, evidence_id: str | None) -> None:
        if self.status is not FlagStatus.OPEN:
            raise IllegalTransition("flag is no longer open")
        self.reasons = tuple(dict.fromkeys(self.reasons + reasons))
        self.attempt_nos = (*self.attempt_nos, attempt_no)
        if evidence_id:
            self.evidence_ids = (*self.evidence_ids, evidence_id)

    def review(self, reviewer_id: str, recommendation: str, at: datetime, reason: str = "") -> None:
        if self.status is not FlagStatus.OPEN:
            raise IllegalTransition("flag already reviewed", details={"flag_id": self.id})
        if not reviewer_id:
            raise IllegalTransition("a review needs a named human")
        self.status = FlagStatus.REVIEWED
        self.reviewer_id = reviewer_id
        self.recommendation = recommendation
        self.reviewed_at = at
        self.review_reason = reason

    def decide(self, adjudicator_id: str, uphold: bool, at: datetime, note: str = "") -> None:
        if self.status is not FlagStatus.REVIEWED:
            raise IllegalTransition(
                "a flag is decided only after review", details={"flag_id": self.id}
            )
        if not adjudicator_id:
            raise IllegalTransition("a decision needs a named human")
        if adjudicator_id == self.reviewer_id:
            raise SameHumanTwice(details={"flag_id": self.id})
        self.status = FlagStatus.UPHELD if uphold else FlagStatus.DISMISSED
        self.adjudicator_id = adjudicator_id
        self.decided_at = at
        self.note = note


@dataclass(slots=True)
class BlacklistEntry:
    id: str
    driver_id: str
    flag_id: str
    decided_by: str
    start_at: datetime
    platform_until: datetime
    legal_bar_scoring_cycles: int = LEGAL_BAR_SCORING_CYCLES
    status: BlacklistStatus = BlacklistStatus.ACTIVE
    lifted_at: datetime | None = None
    lifted_by_appeal_id: str | None = None
    # One appeal per entry; a staff reopen for new evidence allows one more (issue 17).
    appeals_allowed: int = 1

    @classmethod
    def from_decision(cls, entry_id: str, flag: Flag) -> BlacklistEntry:
        """Only an upheld flag, decided by a human, can produce an entry."""
        if flag.status is not FlagStatus.UPHELD or not flag.adjudicator_id or not flag.decided_at:
            raise IllegalTransition("no blacklist without a human decision")
        return cls(
            id=entry_id,
            driver_id=flag.driver_id,
            flag_id=flag.id,
            decided_by=flag.adjudicator_id,
            start_at=flag.decided_at,
            platform_until=add_years(flag.decided_at, PLATFORM_BAR_YEARS),
        )

    def active_at(self, at: datetime) -> bool:
        return self.status is BlacklistStatus.ACTIVE and self.start_at <= at < self.platform_until

    def lift(self, appeal_id: str, at: datetime) -> None:
        if self.status is not BlacklistStatus.ACTIVE:
            raise IllegalTransition("blacklist entry is not active")
        self.status = BlacklistStatus.LIFTED
        self.lifted_at = at
        self.lifted_by_appeal_id = appeal_id

    def check_appeal_allowed(self, appeals: Sequence[Appeal]) -> None:
        """One appeal per entry: refused once lifted, while one is pending, and once the
        allowed appeals are decided (a staff reopen for new evidence allows one more)."""
        if self.status is not BlacklistStatus.ACTIVE:
            raise AppealRefused(
                "the blacklist entry is no longer active",
                details={"blacklist_id": self.id, "reason": "lifted"},
            )
        if any(a.status is AppealStatus.FILED for a in appeals):
            raise AppealRefused(
                "an appeal on this entry is pending",
                details={"blacklist_id": self.id, "reason": "pending"},
            )
        if len(appeals) >= self.appeals_allowed:
            raise AppealRefused(
                "this entry's appeal has been decided; new evidence goes through a staff reopen",
                details={"blacklist_id": self.id, "reason": "decided"},
            )

    def reopen_for_appeal(self, appeals: Sequence[Appeal]) -> None:
        """Staff reopen for new evidence: one more appeal, after the last one was decided."""
        if self.status is not BlacklistStatus.ACTIVE:
            raise AppealRefused(
                "the blacklist entry is no longer active",
                details={"blacklist_id": self.id, "reason": "lifted"},
            )
        if len(appeals) < self.appeals_allowed or any(
            a.status is AppealStatus.FILED for a in appeals
        ):
            raise AppealRefused(
                "an appeal is still open or not yet used: nothing to reopen",
                details={"blacklist_id": self.id, "reason": "not_decided"},
            )
        self.appeals_allowed += 1


@dataclass(slots=True)
class Appeal:
    id: str
    blacklist_id: str
    driver_id: str
    filed_at: datetime
    statement: str
    evidence_refs: tuple[str, ...] = field(default_factory=tuple)
    status: AppealStatus = AppealStatus.FILED
    decided_by: str | None = None
    decided_at: datetime | None = None

    def decide(
        self,
        adjudicator_id: str,
        uphold: bool,
        at: datetime,
        entry: BlacklistEntry,
        flag: Flag | None = None,
    ) -> None:
        """Whoever decides is neither the entry's adjudicator nor the flag's reviewer."""
        if self.status is not AppealStatus.FILED:
            raise IllegalTransition("appeal already decided", details={"appeal_id": self.id})
        if not adjudicator_id:
            raise IllegalTransition("an appeal decision needs a named human")
        involved = {entry.decided_by}
        if flag is not None:
            involved |= {h for h in (flag.reviewer_id, flag.adjudicator_id) if h}
        if adjudicator_id in involved:
            # the flag's reviewer or adjudicator may not decide its appeal
            raise SameHumanTwice(details={"appeal_id": self.id})
        self.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
        self.decided_by = adjudicator_id
        self.decided_at = at
