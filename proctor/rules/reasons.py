"""Reason codes: why an application is refused, voided or held. Values are stable API."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Stable snake_case codes. Never rename or translate the values."""

    # 163 第25条 / 第5条
    NO_POINTS_TO_REDUCE = "no_points_to_reduce"
    SCORE_AT_FULL = "score_at_full"
    CYCLE_CAP_REACHED = "cycle_cap_reached"
    CYCLE_CAP_EXCEEDED = "cycle_cap_exceeded"
    # 163 第26条
    FULL_SCORE_EDUCATION_RECORDS = "full_score_education_records"
    SERIOUS_OFFENCE_RECENT = "serious_offence_recent"
    LICENCE_IN_PROBATION = "licence_in_probation"
    LICENCE_REVIEW_OVERDUE = "licence_review_overdue"
    LICENCE_DETAINED = "licence_detained"
    VEHICLE_INSPECTION_OVERDUE = "vehicle_inspection_overdue"
    VEHICLE_NOT_DEREGISTERED = "vehicle_not_deregistered"
    FRAUD_RECORD_RECENT = "fraud_record_recent"
    # policy flag (163 第25条 处理完…) and system rules
    PENDING_VIOLATIONS = "pending_violations"
    OPEN_APPLICATION_EXISTS = "open_application_exists"
    PLATFORM_BLACKLISTED = "platform_blacklisted"
    DATA_SYNC_PENDING = "data_sync_pending"
    BEFORE_FIRST_LICENCE = "before_first_licence"  # the check is dated before the licence
    # lifecycle
    REJECTED_BY_POLICE = "rejected_by_police"
    STUDY_WINDOW_CLOSED = "study_window_closed"
    STUDY_WINDOW_NOT_OPEN = "study_window_not_open"
    STUDY_TIME_INSUFFICIENT = "study_time_insufficient"
    EXAM_WINDOW_CLOSED = "exam_window_closed"
    RETAKE_WINDOW_CLOSED = "retake_window_closed"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    FACE_CHECKS_FAILED = "face_checks_failed"
    FINAL_AUTH_FAILED = "final_auth_failed"
    REVIEW_WINDOW_CLOSED = "review_window_closed"
    REVIEW_ALREADY_REQUESTED = "review_already_requested"
    REVIEW_REJECTED = "review_rejected"
    CYCLE_ENDED = "cycle_ended"
    FRAUD_CONFIRMED = "fraud_confirmed"
    APPEAL_UPHELD = "appeal_upheld"
    CALENDAR_UNVERIFIED = "calendar_unverified"
