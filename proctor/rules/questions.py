"""Question banks: load the documented JSON format and draw an exam's questions at random.

Format (see ``proctor/rules/README.md``)::

    {"format": "proctor.question_bank/1", "version": "...", "language": "zh-CN",
     "questions": [{"id": "q001", "kind": "single" | "true_false",
                    "stem": "...", "options": {"A": "...", ...}, "answer": "A",
                    "source": "《道路交通安全法》第N条", "explanation": "..."}]}
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from proctor.rules.errors import QuestionBankInvalid
from proctor.rules.policy import ExamPolicy

FORMAT = "proctor.question_bank/1"
DEFAULT_BANK_FILE = "question_bank.json"
_TRUE_FALSE_KEYS = frozenset({"A", "B"})


class QuestionKind(StrEnum):
    SINGLE = "single"
    TRUE_FALSE = "true_false"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: QuestionKind
    stem: str
    options: Mapping[str, str]
    answer: str
    source: str
    explanation: str = ""

    def is_correct(self, chosen: str | None) -> bool:
        return chosen == self.answer


@dataclass(frozen=True, slots=True)
class QuestionBank:
    version: str
    language: str
    questions: tuple[Question, ...]

    def draw(self, rng: random.Random, policy: ExamPolicy) -> tuple[Question, ...]:
        """``question_count`` distinct questions, uniformly at random."""
        if len(self.questions) < policy.question_count:
            raise QuestionBankInvalid(
                f"the bank has {len(self.questions)} questions, an exam needs "
                f"{policy.question_count}"
            )
        return tuple(rng.sample(self.questions, policy.question_count))


def _question(raw: Any, index: int) -> Question:
    where = f"questions[{index}]"
    if not isinstance(raw, Mapping):
        raise QuestionBankInvalid(f"{where} must be an object")
    for key in ("id", "kind", "stem", "options", "answer", "source"):
        if key not in raw:
            raise QuestionBankInvalid(f"{where} is missing {key!r}")
    try:
        kind = QuestionKind(raw["kind"])
    except ValueError as exc:
        raise QuestionBankInvalid(f"{where}.kind {raw['kind']!r} is not allowed") from exc
    options = raw["options"]
    if not isinstance(options, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in options.items()
    ):
        raise QuestionBankInvalid(f"{where}.options must map letters to non-empty text")
    if kind is QuestionKind.TRUE_FALSE and set(options) != _TRUE_FALSE_KEYS:
        raise QuestionBankInvalid(f"{where}: true_false questions have options A and B")
    if kind is QuestionKind.SINGLE and len(options) < len(_TRUE_FALSE_KEYS) + 1:
        raise QuestionBankInvalid(f"{where}: single-choice questions need at least 3 options")
    if raw["answer"] not in options:
        raise QuestionBankInvalid(f"{where}.answer must be one of the option keys")
    if not str(raw["stem"]).strip():
        raise QuestionBankInvalid(f"{where}.stem is empty")
    return Question(
        id=str(raw["id"]),
        kind=kind,
        stem=str(raw["stem"]),
        options=dict(options),
        answer=str(raw["answer"]),
        source=str(raw["source"]),
        explanation=str(raw.get("explanation", "")),
    )


def parse_bank(data: Any) -> QuestionBank:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise QuestionBankInvalid(f"not a question bank: 'format' must be {FORMAT!r}")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, Sequence) or isinstance(raw_questions, str):
        raise QuestionBankInvalid("'questions' must be a list")
    questions = tuple(_question(q, i) for i, q in enumerate(raw_questions))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise QuestionBankInvalid("question ids must be unique")
    return QuestionBank(str(data.get("version", "")), str(data.get("language", "")), questions)


def load_bank(path: Path | str | None = None) -> QuestionBank:
    """Load a bank from ``path``, or the packaged sample bank."""
    if path is None:
        text = resources.files("proctor.rules.data").joinpath(DEFAULT_BANK_FILE).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuestionBankInvalid(f"question bank is not valid JSON: {exc}") from exc
    return parse_bank(data)
