"""Question bank format, the sample bank, and random drawing."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from proctor.rules.errors import QuestionBankInvalid
from proctor.rules.policy import load_policy
from proctor.rules.questions import FORMAT, QuestionKind, load_bank, parse_bank

POLICY = load_policy()
CJK = range(0x4E00, 0xA000)


def _q(**over: Any) -> dict[str, Any]:
    base = {
        "id": "x1",
        "kind": "single",
        "stem": "测试题",
        "options": {"A": "甲", "B": "乙", "C": "丙"},
        "answer": "A",
        "source": "test",
    }
    return {**base, **over}


def test_sample_bank_is_large_enough_chinese_and_answered() -> None:
    bank = load_bank()
    assert len(bank.questions) >= 60
    assert bank.language == "zh-CN"
    for q in bank.questions:
        assert any(ord(c) in CJK for c in q.stem), q.id
        assert q.answer in q.options
        assert q.source
    kinds = {q.kind for q in bank.questions}
    assert kinds == {QuestionKind.SINGLE, QuestionKind.TRUE_FALSE}


def test_sample_bank_has_no_duplicate_stems() -> None:
    stems = [q.stem for q in load_bank().questions]
    assert len(set(stems)) == len(stems)


def test_draw_is_random_distinct_and_reproducible() -> None:
    bank = load_bank()
    first = bank.draw(random.Random(7), POLICY.exam)
    assert len(first) == POLICY.exam.question_count
    assert len({q.id for q in first}) == len(first)
    assert first == bank.draw(random.Random(7), POLICY.exam)
    assert first != bank.draw(random.Random(8), POLICY.exam)


def test_too_small_bank_cannot_make_an_exam() -> None:
    bank = parse_bank({"format": FORMAT, "questions": [_q()]})
    with pytest.raises(QuestionBankInvalid, match="needs 20"):
        bank.draw(random.Random(1), POLICY.exam)


@pytest.mark.parametrize(
    ("question", "fragment"),
    [
        (_q(answer="D"), "answer"),
        (_q(kind="essay"), "kind"),
        (_q(kind="true_false"), "options A and B"),
        (_q(options={"A": "甲", "B": "乙"}), "at least 3"),
        (_q(options={"A": ""}), "non-empty"),
        (_q(stem="  "), "stem"),
        ({"id": "x"}, "missing"),
    ],
)
def test_invalid_questions_are_rejected(question: dict[str, Any], fragment: str) -> None:
    with pytest.raises(QuestionBankInvalid, match=fragment):
        parse_bank({"format": FORMAT, "questions": [question]})


def test_bank_level_errors(tmp_path: Path) -> None:
    with pytest.raises(QuestionBankInvalid, match="format"):
        parse_bank({"questions": []})
    with pytest.raises(QuestionBankInvalid, match="unique"):
        parse_bank({"format": FORMAT, "questions": [_q(), _q()]})
    path = tmp_path / "bank.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(QuestionBankInvalid, match="JSON"):
        load_bank(path)


def test_operator_bank_file(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    doc = {"format": FORMAT, "version": "ops-1", "language": "zh-CN", "questions": [_q()]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    bank = load_bank(path)
    assert bank.version == "ops-1"
    assert bank.questions[0].is_correct("A") and not bank.questions[0].is_correct("B")
