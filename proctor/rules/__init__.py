"""学法减分 rules: pure decision logic over versioned rule data.

Imports only the stdlib, ``chinese_calendar`` (in :mod:`proctor.rules.calendar` alone) and
``proctor.errors``. Every number comes from ``data/xfjf_<effective-date>.toml``.
"""

from __future__ import annotations

from proctor.rules.application import Application, ReductionDecision, ReductionStatus
from proctor.rules.calendar import (
    ChineseWorkdayCalendar,
    DayStatus,
    WorkdayCalendar,
    load_overrides,
)
from proctor.rules.cycles import Cycle, clearing_reminder, cycle_for
from proctor.rules.deadlines import Deadline, Window, exam_deadline, review_due, study_window
from proctor.rules.driver import DriverRecord
from proctor.rules.eligibility import Eligibility, Stage, check_eligibility
from proctor.rules.errors import (
    ActionRefused,
    CalendarYearUnknown,
    QuestionBankInvalid,
    RulesDataInvalid,
    RulesError,
)
from proctor.rules.events import EventKind, RuleEvent
from proctor.rules.exam import ExamOutcome, Response, score_exam
from proctor.rules.points import Mode, Reduction, reduce_points
from proctor.rules.policy import RulesPolicy, load_policy
from proctor.rules.questions import Question, QuestionBank, load_bank
from proctor.rules.reasons import Reason
from proctor.rules.states import TRANSITIONS, ApplicationState, is_terminal
from proctor.rules.study import StudySegment

__all__ = [
    "TRANSITIONS",
    "ActionRefused",
    "Application",
    "ApplicationState",
    "CalendarYearUnknown",
    "ChineseWorkdayCalendar",
    "Cycle",
    "DayStatus",
    "Deadline",
    "DriverRecord",
    "Eligibility",
    "EventKind",
    "ExamOutcome",
    "Mode",
    "Question",
    "QuestionBank",
    "QuestionBankInvalid",
    "Reason",
    "Reduction",
    "ReductionDecision",
    "ReductionStatus",
    "Response",
    "RuleEvent",
    "RulesDataInvalid",
    "RulesError",
    "RulesPolicy",
    "Stage",
    "StudySegment",
    "Window",
    "WorkdayCalendar",
    "check_eligibility",
    "clearing_reminder",
    "cycle_for",
    "exam_deadline",
    "is_terminal",
    "load_bank",
    "load_overrides",
    "load_policy",
    "reduce_points",
    "review_due",
    "score_exam",
    "study_window",
]
