"""Rule policies: frozen dataclasses read from a versioned TOML data file.

Every number used by the rules comes from ``proctor/rules/data/xfjf_<effective-date>.toml``,
where each value is stored as ``{value = …, source = "<article>"}``. The loader checks types,
allowed alternatives and the consistency of derived values (the pass mark), and raises
:class:`~proctor.rules.errors.RulesDataInvalid` otherwise. Units are in the field names.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from proctor.rules.errors import RulesDataInvalid

DEFAULT_RULES_FILE = "xfjf_2022-04-01.toml"


class CapOverflow(StrEnum):
    CLAMP = "clamp"
    REFUSE = "refuse"


class LeapDayAnniversary(StrEnum):
    MONTH_END = "month_end"
    NEXT_DAY = "next_day"


class ProbationEnds(StrEnum):
    BEFORE_ANNIVERSARY = "before_anniversary"
    ON_ANNIVERSARY = "on_anniversary"


class RetakeAnchor(StrEnum):
    LATEST_FAILURE = "latest_failure"
    FIRST_FAILURE = "first_failure"


class UnknownYearMode(StrEnum):
    FAIL_CLOSED = "fail_closed"
    WEEKDAY_FALLBACK = "weekday_fallback"


@dataclass(frozen=True, slots=True)
class PointsPolicy:
    full_score_points: int
    cycle_cap_points: int
    online_award_points: int
    onsite_award_points: int
    public_welfare_award_points: int
    cap_overflow: CapOverflow


@dataclass(frozen=True, slots=True)
class CyclePolicy:
    cycle_length_months: int
    leap_day_anniversary: LeapDayAnniversary
    clearing_reminder_days: int


@dataclass(frozen=True, slots=True)
class EligibilityPolicy:
    full_score_education_bar_records: int
    full_score_education_lookback_previous_cycles: int
    serious_offence_lookback_previous_cycles: int
    fraud_lookback_previous_cycles: int
    probation_months: int
    probation_ends: ProbationEnds
    pending_violations_block: bool
    one_open_application: bool
    sync_window_hours: int


@dataclass(frozen=True, slots=True)
class StudyPolicy:
    window_calendar_days: int
    window_starts_days_after_approval: int
    roll_forward_to_workday: bool
    min_segment_minutes: int
    required_total_minutes: int
    face_fail_consecutive_limit: int


@dataclass(frozen=True, slots=True)
class ExamPolicy:
    window_working_days: int
    question_count: int
    per_question_limit_s: int
    fail_on_wrong_count: int
    pass_min_correct: int
    max_retakes: int
    retake_window_hours: int
    retake_window_anchor: RetakeAnchor
    retake_allowed_after_exam_window: bool
    face_fail_consecutive_limit: int
    face_invalid_counts_as_attempt: bool


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    request_window_hours: int
    decision_working_days: int
    requests_per_exam_record: int


@dataclass(frozen=True, slots=True)
class FraudPolicy:
    restore_all_cycle_reductions: bool
    blacklist_cycles: int
    platform_blacklist_years: int


@dataclass(frozen=True, slots=True)
class CalendarPolicy:
    unknown_year_mode: UnknownYearMode
    max_search_days: int


@dataclass(frozen=True, slots=True)
class RulesPolicy:
    """All 学法减分 parameters of one rule-set version."""

    version: str
    effective_from: date
    timezone: str
    points: PointsPolicy
    cycle: CyclePolicy
    eligibility: EligibilityPolicy
    study: StudyPolicy
    exam: ExamPolicy
    review: ReviewPolicy
    fraud: FraudPolicy
    calendar: CalendarPolicy
    sources: Mapping[str, str]

    def with_settings(self, **sections: Mapping[str, Any]) -> RulesPolicy:
        """Copy with named settings changed: ``study={"roll_forward_to_workday": False}``."""
        changes: dict[str, Any] = {}
        for section, values in sections.items():
            current = getattr(self, section)
            types = {f.name: str(f.type) for f in dataclasses.fields(current)}
            unknown = set(values) - set(types)
            if unknown:
                raise RulesDataInvalid(f"[{section}]: unknown settings {sorted(unknown)}")
            converted = {k: _convert(section, k, v, types[k]) for k, v in values.items()}
            changes[section] = dataclasses.replace(current, **converted)
        return dataclasses.replace(self, **changes)


_SECTIONS: dict[str, type[Any]] = {
    "points": PointsPolicy,
    "cycle": CyclePolicy,
    "eligibility": EligibilityPolicy,
    "study": StudyPolicy,
    "exam": ExamPolicy,
    "review": ReviewPolicy,
    "fraud": FraudPolicy,
    "calendar": CalendarPolicy,
}

_T = TypeVar("_T")


def _convert(section: str, name: str, raw: Any, annotation: str) -> Any:
    enums: dict[str, type[StrEnum]] = {
        "CapOverflow": CapOverflow,
        "LeapDayAnniversary": LeapDayAnniversary,
        "ProbationEnds": ProbationEnds,
        "RetakeAnchor": RetakeAnchor,
        "UnknownYearMode": UnknownYearMode,
    }
    where = f"[{section}].{name}"
    if annotation in enums:
        try:
            return enums[annotation](raw)
        except ValueError as exc:
            raise RulesDataInvalid(f"{where}: {raw!r} is not an allowed value") from exc
    if annotation == "bool":
        if not isinstance(raw, bool):
            raise RulesDataInvalid(f"{where}: expected true/false, got {raw!r}")
        return raw
    if annotation == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise RulesDataInvalid(f"{where}: expected a non-negative integer, got {raw!r}")
        return raw
    raise RulesDataInvalid(f"{where}: unsupported field type {annotation}")  # pragma: no cover


def _build(section: str, cls: type[_T], table: Mapping[str, Any], sources: dict[str, str]) -> _T:
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        entry = table.get(field.name)
        if not isinstance(entry, Mapping) or "value" not in entry or "source" not in entry:
            raise RulesDataInvalid(f"[{section}].{field.name}: missing {{value, source}} entry")
        sources[f"{section}.{field.name}"] = str(entry["source"])
        kwargs[field.name] = _convert(section, field.name, entry["value"], str(field.type))
    unknown = set(table) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise RulesDataInvalid(f"[{section}]: unknown keys {sorted(unknown)}")
    return cls(**kwargs)


def parse_policy(data: Mapping[str, Any]) -> RulesPolicy:
    """Build a :class:`RulesPolicy` from a parsed TOML document."""
    sources: dict[str, str] = {}
    try:
        meta = data["meta"]
        built = {name: _build(name, cls, data[name], sources) for name, cls in _SECTIONS.items()}
        timezone = meta["timezone"]["value"]
        policy = RulesPolicy(
            version=str(meta["version"]),
            effective_from=meta["effective_from"],
            timezone=str(timezone),
            sources=sources,
            **built,
        )
    except KeyError as exc:
        raise RulesDataInvalid(f"rules data is missing {exc}") from exc
    exam = policy.exam
    if exam.pass_min_correct != exam.question_count - exam.fail_on_wrong_count + 1:
        raise RulesDataInvalid(
            "[exam] pass_min_correct must equal question_count - fail_on_wrong_count + 1 "
            "(the exam ends on the fail_on_wrong_count-th wrong answer)"
        )
    if policy.fraud.blacklist_cycles != policy.eligibility.fraud_lookback_previous_cycles + 1:
        # One reading of 163 第26条第5项 for both: a fraud record in cycle k bars cycles
        # k .. k + blacklist_cycles - 1, at confirmation (fraud.confirm_fraud) and at every
        # later eligibility check (look-back over the current and the previous cycles).
        raise RulesDataInvalid(
            "[fraud] blacklist_cycles must equal "
            "[eligibility] fraud_lookback_previous_cycles + 1 (one reading of 163 第26条第5项)"
        )
    if policy.points.cycle_cap_points > policy.points.full_score_points:
        raise RulesDataInvalid("[points] cycle_cap_points exceeds full_score_points")
    return policy


def load_policy(path: Path | str | None = None) -> RulesPolicy:
    """Load the rule set from ``path``, or the packaged default rule set."""
    if path is None:
        text = resources.files("proctor.rules.data").joinpath(DEFAULT_RULES_FILE).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesDataInvalid(f"rules data is not valid TOML: {exc}") from exc
    return parse_policy(data)
