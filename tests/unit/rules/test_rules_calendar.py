"""Working-day calendar: chinesecalendar wrapper, operator overrides, unknown years."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from proctor.rules.calendar import ChineseWorkdayCalendar, load_overrides
from proctor.rules.deadlines import exam_deadline, nth_workday_after, review_due, study_window
from proctor.rules.errors import CalendarYearUnknown, RulesDataInvalid
from proctor.rules.policy import UnknownYearMode, load_policy
from proctor.rules.timeutil import end_of_day, local_date

POLICY = load_policy()

OVERRIDE_2027 = """
[years.2027]
source = "test schedule (hypothetical, not the State Council notice)"
holidays = [2027-01-01, 2027-01-02, 2027-01-03]
workdays = []
"""


def test_window_crossing_into_2027_fails_closed_with_instructions() -> None:
    cal = ChineseWorkdayCalendar()
    with pytest.raises(CalendarYearUnknown) as info:
        exam_deadline(date(2026, 12, 24), cal, POLICY.exam, POLICY.calendar)
    err = info.value
    assert err.code == "calendar_year_unknown"
    assert err.year == 2027
    assert "[years.2027]" in err.message
    assert "calendar_overrides.toml" in err.message
    assert err.to_dict()["details"]["year"] == 2027


def test_window_crossing_into_2027_passes_after_override(tmp_path: Path) -> None:
    path = tmp_path / "calendar_overrides.toml"
    path.write_text(OVERRIDE_2027, encoding="utf-8")
    cal = ChineseWorkdayCalendar.from_path(path)
    deadline = exam_deadline(date(2026, 12, 24), cal, POLICY.exam, POLICY.calendar)
    # 12-25, 28, 29, 30, 31, then 2027-01-04 and 2027-01-05 (01-01..03 are rest days here).
    assert deadline.last_day == date(2027, 1, 5)
    assert deadline.verified


def test_error_names_the_operator_file_in_use(tmp_path: Path) -> None:
    path = tmp_path / "ops.toml"
    path.write_text("[years]\n", encoding="utf-8")
    with pytest.raises(CalendarYearUnknown) as info:
        ChineseWorkdayCalendar.from_path(path).day_status(date(2027, 3, 1))
    assert str(path) in info.value.message


def test_weekday_fallback_is_marked_unverified() -> None:
    cal = ChineseWorkdayCalendar(unknown_year_mode=UnknownYearMode.WEEKDAY_FALLBACK)
    assert not cal.day_status(date(2027, 1, 2)).is_workday  # Saturday
    status = cal.day_status(date(2027, 1, 4))
    assert status.is_workday and not status.verified
    assert cal.day_status(date(2026, 10, 1)).verified


def test_override_replaces_a_known_year(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text(
        '[years.2026]\nsource = "correction"\nholidays = [2026-03-02]\nworkdays = []\n',
        encoding="utf-8",
    )
    cal = ChineseWorkdayCalendar.from_path(path)
    assert not cal.day_status(date(2026, 3, 2)).is_workday
    # the rest of 2026 now follows Monday–Friday plus this table only
    assert not cal.day_status(date(2026, 2, 14)).is_workday


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[years.2027]\nholidays = []\nworkdays = []\n", "source"),
        ('[years.2027]\nsource = "x"\nholidays = [2026-01-01]\n', "another year"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-01-01"]\n', "list of TOML dates"),
        ('[years.2027]\nsource = "x"\nholidays = [2027-01-02]\nworkdays = [2027-01-02]\n', "both"),
        ('[years.abc]\nsource = "x"\n', "must be a year"),
        ("[years\n", "not valid TOML"),
    ],
)
def test_bad_override_files_are_rejected(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesDataInvalid) as info:
        load_overrides(path)
    assert fragment in info.value.message


def test_packaged_override_file_loads_and_adds_no_year() -> None:
    assert dict(load_overrides().years) == {}


def test_utc_input_is_converted_before_taking_the_date() -> None:
    late = datetime(2025, 10, 16, 15, 30, tzinfo=UTC)
    assert local_date(late) == date(2025, 10, 16)
    assert late < end_of_day(date(2025, 10, 16))
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2025, 10, 16, 15, 30))


def test_study_window_of_utc_approval() -> None:
    cal = ChineseWorkdayCalendar()
    window = study_window(
        datetime(2025, 9, 27, 16, 30, tzinfo=UTC), cal, POLICY.study, POLICY.calendar
    )  # 2025-09-28 00:30 local
    assert window.deadline.last_day == date(2025, 10, 9)


def test_nth_workday_after_rejects_zero() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        nth_workday_after(ChineseWorkdayCalendar(), date(2025, 1, 1), 0, POLICY.calendar)


def test_review_due_counts_make_up_saturday() -> None:
    due = review_due(date(2025, 9, 30), ChineseWorkdayCalendar(), POLICY.review, POLICY.calendar)
    assert due.last_day == date(2025, 10, 11)
