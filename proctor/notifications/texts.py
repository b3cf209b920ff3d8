"""The Chinese text of every driver notification, keyed by outbox event ``kind``.

One table, :data:`TEMPLATES`: the topic, the channels (the app for everything, SMS too
where the driver must act or has lost something) and the text. :func:`render` builds a
:class:`Notification` from an outbox row. What leaves the service is the text plus
:data:`SAFE_REFS` (ids and result fields) picked from the payload by name: any other
payload key, and so any biometric datum a future caller might put there, is never sent.
Dates are shown as Shanghai calendar dates (``2026年12月3日``).

A kind without a template is :class:`NoTemplate`: the dispatcher parks it for an operator
rather than sending a text nobody wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from proctor.errors import ProctorError
from proctor.notifications.messages import Channel, Notification, Topic, make_message_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
APP: Final = (Channel.APP,)
APP_SMS: Final = (Channel.APP, Channel.SMS)

# Payload fields a message may carry, by name (ids and results; nothing about a face).
SAFE_REFS: Final = frozenset(
    {
        "application_id",
        "session_id",
        "exam_id",
        "case_id",
        "review_id",
        "appeal_id",
        "blacklist_id",
        "flag_id",
        "decision",
        "status",
        "passed",
        "upheld",
        "retakes_left",
        "attempts_left",
        "pending_calendar",
        "removed",
        "removed_points",
        "points_after",
        "study_deadline",
        "exam_deadline",
        "due_on",
        "deadline",
        "date",
        "days_left",
        "platform_until",
        "reason",
        "reasons",
    }
)
MAX_REF_CHARS = 200

# Reason codes (proctor.rules.reasons, session termination) in the driver's words.
REASON_TEXT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "no_points_to_reduce": "当前无记分可减",
        "score_at_full": "累计记分已满12分",
        "cycle_cap_reached": "本记分周期减分已达上限",
        "cycle_cap_exceeded": "本记分周期减分已达上限",
        "full_score_education_records": "有满分教育记录",
        "serious_offence_recent": "近期有严重交通违法记录",
        "licence_in_probation": "驾驶证处于实习期",
        "licence_review_overdue": "驾驶证逾期未审验",
        "licence_detained": "驾驶证被扣留",
        "vehicle_inspection_overdue": "机动车逾期未检验",
        "vehicle_not_deregistered": "机动车应注销未注销",
        "fraud_record_recent": "近期有替学替考记录",
        "pending_violations": "有未处理的交通违法记录",
        "open_application_exists": "已有进行中的申请",
        "platform_blacklisted": "已被列入学法减分黑名单",
        "data_sync_pending": "违法数据同步未满24小时",
        "rejected_by_police": "公安交管部门审核未通过",
        "study_window_closed": "未在规定期限内完成学习",
        "study_window_not_open": "学习期限尚未开始",
        "study_time_insufficient": "学习时长不足30分钟",
        "exam_window_closed": "未在规定期限内参加考试",
        "retake_window_closed": "未在规定期限内补考",
        "attempts_exhausted": "考试及补考次数已用完",
        "face_checks_failed": "人脸核验未通过",
        "final_auth_failed": "交卷前人脸核验未通过",
        "review_window_closed": "未在24小时内申请复核",
        "review_already_requested": "已申请过复核",
        "review_rejected": "复核未通过",
        "cycle_ended": "记分周期已结束",
        "fraud_confirmed": "经核查存在替学替考行为",
        "appeal_upheld": "申诉成立",
        "calendar_unverified": "节假日安排尚未公布，期限待确认",
        "three_consecutive_failures": "连续三次人脸核验未通过",
        "identity_review_rejected": "人工身份核验未通过",
        "identity_review_expired": "人工身份核验超时",
    }
)


class NoTemplate(ProctorError):
    code = "notification_no_template"


@dataclass(frozen=True, slots=True)
class Template:
    topic: Topic
    channels: tuple[Channel, ...]
    title: str
    text: Callable[[Mapping[str, Any]], str]


def _day(value: Any) -> str:
    """An ISO date or instant as a Shanghai calendar date; anything else as given."""
    raw = str(value)
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
        else:
            at = datetime.fromisoformat(raw)
            d = at.astimezone(SHANGHAI).date() if at.tzinfo else at.date()
    except ValueError:
        return "（日期待定）"
    return f"{d.year}年{d.month}月{d.day}日"


def _reasons(p: Mapping[str, Any]) -> str:
    raw = p.get("reasons", p.get("reason", ""))
    codes = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    words = [REASON_TEXT.get(str(c).strip(), "其他原因") for c in codes if str(c).strip()]
    return "、".join(dict.fromkeys(words)) or "详见交管12123"


def _yes(p: Mapping[str, Any], *keys: str) -> bool:
    return any(str(p.get(k, "")).lower() in {"true", "pass", "approved", "upheld"} for k in keys)


def _removed(p: Mapping[str, Any]) -> int:
    raw = p.get("removed_points", p.get("removed"))
    if raw is None and isinstance(p.get("point_reduction"), Mapping):
        raw = p["point_reduction"].get("removed_points")
    try:
        return int(str(raw))
    except ValueError:
        return 0


def _approved(p: Mapping[str, Any]) -> str:
    deadline = p.get("study_deadline")
    tail = f"请于{_day(deadline)}前" if deadline else "请在规定期限内"
    return f"【学法减分】您的申请已审核通过。{tail}完成不少于30分钟的网上学习。"


def _rejected(p: Mapping[str, Any]) -> str:
    return f"【学法减分】您的申请未通过审核，原因：{_reasons(p)}。"


def _study_completed(p: Mapping[str, Any]) -> str:
    deadline = p.get("exam_deadline")
    tail = f"，请于{_day(deadline)}前参加考试" if deadline else ""
    return f"【学法减分】您已完成网上学习，可以参加考试{tail}。"


def _tentative(p: Mapping[str, Any]) -> str:
    """A deadline computed before the year's holidays were published may still move."""
    if str(p.get("pending_calendar", "")).lower() == "true":
        return "（节假日安排公布后可能调整，以交管12123显示为准）"
    return ""


