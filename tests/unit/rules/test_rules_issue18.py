"""Issue 18's rules defects, each with its test, and the aggregate's JSON round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from proctor.rules.application import Application
from proctor.rules.calendar import ChineseWorkdayCalendar, ReloadingCalendar, load_overrides
from proctor.rules.codec import from_dict, to_dict
from proctor.rules.cycles import cycle_for
from proctor.rules.driver import DriverRecord
from proctor.rules.eligibility import check_eligibility
from proctor.rules.errors import RulesDataInvalid
from proctor.rules.exam import ExamOutcome
from proctor.rules.fraud import confirm_fraud
from proctor.rules.policy import load_policy
from proctor.rules.states import ApplicationState
from proctor.rules.study import StudySegment
from proctor.rules.timeutil import SHANGHAI

S = ApplicationState
POLICY = load_policy()
DRIVER = DriverRecord("d1", date(2015, 3, 10), cycle_points=3)
PASSED = ExamOutcome(passed=True, correct=20, wrong=0, questions_used=20, ended_early=False)


def local(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def to_result_invalid(app: Application, exam_day: datetime) -> None:
    """Approve three days before ``exam_day``, study 30 min the next day, fail final auth."""
    study_day = exam_day - timedelta(days=1)
    app.record_segment(StudySegment(study_day, study_day + timedelta(minutes=31), "s1"))
    app.submit_study(study_day + timedelta(minutes=31))
    app.start_exam(exam_day)
    app.finish_exam(PASSED, exam_day + timedelta(minutes=20))
    app.final_auth(False, exam_day + timedelta(minutes=21))


def test_year_end_fuxi_is_recorded_pending_calendar_and_resolves(tmp_path: Path) -> None:
    """A 复核 asked on 2026-12-29 is due in 2027 (unknown to chinesecalendar 1.11.0): it was
    refused with calendar_year_unknown and the application ended invalid_final 24 h later."""
    overrides = tmp_path / "overrides.toml"
    overrides.write_text("[years]\n", encoding="utf-8")
    calendar = ReloadingCalendar(overrides)  # fail closed: the rules module's default
    app = Application.submit("a1", DRIVER, local(2026, 12, 24), POLICY, calendar)
    app.approve(local(2026, 12, 24, 11))
    to_result_invalid(app, local(2026, 12, 29))
    due = app.request_review(local(2026, 12, 29, 12))
    assert app.state is S.UNDER_REVIEW
    assert not due.verified and "review_due" in app.pending_calendar
    # never voided while the year is unknown, however long it waits
    assert app.tick(local(2027, 1, 20)) is S.UNDER_REVIEW
    overrides.write_text(
        '[years.2027]\nsource = "test data"\nholidays = [2027-01-01]\nworkdays = []\n',
        encoding="utf-8",
    )
    assert "review_due" in app.resolve_calendar()
    assert app.review_due is not None and app.review_due.verified
    assert app.review_due.last_day == date(2027, 1, 4)  # 12-30, 12-31, (1-1 off, weekend), 1-4
    assert app.pending_calendar == ()


def test_study_window_pending_calendar_is_not_voided() -> None:
    """An approval whose study window would roll into an unknown year: the window's end is
    pending; the tick does not void at the provisional end."""
    calendar = ChineseWorkdayCalendar(load_overrides(None))
    app = Application.submit("a1", DRIVER, local(2026, 12, 29), POLICY, calendar)
    app.approve(local(2026, 12, 29, 11))  # 12-30 .. 2027-01-01: needs 2027
    assert app.pending_calendar == ("study_window",)
    assert app.tick(local(2027, 1, 10)) is S.STUDY_OPEN


def test_naive_last_violation_processed_at_names_the_field() -> None:
    with pytest.raises(ValueError, match="last_violation_processed_at"):
        DriverRecord(
            "d1", date(2015, 3, 10), last_violation_processed_at=datetime(2026, 12, 1, 8, 0)
        )


def test_naive_instant_in_the_stored_record_is_invalid_driver_record() -> None:
    from proctor.services.records import InvalidDriverRecord, driver_record_from_json

    body = {"first_licence_date": "2015-03-10", "last_violation_processed_at": "2026-12-01T08:00"}
    with pytest.raises(InvalidDriverRecord) as info:
        driver_record_from_json("d1", body)
    assert info.value.code == "invalid_driver_record"
    assert info.value.details["field"] == "last_violation_processed_at"
    with pytest.raises(InvalidDriverRecord) as bad:
        driver_record_from_json("d1", {"first_licence_date": "2015-02-30"})
    assert bad.value.details["field"] == "first_licence_date"
    with pytest.raises(InvalidDriverRecord) as negative:
        driver_record_from_json("d1", {"first_licence_date": "2015-02-01", "cycle_points": -1})
    assert negative.value.details["field"] == "cycle_points"


def test_eligibility_before_the_first_licence_is_refused() -> None:
    driver = DriverRecord("d1", date(2026, 6, 1), cycle_points=3)
    verdict = check_eligibility(driver, local(2026, 5, 20), POLICY)
    assert not verdict.eligible and verdict.reasons == ("before_first_licence",)
    app = Application.submit("a1", driver, local(2026, 5, 20), POLICY, ChineseWorkdayCalendar())
    assert app.state is S.REJECTED and app.reasons == ("before_first_licence",)


def test_fraud_bar_and_eligibility_look_back_agree() -> None:
    """163 第26条第5项 "最近三个记分周期", read as GF2020 states the bar: this cycle and the
    next two. The cycles confirm_fraud bars are exactly those the eligibility check refuses."""
    anchor = date(2015, 3, 10)
    fraud_on = local(2024, 6, 1)
    driver = DriverRecord("d1", anchor, cycle_points=3)
    app = Application.submit("a1", driver, local(2024, 5, 1), POLICY, ChineseWorkdayCalendar())
    outcome = confirm_fraud([app], "a1", fraud_on, POLICY)
    with_record = DriverRecord("d1", anchor, cycle_points=3, fraud_record_dates=(date(2024, 6, 1),))
    refused = []
    for years in range(0, 6):
        when = local(2024 + years, 6, 2)
        idx = cycle_for(anchor, when.date(), POLICY.cycle).index
        if "fraud_record_recent" in check_eligibility(with_record, when, POLICY).reasons:
            refused.append(idx)
    assert refused == list(outcome.barred_cycle_indexes)
    assert len(refused) == POLICY.fraud.blacklist_cycles == 3


def test_rule_data_must_read_the_fraud_bar_one_way() -> None:
    with pytest.raises(RulesDataInvalid, match="blacklist_cycles"):
        import tomllib
        from importlib import resources

        from proctor.rules.policy import parse_policy

        raw = resources.files("proctor.rules.data").joinpath("xfjf_2022-04-01.toml").read_text()
        data = tomllib.loads(raw)
        data["eligibility"]["fraud_lookback_previous_cycles"]["value"] = 3
        parse_policy(data)


def test_system_review_holds_for_the_data_sync_then_approves() -> None:
    processed = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    driver = DriverRecord(
        "d1", date(2015, 3, 10), cycle_points=3, last_violation_processed_at=processed
    )
    cal = ChineseWorkdayCalendar()
    app = Application.submit("a1", driver, processed + timedelta(hours=2), POLICY, cal)
    assert app.system_review(driver, processed + timedelta(hours=2)) is S.PENDING_APPROVAL
    assert app.hold_until == processed + timedelta(hours=24)
    assert app.system_review(driver, processed + timedelta(hours=25)) is S.STUDY_OPEN


def test_codec_round_trip_keeps_the_aggregate() -> None:
    cal = ChineseWorkdayCalendar()
    app = Application.submit("a1", DRIVER, local(2026, 3, 2), POLICY, cal)
    app.approve(local(2026, 3, 2, 11))
    app.record_segment(StudySegment(local(2026, 3, 3), local(2026, 3, 3, 10, 31), "s1"))
    app.terminate_session("s2", local(2026, 3, 3, 12))
    app.submit_study(local(2026, 3, 3, 13))
    app.start_exam(local(2026, 3, 4))
    app.finish_exam(
        ExamOutcome(passed=False, correct=10, wrong=3, questions_used=13, ended_early=True),
        local(2026, 3, 4, 10, 20),
    )
    back = from_dict(to_dict(app), POLICY, cal)
    assert to_dict(back) == to_dict(app)
    assert back.state is S.EXAM_FAILED and back.study_seconds == app.study_seconds
    assert back.retake_deadline == app.retake_deadline
