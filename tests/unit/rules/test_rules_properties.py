"""Hypothesis properties from issue #4.

* points are never negative and never reduced beyond the per-cycle cap;
* no transition leaves a terminal state (random action sequences on a real Application);
* every deadline counted in working days falls on a working day.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.rules.application import Application
from proctor.rules.calendar import ChineseWorkdayCalendar
from proctor.rules.deadlines import nth_workday_after, study_window
from proctor.rules.driver import DriverRecord
from proctor.rules.errors import ActionRefused, IllegalApplicationTransition
from proctor.rules.exam import Response, score_exam
from proctor.rules.points import Mode, award_points, reduce_points
from proctor.rules.policy import CapOverflow, load_policy
from proctor.rules.states import TRANSITIONS, is_terminal
from proctor.rules.study import StudySegment
from proctor.rules.timeutil import SHANGHAI

POLICY = load_policy()
CALENDAR = ChineseWorkdayCalendar()
KNOWN_DAYS = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(
    start_points=st.integers(0, 11),
    modes=st.lists(st.sampled_from(list(Mode)), max_size=12),
    new_points=st.lists(st.integers(0, 3), max_size=12),
    overflow=st.sampled_from(list(CapOverflow)),
)
def test_points_never_negative_and_cap_holds(
    start_points: int, modes: list[Mode], new_points: list[int], overflow: CapOverflow
) -> None:
    points_policy = POLICY.with_settings(points={"cap_overflow": overflow.value}).points
    points, reduced = start_points, 0
    for mode, extra in zip(modes, new_points + [0] * len(modes), strict=False):
        award = award_points(mode, points_policy)
        result = reduce_points(award, points, reduced, points_policy)
        assert 0 <= result.removed_points <= award
        assert result.points_after >= 0
        assert result.reduced_after_points <= points_policy.cycle_cap_points
        points, reduced = result.points_after + extra, result.reduced_after_points


@settings(max_examples=200, deadline=None)
@given(day=KNOWN_DAYS, n=st.integers(1, 10))
def test_working_day_deadlines_fall_on_working_days(day: date, n: int) -> None:
    deadline = nth_workday_after(CALENDAR, day, n, POLICY.calendar)
    assert chinese_calendar.is_workday(deadline.last_day)
    between = chinese_calendar.get_workdays(day + timedelta(days=1), deadline.last_day)
    assert len(between) == n  # exactly n working days after ``day``, the last one inclusive


@settings(max_examples=200, deadline=None)
@given(day=KNOWN_DAYS, minute=st.integers(0, 24 * 60 - 1))
def test_rolled_study_window_ends_on_a_working_day(day: date, minute: int) -> None:
    approved = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(minutes=minute)
    window = study_window(approved, CALENDAR, POLICY.study, POLICY.calendar)
    assert chinese_calendar.is_workday(window.deadline.last_day)
    assert window.deadline.last_day >= day + timedelta(days=POLICY.study.window_calendar_days)


DRIVER = DriverRecord("d1", date(2015, 3, 10), cycle_points=4)
DETAINED = DriverRecord("d1", date(2015, 3, 10), cycle_points=4, licence_detained=True)
PASS = score_exam([Response(True, 5.0)] * 20, POLICY.exam)
FAIL = score_exam([Response(False, 5.0)] * 3, POLICY.exam)


def _actions(app: Application, at: datetime) -> dict[str, Callable[[], object]]:
    return {
        "approve": lambda: app.approve(at),
        "reject": lambda: app.reject(at),
        "tick": lambda: app.tick(at),
        "segment": lambda: app.record_segment(StudySegment(at, at + timedelta(minutes=31))),
        "terminate": lambda: app.terminate_session("s1", at),
        "auth_fail": lambda: app.entry_auth_failed(at),
        "manual_ok": lambda: app.manual_id_approved(at),
        "submit_study": lambda: app.submit_study(at + timedelta(minutes=31)),
        "start_exam": lambda: app.start_exam(at),
        "pass_exam": lambda: app.finish_exam(PASS, at),
        "fail_exam": lambda: app.finish_exam(FAIL, at),
        "invalidate": lambda: app.invalidate_exam(at),
        "final_ok": lambda: app.final_auth(True, at),
        "final_fail": lambda: app.final_auth(False, at),
        "review": lambda: app.request_review(at),
        "uphold": lambda: app.decide_review(True, at),
        "dismiss": lambda: app.decide_review(False, at),
        "apply": lambda: app.apply_reduction(DRIVER, at),
        "reassess": lambda: app.reassess(DRIVER, at),
        "detained": lambda: app.reassess(DETAINED, at),
        "revoke": lambda: app.revoke(at),
        "restore": lambda: app.restore(at),
    }


# Forward actions are listed more than once so random walks reach the late states too.
ACTION_NAMES = (
    "approve", "approve", "reject", "tick", "segment", "segment", "terminate", "auth_fail",
    "manual_ok", "submit_study", "submit_study", "start_exam", "start_exam", "pass_exam",
    "fail_exam", "invalidate", "final_ok", "final_fail", "review", "uphold", "dismiss",
    "apply", "apply", "reassess", "detained", "revoke", "restore",
)  # fmt: skip
ADVANCE_MIN = (0, 1, 5, 31, 60, 600, 1500, 3000)
# A prefix of this path brings the application to a late state before the random tail starts.
HAPPY_PATH = (
    "approve", "segment", "submit_study", "start_exam", "pass_exam", "final_fail", "review",
    "uphold", "apply", "revoke", "restore",
)  # fmt: skip


def test_action_names_cover_every_action() -> None:
    app = Application.submit("a0", DRIVER, datetime(2025, 6, 2, tzinfo=SHANGHAI), POLICY, CALENDAR)
    assert set(ACTION_NAMES) == set(_actions(app, datetime(2025, 6, 2, tzinfo=SHANGHAI)))


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.integers(0, len(HAPPY_PATH)),
    steps=st.lists(
        st.tuples(st.sampled_from(ACTION_NAMES), st.sampled_from(ADVANCE_MIN)),
        max_size=30,
    ),
)
def test_no_transition_leaves_a_terminal_state(prefix: int, steps: list[tuple[str, int]]) -> None:
    at = datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)
    app = Application.submit("a1", DRIVER, at, POLICY, CALENDAR)
    for name in HAPPY_PATH[:prefix]:
        advance_min = 1440 if name == "segment" else 40
        at += timedelta(minutes=advance_min)
        _actions(app, at)[name]()
    for name, advance_min in steps:
        at += timedelta(minutes=advance_min)
        before = app.state
        with contextlib.suppress(ActionRefused, IllegalApplicationTransition):
            _actions(app, at)[name]()
        if is_terminal(before):
            assert app.state is before
    for src, dst, _ in app.history:
        assert dst in TRANSITIONS[src]
        assert not is_terminal(src)
