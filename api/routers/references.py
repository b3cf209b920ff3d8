"""Where the reference comes from (issue 17): the authority photo (operator path), 实人认证
(a driver's live burst against it), replacement by two staff members, and the staff
reopen of a decided appeal for new evidence.

A driver never writes a reference: ``POST /v1/me/enrollment`` answers 403
``reference_authority_only``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Adjudicator, Admin, Driver, Services
from api.errors import ApiError
from api.idempotency import idempotent
from api.limits import BURST_BODY_OPENAPI, IMAGE_BODY_OPENAPI, read_burst, read_image
from api.routers.driver import IdPath
from api.schemas import Strict
from proctor.bootstrap import Container
from proctor.services.reference_ports import ReferenceRecord
from proctor.services.references import ReferenceService, VerificationView

router = APIRouter(prefix="/v1", tags=["references"])
Reason = Annotated[str, Query(min_length=1, max_length=500)]


class ReferenceOut(BaseModel):
    reference_id: str
    kind: str
    status: str
    created_at: datetime
    requested_by: str
    decided_by: str | None = None


class DatedReferenceOut(BaseModel):
    kind: str
    status: str
    created_at: datetime


class VerificationOut(BaseModel):
    """The driver's reference situation: an authority photo, and whether a real-person
    verification (实人认证, or an approved ID-holding photo) is valid now."""

    authority_reference: bool
    verified: bool
    kind: str | None
    verified_at: datetime | None
    valid_until: datetime | None
    references: list[DatedReferenceOut]


class LiveVerificationOut(BaseModel):
    passed: bool
    reasons: list[str]
    distance: float | None
    threshold: float | None
    # after a failure: "identity_review" (send a photo holding your ID to
    # POST /v1/me/identity-review, a reviewer approves it)
    next_step: str | None
    verification: VerificationOut


class ReplacementDecisionIn(Strict):
    approve: bool
    note: str = Field(default="", max_length=500)


class ReopenIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class BlacklistReopenOut(BaseModel):
    blacklist_id: str
    status: str
    appeals_allowed: int


def _refs(c: Container) -> ReferenceService:
    if c.references is None:  # pragma: no cover - build_container always sets it
        raise ApiError("not_found", "references are not configured")
    return c.references


def reference_out(r: ReferenceRecord) -> ReferenceOut:
    return ReferenceOut(
        reference_id=r.id,
        kind=r.kind.value,
        status=r.status.value,
        created_at=r.created_at,
        requested_by=r.requested_by,
        decided_by=r.decided_by,
    )


def verification_out(v: VerificationView) -> VerificationOut:
    return VerificationOut(
        authority_reference=v.authority_reference,
        verified=v.verified,
        kind=v.kind,
        verified_at=v.verified_at,
        valid_until=v.valid_until,
        references=[DatedReferenceOut(kind=k, status=s, created_at=t) for k, s, t in v.references],
    )


# ---- operator path ---------------------------------------------------------------------------
@router.put(
    "/admin/drivers/{driver_id}/enrollment",
    response_model=ReferenceOut,
    status_code=201,
    tags=["admin"],
    openapi_extra=IMAGE_BODY_OPENAPI,
)
async def set_authority_reference(
    request: Request, driver_id: IdPath, who: Admin, c: Services
) -> ReferenceOut:
    """The driver's real-name photo from the traffic-management authority (the sync job,
    or an operator): the first reference, set once. Only the template and the face crop
    are kept. A driver who has one gets 409 ``reference_exists``: replace it with a
    reason and a second staff member's approval."""
    photo = await read_image(request)
    refs = _refs(c)
    r = await request.app.state.cpu.run(refs.set_authority, driver_id, photo, who.subject)
    return reference_out(r)


