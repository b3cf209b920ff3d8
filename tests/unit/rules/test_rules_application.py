"""Application aggregate details not covered by the golden cases."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from proctor.errors import IllegalTransition
from proctor.rules.application import Application
from proctor.rules.calendar import ChineseWorkdayCalendar
from proctor.rules.driver import DriverRecord, ReductionRecord
from proctor.rules.errors import ActionRefused
from proctor.rules.events import EventKind
from proctor.rules.exam import Response, score_exam
from proctor.rules.policy import load_policy
from proctor.rules.states import ApplicationState
from proctor.rules.study import StudySegment
from proctor.rules.timeutil import SHANGHAI

POLICY = load_policy()
CAL = ChineseWorkdayCalendar()
DRIVER = DriverRecord("d1", date(2015, 3, 10), cycle_points=3)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_illegal_transition_has_the_shared_code() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.approve(at(10, 10))
    with pytest.raises(IllegalTransition) as info:
        app.approve(at(10, 11))
    assert info.value.code == "illegal_transition"


def test_failed_entry_auth_blocks_study_until_manual_review() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.approve(at(10, 10))
    app.entry_auth_failed(at(11, 8))
    assert app.state is ApplicationState.MANUAL_ID_REVIEW
    with pytest.raises(IllegalTransition):
        app.record_segment(StudySegment(at(11, 9), at(11, 9, 30)))
    app.manual_id_approved(at(11, 12))
    app.record_segment(StudySegment(at(11, 13), at(11, 13, 30)))
    assert app.submit_study(at(11, 13, 30)).last_day == date(2025, 3, 20)


def test_manual_review_never_decided_ends_with_the_window() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.approve(at(10, 10))
    app.entry_auth_failed(at(11, 8))
    assert app.tick(at(14, 0)) is ApplicationState.VOID_STUDY_EXPIRED


def test_segment_before_the_window_is_refused() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.approve(at(10, 10))
    with pytest.raises(ActionRefused) as info:
        app.record_segment(StudySegment(at(10, 11), at(10, 11, 30)))
    assert info.value.reasons == ("study_window_not_open",)
    assert info.value.code == "action_refused"


def test_police_rejection_is_terminal_with_reason_and_event() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.reject(at(10, 10))
    assert app.is_terminal and app.reasons == ("rejected_by_police",)
    assert app.events[-1].kind is EventKind.APPLICATION_REJECTED


def test_cap_reached_by_earlier_reductions_voids_at_reduction_time() -> None:
    app = Application.submit("a1", DRIVER, at(10, 9), POLICY, CAL)
    app.approve(at(10, 10))
    app.record_segment(StudySegment(at(11, 9), at(11, 9, 30)))
    app.submit_study(at(11, 9, 30))
    app.start_exam(at(11, 10))
    app.finish_exam(score_exam([Response(True, 5.0)] * 20, POLICY.exam), at(11, 10, 20))
    app.final_auth(True, at(11, 10, 21))
    # an on-site reduction of 6 points was recorded meanwhile in the same cycle
    later = DriverRecord(
        "d1", date(2015, 3, 10), cycle_points=3, reductions=(ReductionRecord(date(2025, 3, 11), 6),)
    )
    decision = app.apply_reduction(later, at(12, 9))
    assert decision.status == "void" and decision.reasons == ("cycle_cap_reached",)


def test_driver_record_rejects_negative_values() -> None:
    with pytest.raises(ValueError, match="cycle_points"):
        DriverRecord("d1", date(2015, 3, 10), cycle_points=-1)
    with pytest.raises(ValueError, match="reductions"):
        DriverRecord("d1", date(2015, 3, 10), reductions=(ReductionRecord(date(2025, 1, 1), -1),))
