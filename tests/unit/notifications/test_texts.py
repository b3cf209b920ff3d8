"""Every event a driver must hear about has a Chinese text; no message carries biometrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from proctor.notifications import TEMPLATES, NoTemplate, render
from proctor.notifications.texts import SAFE_REFS

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
BIOMETRIC = {
    "embedding": [0.123456, -0.5] * 64,
    "template": "c2VhbGVkLXRlbXBsYXRl",
    "image": "/9j/4AAQSkZJRgABAQ",
    "image_b64": "/9j/4AAQSkZJRgABAQ",
    "distance": 0.4321,
    "face_distance": 0.4321,
    "face_crop": "evidence/ab/cd.bin",
    "photo": "obama.jpg",
}
SAFE = {
    "application_id": "app-1",
    "session_id": "ses-1",
    "review_id": "rev-1",
    "appeal_id": "apl-1",
    "blacklist_id": "bl-1",
    "flag_id": "flg-1",
    "case_id": "case-1",
    "decision": "approved",
    "passed": "false",
    "retakes_left": "1",
    "removed_points": 1,
    "points_after": 5,
    "study_deadline": "2026-12-04",
    "exam_deadline": "2026-12-15",
    "platform_until": "2029-12-01T00:00:00+00:00",
    "date": "2027-03-01",
    "days_left": "30",
    "reasons": ["study_window_closed", "unheard_of_code"],
}

# The list (item 4), by the title each message carries.
REQUIRED_TITLES = {
    "申请审核结果",
    "学习完成",
    "学习作废",
    "可以考试",
    "考试结果",
    "减分结果",
    "复核受理",
    "复核结果",
    "黑名单",
    "申诉结果",
    "清分日期提醒",
}


def test_every_required_event_has_a_text() -> None:
    assert {t.title for t in TEMPLATES.values()} >= REQUIRED_TITLES


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_no_message_carries_biometrics(kind: str) -> None:
    message = render(7, kind, "driver-1", AT, {**SAFE, **BIOMETRIC})
    wire = json.dumps(message.to_json(), ensure_ascii=False)
    for key, value in BIOMETRIC.items():
        assert f'"{key}"' not in wire, key
        assert str(value)[:12] not in wire, key
    assert set(message.refs) <= SAFE_REFS
    assert message.text.startswith("【学法减分】") and "{" not in message.text
    assert "unheard_of_code" not in message.text and "None" not in message.text


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("application_approved", {"study_deadline": "2026-12-04"}, "2026年12月4日前"),
        ("application_rejected", {"reasons": "pending_violations"}, "有未处理的交通违法记录"),
        ("study_completed", {"exam_deadline": "2026-12-15"}, "可以参加考试"),
        ("exam_unlocked", {"exam_deadline": "2026-12-15", "attempts_left": 3}, "共有3次考试机会"),
        ("review_accepted", {"due_on": "2027-01-04", "pending_calendar": True}, "可能调整"),
        ("exam_result", {"passed": "false", "retakes_left": "2"}, "剩余补考机会2次"),
        ("exam_result", {"passed": "invalid", "reason": "final_auth_failed"}, "24小时内申请复核"),
        (
            "points_reduced",
            {"status": "applied", "removed_points": 1, "points_after": 5},
            "减免1分",
        ),
        ("points_reduced", {"status": "void", "reasons": ["cycle_cap_reached"]}, "未能减免"),
        ("fuxi_decided", {"decision": "approved"}, "考试成绩有效"),
        (
            "review_decided",
            {"decision": "pass", "point_reduction": {"removed_points": 1}},
            "减免1分",
        ),
        ("blacklist_created", {"platform_until": "2029-11-30T16:30:00+00:00"}, "2029年12月1日前"),
        ("appeal_rejected", {}, "申诉不成立"),
        (
            "deadline_near",
            {"date": "2027-03-01", "days_left": "30"},
            "2027年3月1日清分（还有30天）",
        ),
    ],
)
def test_texts_say_what_happened(kind: str, payload: dict[str, object], expected: str) -> None:
    assert expected in render(1, kind, "d", AT, payload).text


def test_unknown_kind_has_no_template_and_ids_are_stable() -> None:
    with pytest.raises(NoTemplate):
        render(1, "nobody_wrote_this", "d", AT, {})
    a = render(1, "exam_result", "d", AT, {"passed": "true"})
    b = render(1, "exam_result", "d", AT, {"passed": "true"})
    c = render(2, "exam_result", "d", AT, {"passed": "true"})
    assert a.message_id == b.message_id != c.message_id


def _emitted_kinds() -> set[str]:
    """Outbox kinds written with a literal in the code: ``NotificationEvent("kind", ...)``,
    ``kind = "..."`` next to one, and ``notify(uow, app, "kind", ...)``."""
    import ast
    from pathlib import Path

    import proctor

    kinds: set[str] = set()
    for path in Path(proctor.__file__).parent.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "NotificationEvent(" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                args = node.args
                if name == "NotificationEvent" and args:
                    first = args[0]
                elif name == "notify" and len(args) >= 3:
                    first = args[2]
                else:
                    continue
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    kinds.add(first.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                target = node.targets[0]
                if getattr(target, "id", "") == "kind" and isinstance(node.value.value, str):
                    kinds.add(node.value.value)
    return kinds


def test_every_kind_the_services_emit_has_a_text_or_is_internal() -> None:
    from proctor.notifications.texts import SILENT_KINDS
    from proctor.rules.events import EventKind

    dynamic = {"fuxi_decided", "manual_id_decided"}  # f"{manual_review.kind}_decided"
    emitted = _emitted_kinds() | dynamic | {k.value for k in EventKind}
    assert "session_terminated" in emitted and "flag_raised" in emitted  # the scan works
    missing = emitted - set(TEMPLATES) - SILENT_KINDS
    assert missing == set(), f"outbox kinds without a notification text: {sorted(missing)}"
