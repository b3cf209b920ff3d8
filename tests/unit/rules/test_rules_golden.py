"""Golden cases: one file per DOMAIN.md (c) edge case in fixtures/rules/, run through the rules.

Each file holds ``[[checks]]``; ``kind`` selects how the input is fed to the rules and how the
``expect`` table is compared. See fixtures/rules/README.md for the schema.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from proctor.errors import ProctorError
from proctor.rules.application import Application
from proctor.rules.calendar import ChineseWorkdayCalendar, load_overrides
from proctor.rules.cycles import clearing_reminder, cycle_for
from proctor.rules.deadlines import exam_deadline, review_due, study_window
from proctor.rules.driver import DriverRecord, ReductionRecord
from proctor.rules.eligibility import Stage, check_eligibility
from proctor.rules.errors import ActionRefused
from proctor.rules.exam import Response, face_checks_invalidate, score_exam
from proctor.rules.fraud import confirm_fraud, uphold_appeal
from proctor.rules.points import Mode, award_points, reduce_points
from proctor.rules.policy import RulesPolicy, load_policy
from proctor.rules.study import StudySegment, counted_seconds, study_complete
from proctor.rules.timeutil import SHANGHAI, local_date

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "rules"
CASE_FILES = sorted(FIXTURES.glob("*.toml"))
BASE_POLICY = load_policy()


def _policy(check: Mapping[str, Any]) -> RulesPolicy:
    return BASE_POLICY.with_settings(**check.get("settings", {}))


def _calendar(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> ChineseWorkdayCalendar:
    path = None
    if "overrides_toml" in check:
        path = tmp / "calendar_overrides.toml"
        path.write_text(check["overrides_toml"], encoding="utf-8")
    return ChineseWorkdayCalendar(load_overrides(path), policy.calendar.unknown_year_mode)


def _driver(raw: Mapping[str, Any]) -> DriverRecord:
    fields = dict(raw)
    fields.setdefault("driver_id", "d1")
    fields["reductions"] = tuple(ReductionRecord(**r) for r in fields.get("reductions", []))
    for key in ("licence_grant_dates", "full_score_education_dates"):
        fields[key] = tuple(fields.get(key, ()))
    for key in ("serious_offence_dates", "fraud_record_dates"):
        fields[key] = tuple(fields.get(key, ()))
    return DriverRecord(**fields)


def _responses(pattern: str) -> list[Response]:
    """C = correct, W = wrong, T = timed out (61 s), U = not answered."""
    table = {
        "C": Response(correct=True, elapsed_s=10),
        "W": Response(correct=False, elapsed_s=10),
        "T": Response(correct=True, elapsed_s=61),
        "U": Response(correct=False, elapsed_s=60, answered=False),
    }
    return [table[c] for c in pattern]


def _expect_error(check: Mapping[str, Any], run: Callable[[], Any]) -> Any:
    expected = check["expect"].get("error")
    if expected is None:
        return run()
    with pytest.raises(ProctorError) as info:
        run()
    assert info.value.code == expected
    for fragment in check["expect"].get("message_contains", []):
        assert fragment in info.value.message
    return None


# -- kinds ----------------------------------------------------------------------------------------
def k_eligibility(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    verdict = check_eligibility(
        _driver(check["driver"]),
        check["at"],
        policy,
        has_open_application=check.get("has_open_application", False),
        stage=Stage(check.get("stage", "application")),
    )
    expect = check["expect"]
    assert verdict.eligible is expect["eligible"]
    assert sorted(verdict.reasons) == sorted(expect["reasons"])


def k_reduction(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    award = award_points(Mode(check["mode"]), policy.points)
    result = reduce_points(
        award, check["current_points"], check["reduced_this_cycle"], policy.points
    )
    expect = check["expect"]
    assert result.removed_points == expect["removed"]
    assert result.points_after == expect["points_after"]
    assert sorted(result.reasons) == sorted(expect.get("reasons", []))


def k_cycle(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    anchor = _driver(check["driver"]).cycle_anchor
    cycle = cycle_for(anchor, check["on"], policy.cycle)
    expect = check["expect"]
    assert (cycle.index, cycle.start, cycle.clearing_date) == (
        expect["index"],
        expect["start"],
        expect["clearing_date"],
    )


def k_clearing_reminder(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    reminder = clearing_reminder(check["anchor"], check["on"], policy.cycle)
    expect = check["expect"]
    assert (reminder.days_left, reminder.remind) == (expect["days_left"], expect["remind"])


def k_study_window(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> None:
    cal = _calendar(check, policy, tmp)
    window = study_window(check["approved_at"], cal, policy.study, policy.calendar)
    expect = check["expect"]
    assert window.deadline.last_day == expect["last_day"]
    assert window.deadline.rolled_forward is expect["rolled_forward"]
    assert window.deadline.ends_at == datetime.combine(
        expect["last_day"] + timedelta(days=1), datetime.min.time(), SHANGHAI
    )
    if "opens_at" in expect:
        assert window.opens_at == expect["opens_at"]


def _deadline_kind(fn: Callable[..., Any], section: str, key: str) -> Callable[..., None]:
    def run(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> None:
        cal = _calendar(check, policy, tmp)
        deadline = _expect_error(
            check, lambda: fn(check[key], cal, getattr(policy, section), policy.calendar)
        )
        if deadline is not None:
            assert deadline.last_day == check["expect"]["last_day"]
            assert deadline.verified is check["expect"].get("verified", True)

    return run


def k_study_time(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> None:
    window = study_window(
        check["approved_at"], _calendar(check, policy, tmp), policy.study, policy.calendar
    )
    segments = [
        StudySegment(s["start"], s["end"], s.get("session", "s1")) for s in check["segments"]
    ]
    seconds = counted_seconds(segments, window, policy.study, set(check.get("terminated", [])))
    assert seconds == check["expect"]["seconds"]
    assert study_complete(seconds, policy.study) is check["expect"]["complete"]


def k_exam_score(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    outcome = score_exam(_responses(check["pattern"]), policy.exam)
    expect = check["expect"]
    got = {
        "passed": outcome.passed,
        "correct": outcome.correct,
        "wrong": outcome.wrong,
        "questions_used": outcome.questions_used,
        "ended_early": outcome.ended_early,
    }
    assert got == {k: expect[k] for k in got}


def k_response_time(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    response = Response(True, check["elapsed_s"], check.get("face_check_pause_s", 0.0))
    assert response.timed_out(policy.exam) is check["expect"]["timed_out"]


def k_face_checks(check: Mapping[str, Any], policy: RulesPolicy, _tmp: Path) -> None:
    assert face_checks_invalidate(check["results"], policy.exam) is check["expect"]["invalid"]


def k_local_date(check: Mapping[str, Any], _policy: RulesPolicy, _tmp: Path) -> None:
    assert local_date(check["at"]) == check["expect"]["date"]


# -- lifecycle ------------------------------------------------------------------------------------
def _fast_pass(app: Application, at: datetime) -> None:
    """Approve at ``at``; study 30 min at 09:00 next day; pass the exam and the final check."""
    app.approve(at)
    day = local_date(at) + timedelta(days=1)
    start = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=9)
    app.record_segment(StudySegment(start, start + timedelta(minutes=30)))
    app.submit_study(start + timedelta(minutes=30))
    app.start_exam(start + timedelta(minutes=40))
    app.finish_exam(
        score_exam(_responses("C" * 20), app.policy.exam), start + timedelta(minutes=55)
    )
    app.final_auth(True, start + timedelta(minutes=56))


def _step(app: Application | None, step: Mapping[str, Any], ctx: dict[str, Any]) -> Any:
    action: str = step["action"]
    at: Any = step.get("at")
    driver = _driver(step["driver"]) if "driver" in step else ctx["driver"]
    if action == "submit":
        return Application.submit(
            step.get("id", "a1"),
            driver,
            at,
            ctx["policy"],
            ctx["calendar"],
            has_open_application=step.get("has_open_application", False),
        )
    assert app is not None
    actions: dict[str, Callable[[], Any]] = {
        "approve": lambda: app.approve(at).deadline,
        "reject": lambda: app.reject(at),
        "tick": lambda: app.tick(at),
        "fast_pass": lambda: _fast_pass(app, at),
        "segment": lambda: app.record_segment(
            StudySegment(step["start"], step["end"], step.get("session", "s1"))
        ),
        "terminate_session": lambda: app.terminate_session(step["session"], at),
        "submit_study": lambda: app.submit_study(at),
        "start_exam": lambda: app.start_exam(at),
        "finish_exam": lambda: app.finish_exam(
            score_exam(_responses(step["pattern"]), app.policy.exam), at
        ),
        "invalidate_exam": lambda: app.invalidate_exam(at),
        "final_auth": lambda: app.final_auth(step["passed"], at),
        "request_review": lambda: app.request_review(at),
        "decide_review": lambda: app.decide_review(step["upheld"], at),
        "apply_reduction": lambda: app.apply_reduction(
            driver, at, Mode(step.get("mode", "online"))
        ),
        "reassess": lambda: app.reassess(driver, at),
    }
    return actions[action]()


def _check_step(app: Application, result: Any, step: Mapping[str, Any]) -> None:
    if "expect_state" in step:
        assert app.state == step["expect_state"], step
    if "expect_reasons" in step:
        assert sorted(app.reasons) == sorted(step["expect_reasons"]), step
    if "expect_last_day" in step:
        assert result.last_day == step["expect_last_day"], step
    if "expect_rolled_forward" in step:
        assert result.rolled_forward is step["expect_rolled_forward"], step
    if "expect_attempt" in step:
        assert result == step["expect_attempt"], step
    if "expect_status" in step:
        assert result.status == step["expect_status"], step
        assert sorted(result.reasons) == sorted(step.get("expect_decision_reasons", [])), step
    if "expect_removed" in step:
        removed = result.reduction.removed_points if result.reduction else 0
        assert removed == step["expect_removed"], step
    if "expect_points_after" in step:
        assert result.reduction.points_after == step["expect_points_after"], step
    if "expect_events" in step:
        kinds = [e.kind.value for e in app.events]
        for kind in step["expect_events"]:
            assert kind in kinds, (kind, kinds)
    if step.get("expect_no_reduction"):
        assert app.reduction is None


def k_lifecycle(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> None:
    ctx = {"policy": policy, "calendar": _calendar(check, policy, tmp)}
    ctx["driver"] = _driver(check["driver"])
    app: Application | None = None
    for step in check["steps"]:
        if "refused" in step:
            assert app is not None
            with pytest.raises(ActionRefused) as info:
                _step(app, step, ctx)
            assert sorted(info.value.reasons) == sorted(step["refused"]), step
            result = None
        else:
            result = _step(app, step, ctx)
            if step["action"] == "submit":
                app, result = result, None
        assert app is not None
        _check_step(app, result, step)


def k_fraud(check: Mapping[str, Any], policy: RulesPolicy, tmp: Path) -> None:
    cal = _calendar(check, policy, tmp)
    driver = _driver(check["driver"])
    apps: list[Application] = []
    for i, at in enumerate(check["reductions_at"]):
        app = Application.submit(f"a{i + 1}", driver, at, policy, cal)
        _fast_pass(app, at)
        applied_at = at + timedelta(days=2)
        decision = app.apply_reduction(driver, applied_at)
        assert decision.reduction is not None
        driver = _driver(
            {
                **check["driver"],
                "cycle_points": decision.reduction.points_after,
                "reductions": [
                    *({"on": r.on, "points": r.points} for r in driver.reductions),
                    {"on": local_date(applied_at), "points": decision.reduction.removed_points},
                ],
            }
        )
        apps.append(app)
    outcome = confirm_fraud(apps, check["fraudulent_id"], check["fraud_at"], policy)
    expect = check["expect"]
    assert outcome.restored_points == expect["restored_points"]
    assert list(outcome.barred_cycle_indexes) == expect["barred_cycles"]
    assert outcome.platform_blacklist_until == expect["platform_blacklist_until"]
    assert [a.state.value for a in apps] == expect["states_after_fraud"]
    blacklisted = [e for a in apps for e in a.events if e.kind == "blacklisted"]
    assert len(blacklisted) == 1
    if "appeal_at" in check:
        points = uphold_appeal(apps, outcome, check["appeal_at"])
        assert points == expect["appeal_points"]
        assert [a.state.value for a in apps] == expect["states_after_appeal"]
        assert any(e.kind == "appeal_result" for a in apps for e in a.events)


KINDS: dict[str, Callable[[Mapping[str, Any], RulesPolicy, Path], None]] = {
    "eligibility": k_eligibility,
    "reduction": k_reduction,
    "cycle": k_cycle,
    "clearing_reminder": k_clearing_reminder,
    "study_window": k_study_window,
    "exam_deadline": _deadline_kind(exam_deadline, "exam", "completed_on"),
    "review_due": _deadline_kind(review_due, "review", "received_on"),
    "study_time": k_study_time,
    "exam_score": k_exam_score,
    "response_time": k_response_time,
    "face_checks": k_face_checks,
    "local_date": k_local_date,
    "lifecycle": k_lifecycle,
    "fraud": k_fraud,
}


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _checks() -> list[Any]:
    params = []
    for path in CASE_FILES:
        case = _load(path)
        for i, check in enumerate(case["checks"]):
            params.append(pytest.param(check, id=f"{path.stem}[{i}]{check['name']}"))
    return params


def test_every_edge_case_has_a_golden_file() -> None:
    cases = sorted(_load(p)["case"] for p in CASE_FILES)
    assert cases == list(range(1, 33))
    for path in CASE_FILES:
        case = _load(path)
        assert case["domain_ref"] == f"DOMAIN.md (c) {case['case']}"
        assert case["checks"], path


@pytest.mark.parametrize("check", _checks())
def test_golden(check: Mapping[str, Any], tmp_path: Path) -> None:
    KINDS[check["kind"]](check, _policy(check), tmp_path)


def test_golden_dates_are_real_dates() -> None:
    # guard against a fixture typo silently turning a date into a string
    for path in CASE_FILES:
        text = path.read_text("utf-8")
        assert not re.search(r'= "\d{4}-\d{2}-\d{2}', text), path
