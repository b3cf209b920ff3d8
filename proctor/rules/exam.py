"""Online exam scoring (GF2020): 20 questions, 60 s each, ends on the 3rd wrong or timed-out answer.

Time spent on a face comparison is not answer time: a response's effective time is
``elapsed_s - face_check_pause_s``. An unanswered question (``chosen`` empty) counts as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from proctor.rules.policy import ExamPolicy
from proctor.rules.study import consecutive_failures_reached


@dataclass(frozen=True, slots=True)
class Response:
    correct: bool
    elapsed_s: float
    face_check_pause_s: float = 0.0
    answered: bool = True

    def timed_out(self, policy: ExamPolicy) -> bool:
        return self.elapsed_s - self.face_check_pause_s > policy.per_question_limit_s


@dataclass(frozen=True, slots=True)
class ExamOutcome:
    passed: bool
    correct: int
    wrong: int
    questions_used: int
    ended_early: bool


def score_exam(responses: Sequence[Response], policy: ExamPolicy) -> ExamOutcome:
    """Score responses in order; responses after the exam ended are ignored."""
    correct = wrong = used = 0
    for response in responses[: policy.question_count]:
        used += 1
        if response.answered and response.correct and not response.timed_out(policy):
            correct += 1
        else:
            wrong += 1
            if wrong >= policy.fail_on_wrong_count:
                break
    finished = used == policy.question_count
    passed = finished and wrong < policy.fail_on_wrong_count and correct >= policy.pass_min_correct
    ended_early = wrong >= policy.fail_on_wrong_count and used < policy.question_count
    return ExamOutcome(passed, correct, wrong, used, ended_early)


def face_checks_invalidate(results: Sequence[bool], policy: ExamPolicy) -> bool:
    """Three consecutive failed face comparisons end the exam as invalid (CQ practice)."""
    return consecutive_failures_reached(results, policy.face_fail_consecutive_limit)
