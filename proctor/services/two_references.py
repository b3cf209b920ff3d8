"""Two references (issue 21 × issue 17's ``live_verified`` reference): what a later check
reads and measures besides the authority photo.

After a successful 实人认证 a dated ``live_verified`` reference is stored beside the
authority photo (``ReferenceService.verify_live``). A session capture's claim reads it
(``LiveReference``, in the claim's transaction); the capture is measured against it with
the same cohort as the authority photo (``proctor.matching.references.score_live_reference``);
``decide_capture`` combines the two under ``OperatingPolicy.two_references``. 实人认证
itself never reads it, so the authority photo decides the first verification alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from proctor.services.ports import UnitOfWork
from proctor.services.reference_ports import ReferenceKind, ReferenceStatus, ReferenceUnitOfWork
from proctor.types import Template

# (uow, subject_key) → the valid live_verified template, inside the caller's transaction
LiveReference = Callable[[UnitOfWork, str], Template | None]


def live_template(uow: ReferenceUnitOfWork, subject_key: str, now: datetime) -> Template | None:
    """The newest active, unexpired ``live_verified`` template made against the authority
    photo in force (a replaced photo needs a new 实人认证), else None."""
    records = uow.references.for_subject(subject_key)
    since = max(
        (
            r.created_at
            for r in records
            if r.kind is ReferenceKind.AUTHORITY and r.status is ReferenceStatus.ACTIVE
        ),
        default=None,
    )
    if since is None:
        return None
    for r in reversed(records):  # newest first
        if (
            r.kind is ReferenceKind.LIVE_VERIFIED
            and r.status is ReferenceStatus.ACTIVE
            and r.template_key is not None
            and (r.valid_until is None or r.valid_until > now)
            and r.created_at >= since
        ):
            return uow.templates.get(r.template_key)
    return None
