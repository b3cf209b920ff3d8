"""China's working-day calendar: the only module that imports ``chinese_calendar``.

``ChineseWorkdayCalendar`` answers "is this date a working day?" from, in order:

1. the operator override file (``[years.YYYY]`` tables with ``holidays`` and make-up ``workdays``),
   which wins over the package so operators can add a year (2027 is not in chinesecalendar 1.11.0)
   or correct one;
2. ``chinese_calendar.is_workday`` (holiday- and 调休-aware, covers 2004–2026 in 1.11.0);
3. otherwise, by policy: fail closed with :class:`CalendarYearUnknown` (default), or fall back to
   Monday–Friday and mark the answer ``verified=False``.

The rest of the package depends only on the :class:`WorkdayCalendar` protocol.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import chinese_calendar

from proctor.rules.errors import CalendarYearUnknown, RulesDataInvalid
from proctor.rules.policy import UnknownYearMode

DEFAULT_OVERRIDES_FILE = "calendar_overrides.toml"
_SATURDAY = 5


@dataclass(frozen=True, slots=True)
class DayStatus:
    is_workday: bool
    verified: bool


class WorkdayCalendar(Protocol):
    def day_status(self, day: date) -> DayStatus: ...


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's published schedule: rest days and weekend make-up working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < _SATURDAY and day not in self.holidays


@dataclass(frozen=True, slots=True)
class CalendarOverrides:
    years: Mapping[int, YearSchedule] = field(default_factory=dict)
    path: str | None = None


def _dates(year: int, key: str, raw: Any) -> frozenset[date]:
    if not isinstance(raw, list) or not all(isinstance(d, date) for d in raw):
        raise RulesDataInvalid(f"[years.{year}].{key} must be a list of TOML dates")
    wrong_year = [d for d in raw if d.year != year]
    if wrong_year:
        raise RulesDataInvalid(f"[years.{year}].{key} has dates of another year: {wrong_year}")
    return frozenset(raw)


def parse_overrides(data: Mapping[str, Any], path: str | None = None) -> CalendarOverrides:
    years: dict[int, YearSchedule] = {}
    for key, table in dict(data.get("years", {})).items():
        try:
            year = int(key)
        except ValueError as exc:
            raise RulesDataInvalid(f"[years.{key}]: the table name must be a year") from exc
        if not isinstance(table, Mapping) or "source" not in table:
            raise RulesDataInvalid(f"[years.{year}] needs source, holidays and workdays")
        holidays = _dates(year, "holidays", table.get("holidays", []))
        workdays = _dates(year, "workdays", table.get("workdays", []))
        if holidays & workdays:
            raise RulesDataInvalid(f"[years.{year}]: dates both holiday and workday")
        years[year] = YearSchedule(year, holidays, workdays, str(table["source"]))
    return CalendarOverrides(years=years, path=path)


def load_overrides(path: Path | str | None = None) -> CalendarOverrides:
    """Read an override file; ``None`` reads the packaged ``data/calendar_overrides.toml``."""
    if path is None:
        ref = resources.files("proctor.rules.data").joinpath(DEFAULT_OVERRIDES_FILE)
        text, shown = ref.read_text("utf-8"), f"proctor/rules/data/{DEFAULT_OVERRIDES_FILE}"
    else:
        text, shown = Path(path).read_text("utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesDataInvalid(f"{shown} is not valid TOML: {exc}") from exc
    return parse_overrides(data, shown)


class ChineseWorkdayCalendar:
    """Holiday- and 调休-aware working days (overrides → chinesecalendar → policy fallback)."""

    def __init__(
        self,
        overrides: CalendarOverrides | None = None,
        unknown_year_mode: UnknownYearMode = UnknownYearMode.FAIL_CLOSED,
    ) -> None:
        self._overrides = overrides if overrides is not None else load_overrides()
        self._mode = unknown_year_mode

    @classmethod
    def from_path(
        cls,
        path: Path | str | None,
        unknown_year_mode: UnknownYearMode = UnknownYearMode.FAIL_CLOSED,
    ) -> ChineseWorkdayCalendar:
        return cls(load_overrides(path), unknown_year_mode)

    @property
    def override_years(self) -> tuple[int, ...]:
        return tuple(self._overrides.years)

    def day_status(self, day: date) -> DayStatus:
        schedule = self._overrides.years.get(day.year)
        if schedule is not None:
            return DayStatus(schedule.is_workday(day), verified=True)
        try:
            return DayStatus(bool(chinese_calendar.is_workday(day)), verified=True)
        except NotImplementedError:
            if self._mode is UnknownYearMode.WEEKDAY_FALLBACK:
                return DayStatus(day.weekday() < _SATURDAY, verified=False)
            raise CalendarYearUnknown(day.year, self._overrides.path) from None


def package_last_year() -> int:
    """The last year the installed chinesecalendar knows (2026 for 1.11.0)."""
    return int(max(d.year for d in chinese_calendar.holidays))


class PendingTolerantCalendar:
    """Never raises for an unknown year: such a day is answered Monday–Friday, ``verified=False``.

    An application's deadlines are computed through it, so a request whose deadline needs a year
    the calendar lacks is still recorded; the unverified deadline is ``pending_calendar`` and is
    recomputed when the year is added (issue 18 item 3: never refused, never voided).
    """

    def __init__(self, inner: WorkdayCalendar) -> None:
        self.inner = inner

    def day_status(self, day: date) -> DayStatus:
        try:
            return self.inner.day_status(day)
        except CalendarYearUnknown:
            return DayStatus(day.weekday() < _SATURDAY, verified=False)


def tolerant(calendar: WorkdayCalendar) -> WorkdayCalendar:
    if isinstance(calendar, PendingTolerantCalendar):
        return calendar
    return PendingTolerantCalendar(calendar)


class ReloadingCalendar:
    """A ``ChineseWorkdayCalendar`` over an operator's override file, re-read when it changes.

    The operator adds a year to the file (no restart); the next ``day_status`` for that year sees
    it. ``None`` uses the packaged file (which only changes with a release).
    """

    def __init__(
        self,
        path: Path | None,
        unknown_year_mode: UnknownYearMode = UnknownYearMode.FAIL_CLOSED,
    ) -> None:
        self.path, self._mode = path, unknown_year_mode
        self._stamp: int | None = None
        self._calendar = ChineseWorkdayCalendar(load_overrides(path), unknown_year_mode)
        self._stamp = self._mtime()

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns if self.path is not None else None
        except OSError:
            return None

    def _fresh(self) -> ChineseWorkdayCalendar:
        stamp = self._mtime()
        if stamp != self._stamp:
            self._calendar = ChineseWorkdayCalendar(load_overrides(self.path), self._mode)
            self._stamp = stamp
        return self._calendar

    def day_status(self, day: date) -> DayStatus:
        return self._fresh().day_status(day)

    def last_known_year(self) -> int:
        years = self._fresh().override_years
        return max([package_last_year(), *years])