def _exam_unlocked(p: Mapping[str, Any]) -> str:
    deadline = p.get("exam_deadline")
    tail = (
        f"请于{_day(deadline)}前完成考试{_tentative(p)}。"
        if deadline
        else "请在规定期限内完成考试。"
    )
    left = p.get("attempts_left")
    chances = f"共有{left}次考试机会，" if left is not None else ""
    return f"【学法减分】您已可以参加学法减分考试，{chances}{tail}"


def _session_voided(p: Mapping[str, Any]) -> str:
    return "【学法减分】您的一次学习记录已作废，不计入学习时长。"


def _study_voided(p: Mapping[str, Any]) -> str:
    return f"【学法减分】您的学习记录已作废，原因：{_reasons(p)}。"


def _application_voided(p: Mapping[str, Any]) -> str:
    return f"【学法减分】您的学法减分申请已作废，原因：{_reasons(p)}。"


def _exam_result(p: Mapping[str, Any]) -> str:
    passed = str(p.get("passed", "")).lower()
    if passed == "true":
        return "【学法减分】您已通过学法减分考试，减分结果将另行通知。"
    if passed == "invalid":
        return (
            f"【学法减分】您本次考试成绩无效，原因：{_reasons(p)}。如有异议，可在24小时内申请复核。"
        )
    left = p.get("retakes_left")
    tail = f"剩余补考机会{left}次。" if left is not None else "请留意补考期限。"
    return f"【学法减分】您未通过本次学法减分考试，{tail}"


def _points(p: Mapping[str, Any]) -> str:
    n = _removed(p)
    if n <= 0 or str(p.get("status", "applied")) == "void":
        return f"【学法减分】本次未能减免记分，原因：{_reasons(p)}。"
    after = p.get("points_after")
    tail = f"，当前累计记分{after}分" if after is not None else ""
    return f"【学法减分】已为您减免{n}分记分{tail}。"


def _review_accepted(p: Mapping[str, Any]) -> str:
    due = p.get("due_on") or p.get("date")
    tail = (
        f"，将于{_day(due)}前作出复核结果{_tentative(p)}"
        if due
        else "，将在3个工作日内作出复核结果"
    )
    return f"【学法减分】您的复核申请已受理{tail}。"


