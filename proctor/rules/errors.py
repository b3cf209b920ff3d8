"""Errors of the 学法减分 rules package, each with a stable ``code``.

Tree (all subclass :class:`proctor.errors.ProctorError`)::

    RulesError (rules_error)
    ├── RulesDataInvalid (rules_data_invalid)
    ├── CalendarYearUnknown (calendar_year_unknown)
    ├── QuestionBankInvalid (question_bank_invalid)
    └── ActionRefused (action_refused)        -- carries ``reasons`` (Reason codes)
    IllegalApplicationTransition (illegal_transition, subclass of proctor.errors.IllegalTransition)
"""

from __future__ import annotations

from collections.abc import Iterable

from proctor.errors import IllegalTransition, ProctorError
from proctor.rules.reasons import Reason


class RulesError(ProctorError):
    code = "rules_error"


class RulesDataInvalid(RulesError):
    """A rule data file is missing a key, has a wrong type or inconsistent values."""

    code = "rules_data_invalid"


class CalendarYearUnknown(RulesError):
    """A deadline needs a year for which no working-day schedule is known."""

    code = "calendar_year_unknown"

    def __init__(self, year: int, overrides_path: str | None) -> None:
        where = overrides_path or "proctor/rules/data/calendar_overrides.toml"
        message = (
            f"No working-day schedule is known for {year}: chinesecalendar covers only the years "
            f"it was released with. Add the year from the State Council notice "
            f"(国务院办公厅关于{year}年部分节假日安排的通知) to the override file {where}:\n"
            f"  [years.{year}]\n"
            f'  source = "国务院办公厅 …号"\n'
            f"  holidays = [{year}-01-01, …]   # every rest day of the holidays\n"
            f"  workdays = [{year}-…]           # weekend make-up working days (调休上班)\n"
            f"or upgrade chinesecalendar. To accept unverified Monday–Friday results instead, set "
            f'calendar.unknown_year_mode = "weekday_fallback".'
        )
        super().__init__(message, details={"year": year, "overrides_path": where})
        self.year = year


class QuestionBankInvalid(RulesError):
    code = "question_bank_invalid"


class ActionRefused(RulesError):
    """An application action is not allowed now; ``reasons`` says why (all of them)."""

    code = "action_refused"

    def __init__(self, reasons: Iterable[Reason], message: str = "") -> None:
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        codes = ", ".join(r.value for r in self.reasons)
        super().__init__(message or f"refused: {codes}", details={"reasons": list(self.reasons)})


class IllegalApplicationTransition(IllegalTransition):
    """A transition not in :data:`proctor.rules.states.TRANSITIONS` was attempted."""
