"""The operator's calendar alert: deadlines waiting for a year, and the year running out.

chinesecalendar knows the years up to its release (2026 for 1.11.0); the override file can add
later ones. From ``warning_days`` before the last known year ends, readiness carries a warning
(``calendar_year_ending``); any application with a ``pending_calendar`` deadline carries
``calendar_pending``. Neither makes the service unready: nothing is refused meanwhile.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Protocol

log = logging.getLogger("proctor.calendar")


class KnowsLastYear(Protocol):
    def last_known_year(self) -> int: ...


@dataclass(frozen=True, slots=True)
class CalendarStatus:
    last_known_year: int
    days_left: int  # until 24:00 of 31 December of the last known year
    pending_calendar: int  # applications with a deadline waiting for a year

    def warnings(self, warning_days: int) -> list[str]:
        out = []
        if self.days_left <= warning_days:
            out.append("calendar_year_ending")
        if self.pending_calendar:
            out.append("calendar_pending")
        return out


def calendar_status(calendar: KnowsLastYear, today: date, pending: int) -> CalendarStatus:
    last = calendar.last_known_year()
    days_left = (date(last + 1, 1, 1) - today).days
    return CalendarStatus(last, days_left, pending)


_LOG_EVERY_S = 3600.0
_logged: dict[str, float] = {}


def _due(key: str) -> bool:
    """Readiness probes come every few seconds: each warning is logged at most hourly."""
    now = time.monotonic()
    if now - _logged.get(key, -_LOG_EVERY_S) < _LOG_EVERY_S:
        return False
    _logged[key] = now
    return True


def alert(status: CalendarStatus, warning_days: int) -> list[str]:
    """Return the warnings; log each (at most hourly)."""
    found = status.warnings(warning_days)
    if "calendar_year_ending" in found and _due("calendar_year_ending"):
        log.warning(
            "calendar_year_ending: the working-day calendar ends with %d (%d days left); add "
            "the next year's schedule to the override file (PROCTOR_CALENDAR_OVERRIDES)",
            status.last_known_year,
            status.days_left,
        )
    if "calendar_pending" in found and _due("calendar_pending"):
        log.warning(
            "calendar_pending: %d application(s) wait for a calendar year", status.pending_calendar
        )
    return found
