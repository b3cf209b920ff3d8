"""Fraud (弄虚作假、冒名顶替) and appeal: revoke reductions, blacklist, restore on appeal.

163 第31条 revokes the reduction concerned; the 2020 规范 (``restore_all_cycle_reductions``)
voids every reduction of that cycle. The driver is barred for the current cycle and the following
ones (``blacklist_cycles`` in total) and, by platform practice, from online services for
``platform_blacklist_years`` years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from proctor.rules.application import Application
from proctor.rules.cycles import add_months
from proctor.rules.events import EventKind
from proctor.rules.policy import RulesPolicy
from proctor.rules.states import ApplicationState
from proctor.rules.timeutil import local_date

_MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True)
class FraudOutcome:
    fraudulent_id: str
    restored_points: int
    revoked_application_ids: tuple[str, ...]
    barred_cycle_indexes: tuple[int, ...]
    platform_blacklist_until: date


def confirm_fraud(
    applications: Sequence[Application], fraudulent_id: str, at: datetime, policy: RulesPolicy
) -> FraudOutcome:
    """Revoke the reductions concerned and return the points to restore and the bars."""
    by_id = {a.application_id: a for a in applications}
    culprit = by_id[fraudulent_id]
    if policy.fraud.restore_all_cycle_reductions:
        targets = [
            a
            for a in applications
            if a.state is ApplicationState.REDUCED and a.cycle.index == culprit.cycle.index
        ]
    else:
        targets = [culprit]
    restored = sum(a.revoke(at) for a in targets)
    first = culprit.cycle.index
    barred = tuple(range(first, first + policy.fraud.blacklist_cycles))
    until = add_months(
        local_date(at),
        policy.fraud.platform_blacklist_years * _MONTHS_PER_YEAR,
        policy.cycle.leap_day_anniversary,
    )
    culprit.record_event(
        EventKind.BLACKLISTED,
        at,
        barred_cycles=",".join(map(str, barred)),
        platform_until=until.isoformat(),
        restored_points=str(restored),
    )
    return FraudOutcome(
        fraudulent_id, restored, tuple(a.application_id for a in targets), barred, until
    )


def uphold_appeal(applications: Sequence[Application], outcome: FraudOutcome, at: datetime) -> int:
    """Appeal upheld with evidence: restore every revoked reduction; returns points re-applied."""
    by_id = {a.application_id: a for a in applications}
    points = sum(by_id[i].restore(at) for i in outcome.revoked_application_ids)
    by_id[outcome.fraudulent_id].record_event(
        EventKind.APPEAL_RESULT, at, upheld="true", restored_points=str(points)
    )
    return points