def _review_result(p: Mapping[str, Any]) -> str:
    if _yes(p, "upheld", "decision"):
        n = _removed(p)
        tail = f"，已为您减免{n}分记分" if n > 0 else ""
        return f"【学法减分】复核结果：您的考试成绩有效{tail}。"
    return "【学法减分】复核结果：维持原结论，本次考试成绩无效。"


def _identity_review(p: Mapping[str, Any]) -> str:
    if _yes(p, "decision"):
        return "【学法减分】人工身份核验已通过，您可以继续学习或考试。"
    return "【学法减分】人工身份核验未通过，本次学习或考试已结束。"


def _blacklisted(p: Mapping[str, Any]) -> str:
    until = p.get("platform_until")
    span = f"{_day(until)}前" if until else "规定期限内"
    return (
        "【学法减分】经人工核查，确认存在他人代为学习或考试的行为，您已被列入学法减分"
        f"黑名单，{span}不能参加网上学法减分。如有异议，可提出申诉。"
    )


def _blacklist_lifted(p: Mapping[str, Any]) -> str:
    return "【学法减分】您的学法减分黑名单已解除，相关记录已恢复。"


def _appeal_filed(p: Mapping[str, Any]) -> str:
    return "【学法减分】您的申诉已受理，处理结果将另行通知。"


def _appeal_result(p: Mapping[str, Any], upheld: bool | None = None) -> str:
    ok = _yes(p, "upheld", "decision") if upheld is None else upheld
    if ok:
        return "【学法减分】申诉结果：申诉成立，黑名单已解除，相关记录已恢复。"
    return "【学法减分】申诉结果：申诉不成立，维持原处理决定。"


def _appeal_reopened(p: Mapping[str, Any]) -> str:
    return "【学法减分】您的黑名单记录已重新开放申诉，可凭新的证据再提交一次申诉。"


def _reference_replaced(p: Mapping[str, Any]) -> str:
    return (
        "【学法减分】您的实名认证人像已由交管部门更换（经两名工作人员审核）。"
        "如非本人申请，请联系当地交管部门。"
    )


def _deadline_near(p: Mapping[str, Any]) -> str:
    when = _day(p.get("date", ""))
    days = p.get("days_left")
    left = f"（还有{days}天）" if days is not None else ""
    return (
        f"【学法减分】您的记分周期将于{when}清分{left}。如需学法减分，"
        "请在清分日期前完成申请、学习和考试。"
    )


def _terminated(p: Mapping[str, Any]) -> str:
    return f"【学法减分】您本次学习或考试已中止，原因：{_reasons(p)}。"


def _flag_raised(p: Mapping[str, Any]) -> str:
    return "【学法减分】您本次学习或考试的记录需人工核查，核查完成前暂不计入。"


def _flag_dismissed(p: Mapping[str, Any]) -> str:
    return "【学法减分】人工核查已完成，您的学习或考试记录有效。"


def _review_case(p: Mapping[str, Any]) -> str:
    if "exam_result_valid" in p or isinstance(p.get("point_reduction"), Mapping):
        return _review_result(p)
    if _yes(p, "decision"):
        return "【学法减分】您的核查案件已处理：记录有效。"
    return "【学法减分】您的核查案件已处理：维持原结论。"


