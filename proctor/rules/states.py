"""Application lifecycle states (DOMAIN.md (b)). Values are persisted: never rename them.

``TRANSITIONS`` is the whole state machine; terminal states map to an empty set. ``ACTIVE`` states
are the in-progress ones that end as ``void_cycle_ended`` when the clearing date passes or as
``aborted_ineligible`` when a new bar appears. ``reduced`` and ``revoked`` are settled but not
terminal: fraud may revoke a reduction and an appeal may restore it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class ApplicationState(StrEnum):
    ELIG_CHECK = "elig_check"
    REJECTED = "rejected"
    PENDING_APPROVAL = "pending_approval"
    STUDY_OPEN = "study_open"
    MANUAL_ID_REVIEW = "manual_id_review"
    VOID_STUDY_EXPIRED = "void_study_expired"
    STUDY_COMPLETE = "study_complete"
    VOID_EXAM_EXPIRED = "void_exam_expired"
    EXAM_IN_PROGRESS = "exam_in_progress"
    EXAM_FAILED = "exam_failed"
    FAILED_FINAL = "failed_final"
    FINAL_AUTH = "final_auth"
    RESULT_INVALID_AUTH = "result_invalid_auth"
    UNDER_REVIEW = "under_review"
    INVALID_FINAL = "invalid_final"
    PASSED_PENDING_APPLY = "passed_pending_apply"
    REDUCED = "reduced"
    VOID_NOT_APPLICABLE = "void_not_applicable"
    REVOKED = "revoked"
    RESTORED = "restored"
    ABORTED_INELIGIBLE = "aborted_ineligible"
    VOID_CYCLE_ENDED = "void_cycle_ended"


S = ApplicationState

ACTIVE: Final[frozenset[ApplicationState]] = frozenset(
    {
        S.PENDING_APPROVAL,
        S.STUDY_OPEN,
        S.MANUAL_ID_REVIEW,
        S.STUDY_COMPLETE,
        S.EXAM_IN_PROGRESS,
        S.EXAM_FAILED,
        S.FINAL_AUTH,
        S.RESULT_INVALID_AUTH,
        S.UNDER_REVIEW,
        S.PASSED_PENDING_APPLY,
    }
)

_ENDINGS: Final[frozenset[ApplicationState]] = frozenset({S.ABORTED_INELIGIBLE, S.VOID_CYCLE_ENDED})

TRANSITIONS: Final[Mapping[ApplicationState, frozenset[ApplicationState]]] = {
    S.ELIG_CHECK: frozenset({S.REJECTED, S.PENDING_APPROVAL}),
    S.PENDING_APPROVAL: frozenset({S.STUDY_OPEN, S.REJECTED}) | _ENDINGS,
    S.STUDY_OPEN: frozenset({S.MANUAL_ID_REVIEW, S.STUDY_COMPLETE, S.VOID_STUDY_EXPIRED})
    | _ENDINGS,
    S.MANUAL_ID_REVIEW: frozenset({S.STUDY_OPEN, S.VOID_STUDY_EXPIRED}) | _ENDINGS,
    S.STUDY_COMPLETE: frozenset({S.EXAM_IN_PROGRESS, S.VOID_EXAM_EXPIRED}) | _ENDINGS,
    S.EXAM_IN_PROGRESS: frozenset({S.EXAM_FAILED, S.FAILED_FINAL, S.FINAL_AUTH, S.STUDY_COMPLETE})
    | _ENDINGS,
    S.EXAM_FAILED: frozenset({S.EXAM_IN_PROGRESS, S.FAILED_FINAL}) | _ENDINGS,
    S.FINAL_AUTH: frozenset({S.PASSED_PENDING_APPLY, S.RESULT_INVALID_AUTH}) | _ENDINGS,
    S.RESULT_INVALID_AUTH: frozenset({S.UNDER_REVIEW, S.INVALID_FINAL}) | _ENDINGS,
    S.UNDER_REVIEW: frozenset({S.PASSED_PENDING_APPLY, S.INVALID_FINAL}) | _ENDINGS,
    S.PASSED_PENDING_APPLY: frozenset({S.REDUCED, S.VOID_NOT_APPLICABLE}) | _ENDINGS,
    S.REDUCED: frozenset({S.REVOKED}),
    S.REVOKED: frozenset({S.RESTORED}),
    S.REJECTED: frozenset(),
    S.VOID_STUDY_EXPIRED: frozenset(),
    S.VOID_EXAM_EXPIRED: frozenset(),
    S.FAILED_FINAL: frozenset(),
    S.INVALID_FINAL: frozenset(),
    S.VOID_NOT_APPLICABLE: frozenset(),
    S.RESTORED: frozenset(),
    S.ABORTED_INELIGIBLE: frozenset(),
    S.VOID_CYCLE_ENDED: frozenset(),
}


def is_terminal(state: ApplicationState) -> bool:
    return not TRANSITIONS[state]