@router.post(
    "/admin/drivers/{driver_id}/reference-replacements",
    response_model=ReferenceOut,
    status_code=202,
    tags=["admin"],
    openapi_extra=IMAGE_BODY_OPENAPI,
)
async def request_replacement(
    request: Request, driver_id: IdPath, reason: Reason, who: Admin, c: Services
) -> JSONResponse:
    """Ask to replace the authority photo (staff, with a reason). Pending until a different
    staff member decides; at most 2 requests per driver in 30 days."""
    photo = await read_image(request)
    refs = _refs(c)

    async def run() -> ReferenceOut:
        r = await request.app.state.cpu.run(
            refs.request_replacement, driver_id, photo, who.subject, reason
        )
        return reference_out(r)

    digest = hashlib.sha256(photo).digest()
    return await idempotent(request, c, who, digest, run, status_code=202)


@router.post(
    "/admin/drivers/{driver_id}/reference-replacements/{request_id}/decision",
    response_model=ReferenceOut,
    tags=["admin"],
)
async def decide_replacement(
    request: Request,
    driver_id: IdPath,
    request_id: IdPath,
    body: ReplacementDecisionIn,
    who: Admin,
    c: Services,
) -> JSONResponse:
    """A second, different staff member approves or rejects a replacement. The superseded
    photo's crop stays readable to reviewers until its retention ends."""
    refs = _refs(c)

    async def run() -> ReferenceOut:
        r = await anyio.to_thread.run_sync(
            refs.decide_replacement, driver_id, request_id, who.subject, body.approve, body.note
        )
        return reference_out(r)

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)


# ---- 实人认证 (driver) -------------------------------------------------------------------------
@router.get("/me/verification", response_model=VerificationOut)
async def my_verification(who: Driver, c: Services) -> VerificationOut:
    v = await anyio.to_thread.run_sync(_refs(c).verification, who.subject)
    return verification_out(v)


@router.post(
    "/me/verification/bursts",
    response_model=LiveVerificationOut,
    openapi_extra=BURST_BODY_OPENAPI,
)
async def verify_live(request: Request, who: Driver, c: Services) -> JSONResponse:
    """实人认证: a live burst (about 2 s, blink once) matched against the authority photo.
    On success the capture becomes an additional, dated ``live_verified`` reference (the
    authority photo stays). On failure ``next_step`` is ``identity_review``: send a photo
    holding your ID card to ``POST /v1/me/identity-review``; a reviewer approves it.
    Honours ``Idempotency-Key``."""
    s = c.settings
    upload = await read_burst(
        request, max_frames=s.burst_max_frames, frame_max_bytes=s.snapshot_max_bytes
    )
    parts = [upload] if isinstance(upload, bytes) else upload
    digest = b"".join(hashlib.sha256(p).digest() for p in parts)
    refs = _refs(c)

    def judge() -> LiveVerificationOut:
        r = refs.verify_live(who.subject, upload)
        return LiveVerificationOut(
            passed=r.passed,
            reasons=list(r.reasons),
            distance=r.distance,
            threshold=r.threshold,
            next_step=r.next_step,
            verification=verification_out(r.view),
        )

    async def run() -> LiveVerificationOut:
        out: LiveVerificationOut = await request.app.state.cpu.run(judge)
        return out

    return await idempotent(request, c, who, b"live:" + digest, run)


# ---- appeals: staff reopen for new evidence ---------------------------------------------------
@router.post(
    "/adjudication/blacklist/{blacklist_id}/reopen",
    response_model=BlacklistReopenOut,
    tags=["adjudication"],
)
async def reopen_appeal(
    request: Request, blacklist_id: IdPath, body: ReopenIn, who: Adjudicator, c: Services
) -> JSONResponse:
    """New evidence after an appeal was decided: staff reopen the entry for one more
    appeal, with a reason (audited; the driver is notified)."""

    async def run() -> BlacklistReopenOut:
        e = await anyio.to_thread.run_sync(
            c.adjudication.reopen_appeal, blacklist_id, who.subject, body.reason
        )
        return BlacklistReopenOut(
            blacklist_id=e.id, status=e.status.value, appeals_allowed=e.appeals_allowed
        )

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)