T = Template
TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType(
    {
        # 申请审核结果
        "application_approved": T(Topic.APPLICATION_RESULT, APP_SMS, "申请审核结果", _approved),
        "application_rejected": T(Topic.APPLICATION_RESULT, APP_SMS, "申请审核结果", _rejected),
        # 学习完成 / 作废
        "study_completed": T(Topic.STUDY_COMPLETED, APP, "学习完成", _study_completed),
        "study_session_voided": T(Topic.STUDY_VOIDED, APP, "学习作废", _session_voided),
        "study_voided": T(Topic.STUDY_VOIDED, APP_SMS, "学习作废", _study_voided),
        "application_voided": T(Topic.STUDY_VOIDED, APP_SMS, "申请作废", _application_voided),
        # 可以考试
        "exam_unlocked": T(Topic.EXAM_UNLOCKED, APP_SMS, "可以考试", _exam_unlocked),
        # 考试结果
        "exam_result": T(Topic.EXAM_RESULT, APP_SMS, "考试结果", _exam_result),
        # 减分结果
        "points_reduced": T(Topic.POINTS_RESULT, APP_SMS, "减分结果", _points),
        # 复核受理 / 结果
        "review_accepted": T(Topic.REVIEW_ACCEPTED, APP, "复核受理", _review_accepted),
        "review_requested": T(Topic.REVIEW_ACCEPTED, APP, "复核受理", _review_accepted),
        "fuxi_requested": T(Topic.REVIEW_ACCEPTED, APP, "复核受理", _review_accepted),
        "review_result": T(Topic.REVIEW_RESULT, APP_SMS, "复核结果", _review_result),
        "fuxi_decided": T(Topic.REVIEW_RESULT, APP_SMS, "复核结果", _review_result),
        "review_decided": T(Topic.REVIEW_RESULT, APP_SMS, "核查结果", _review_case),
        "manual_id_decided": T(Topic.SESSION_NOTICE, APP, "身份核验结果", _identity_review),
        # 黑名单
        "blacklisted": T(Topic.BLACKLIST, APP_SMS, "黑名单", _blacklisted),
        "blacklist_created": T(Topic.BLACKLIST, APP_SMS, "黑名单", _blacklisted),
        "blacklist_lifted": T(Topic.BLACKLIST, APP_SMS, "黑名单解除", _blacklist_lifted),
        # 申诉受理 / 结果
        "appeal_filed": T(Topic.APPEAL_ACCEPTED, APP, "申诉受理", _appeal_filed),
        "appeal_result": T(Topic.APPEAL_RESULT, APP_SMS, "申诉结果", _appeal_result),
        "appeal_upheld": T(
            Topic.APPEAL_RESULT, APP_SMS, "申诉结果", lambda p: _appeal_result(p, True)
        ),
        "appeal_rejected": T(
            Topic.APPEAL_RESULT, APP_SMS, "申诉结果", lambda p: _appeal_result(p, False)
        ),
        "appeal_reopened": T(Topic.APPEAL_ACCEPTED, APP, "申诉重新开放", _appeal_reopened),
        # 实名认证人像更换 (issue 17): the driver hears of every replacement
        "reference_replaced": T(Topic.SESSION_NOTICE, APP_SMS, "实名人像更换", _reference_replaced),
        # 清分日期提醒
        "deadline_near": T(Topic.CLEARING_REMINDER, APP_SMS, "清分日期提醒", _deadline_near),
        "clearing_reminder": T(Topic.CLEARING_REMINDER, APP_SMS, "清分日期提醒", _deadline_near),
        # the session's own notices (核查, 中止)
        "session_terminated": T(Topic.SESSION_NOTICE, APP, "学习/考试中止", _terminated),
        "flag_raised": T(Topic.SESSION_NOTICE, APP, "记录核查", _flag_raised),
        "flag_dismissed": T(Topic.SESSION_NOTICE, APP, "核查结果", _flag_dismissed),
    }
)

# Kinds the outbox carries for the record but the driver is not told about (an internal
# reviewer step; its outcome arrives as flag_dismissed / blacklist_created).
SILENT_KINDS: Final = frozenset({"flag_reviewed"})


def safe_refs(payload: Mapping[str, Any]) -> dict[str, str]:
    """The whitelisted payload fields, as short strings (lists joined with commas)."""
    refs: dict[str, str] = {}
    for key in sorted(SAFE_REFS & payload.keys()):
        value = payload[key]
        if isinstance(value, Mapping):
            continue
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        refs[key] = text[:MAX_REF_CHARS]
    return refs


def render(
    outbox_id: int, kind: str, driver_id: str, at: datetime, payload: Mapping[str, Any]
) -> Notification:
    """The notification for one outbox row; :class:`NoTemplate` when the kind has none."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise NoTemplate(f"no notification text for event kind {kind!r}", details={"kind": kind})
    return Notification(
        outbox_id=outbox_id,
        message_id=make_message_id("proctor-outbox", str(outbox_id), kind, driver_id),
        kind=kind,
        topic=template.topic,
        channels=template.channels,
        driver_id=driver_id,
        created_at=at,
        title=template.title,
        text=template.text(payload),
        refs=safe_refs(payload),
    )
