"""Driver routes: consent, enrolment, manual ID review, eligibility and application,
study sessions with heartbeat and snapshots, 复核 requests, blacklist and appeal.

Every object is looked up with the caller's driver id: someone else's object is
404 ``not_found`` / ``not_owner`` and never confirms that it exists.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import AnyRole, Driver, Services
from api.errors import ApiError
from api.idempotency import Journal, idempotent, idempotent_cpu
from api.limits import BURST_BODY_OPENAPI, IMAGE_BODY_OPENAPI, read_burst, read_image
from api.routers.views import manual_out, session_out, submission_out
from api.schemas import (
    AppealOut,
    ApplicationOut,
    BlacklistOut,
    ConsentIn,
    ConsentOut,
    ConsentTextOut,
    EligibilityOut,
    EnrolledOut,
    ManualReviewOut,
    OpenSessionIn,
    SessionOut,
    StatementIn,
    SubmissionOut,
    WithdrawOut,
)
from proctor.services.sessions import SessionView, SubmissionResult
from proctor.session.states import SessionKind

router = APIRouter(prefix="/v1", tags=["driver"])
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
IdQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
SessionQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


@router.get("/consent/text", response_model=ConsentTextOut)
async def consent_text(_: AnyRole, c: Services) -> ConsentTextOut:
    version, text, digest = c.consent.text
    return ConsentTextOut(text_version=version, text=text, text_sha256=digest)


@router.post("/me/consent", response_model=ConsentOut, status_code=201)
async def give_consent(body: ConsentIn, who: Driver, c: Services) -> ConsentOut:
    r = await anyio.to_thread.run_sync(c.consent.give, who.subject, body.text_sha256, body.channel)
    return ConsentOut(consent_id=r.id, text_version=r.text_version, given_at=r.given_at)


@router.post("/me/consent/withdraw", response_model=WithdrawOut)
async def withdraw_consent(who: Driver, c: Services) -> WithdrawOut:
    n = await anyio.to_thread.run_sync(c.consent.withdraw, who.subject)
    return WithdrawOut(withdrawn=n)


@router.post(
    "/me/enrollment",
    response_model=EnrolledOut,
    status_code=201,
    openapi_extra=IMAGE_BODY_OPENAPI,
    deprecated=True,
)
async def enroll(who: Driver) -> EnrolledOut:
    """Refused, always: 403 ``reference_authority_only`` (issue 17). The reference is the
    authority's real-name photo, set by an operator; a driver proves it is them with
    实人认证 (``POST /v1/me/verification/bursts``). The body is never read."""
    raise ApiError(
        "reference_authority_only",
        "the reference photo comes from the traffic-management authority; "
        "use 实人认证 (POST /v1/me/verification/bursts)",
        details={"driver_id": who.subject},
    )


@router.post(
    "/me/identity-review",
    response_model=ManualReviewOut,
    status_code=202,
    openapi_extra=IMAGE_BODY_OPENAPI,
)
async def identity_review(
    request: Request, who: Driver, c: Services, session_id: SessionQuery = None
) -> ManualReviewOut:
    """Fallback after a failed or uncertain entry check: a photo of the driver holding their
    ID card. With ``session_id`` (a session in ``identity_review``) the reviewer also sees
    the entry capture, and the decision resumes or ends that session."""
    photo = await read_image(request)
    m = await request.app.state.cpu.run(c.review.request_manual_id, who.subject, photo, session_id)
    return manual_out(m)


@router.get("/me/manual-reviews/{review_id}", response_model=ManualReviewOut)
async def my_manual_review(review_id: IdPath, who: Driver, c: Services) -> ManualReviewOut:
    m = await anyio.to_thread.run_sync(c.review.my_manual, review_id, who.subject)
    return manual_out(m)


@router.get("/me/eligibility", response_model=EligibilityOut)
async def eligibility(who: Driver, c: Services) -> EligibilityOut:
    v = await anyio.to_thread.run_sync(c.applications.eligibility, who.subject)
    return EligibilityOut(
        eligible=v.eligible,
        reasons=list(v.reasons),
        cycle_start=v.cycle_start,
        clearing_date=v.clearing_date,
        has_open_application=v.has_open_application,
    )


@router.post("/me/applications", response_model=ApplicationOut, status_code=201)
async def apply(who: Driver, c: Services) -> ApplicationOut:
    a = await anyio.to_thread.run_sync(c.applications.apply, who.subject)
    return ApplicationOut(
        application_id=a.id,
        state=a.state,
        reasons=list(a.reasons),
        created_at=a.created_at,
        details=a.details,
    )


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def open_session(body: OpenSessionIn, who: Driver, c: Services) -> SessionOut:
    """Open a study session: consent on record, no other open session (409
    ``session_already_open`` names it), an approved application inside its study window."""
    from api.routers.lifecycle import open_under_application

    def opener() -> SessionView:
        return c.sessions.open_session(who.subject, SessionKind.STUDY)

    v = await anyio.to_thread.run_sync(
        open_under_application, c, who.subject, SessionKind.STUDY, opener
    )
    return session_out(v, c.clock.now())


@router.post("/sessions/{session_id}/heartbeat", response_model=SessionOut)
async def heartbeat(session_id: IdPath, who: Driver, c: Services) -> SessionOut:
    """The client's poll; the answer carries a capture challenge when one is due."""
    v = await anyio.to_thread.run_sync(c.sessions.heartbeat, session_id, who.subject)
    return session_out(v, c.clock.now())


@router.post(
    "/sessions/{session_id}/snapshots",
    response_model=SubmissionOut,
    openapi_extra=IMAGE_BODY_OPENAPI,
)
async def submit_snapshot(
    request: Request, session_id: IdPath, challenge_id: IdQuery, who: Driver, c: Services
) -> JSONResponse:
    """Answer a capture challenge with one snapshot. Honours ``Idempotency-Key``."""
    image = await read_image(request)

    def submit(journal: Journal) -> SubmissionOut:
        # One worker call (see idempotent_cpu): decode, claim (with the consent gate),
        # compare, record; the answer is stored in the recording transaction.
        r = c.sessions.submit_snapshot(
            session_id,
            who.subject,
            challenge_id,
            image,
            on_recorded=lambda uow, r: journal(uow, submission_out(r, c.clock.now())),
        )
        return submission_out(r, c.clock.now())

    return await idempotent_cpu(request, c, who, image, submit)


@router.post(
    "/sessions/{session_id}/bursts",
    response_model=SubmissionOut,
    openapi_extra=BURST_BODY_OPENAPI,
)
async def submit_burst(
    request: Request, session_id: IdPath, challenge_id: IdQuery, who: Driver, c: Services
) -> JSONResponse:
    """Answer a capture challenge with a liveness burst: ``frames`` image parts (about 2 s,
    8-30 frames, unmirrored; the reference page sends 30, i.e. 15 fps) or one short
    ``video/webm`` / ``video/mp4`` clip, showing the challenge's ``actions`` in order.
    Honours ``Idempotency-Key``.

    An unusable upload (too many frames, too large, wrong type, undecodable) is refused
    with its own 4xx code before the challenge is claimed: it costs no attempt. A burst
    that fails liveness is a failed attempt with ``spoof_suspected`` for a human reviewer.

    With the challenge's ``light_code`` (issue 20), send each frame's time from the code's
    start as the multipart field ``frame_times_ms`` (comma-separated ms, one per frame).
    """
    s = c.settings
    # Someone else's or an unknown challenge is refused before the body is read.
    await anyio.to_thread.run_sync(
        c.sessions.authorize_challenge, session_id, who.subject, challenge_id
    )
    times: list[float] = []
    upload = await read_burst(
        request,
        max_frames=s.burst_max_frames,
        frame_max_bytes=s.snapshot_max_bytes,
        times_out=times,
    )
    parts = [upload] if isinstance(upload, bytes) else upload
    digest = b"".join(hashlib.sha256(p).digest() for p in parts)
    digest += ",".join(f"{t:.4f}" for t in times).encode()
    kind = b"clip:" if isinstance(upload, bytes) else b"frames:"

    async def run() -> SubmissionOut:
        # the use case decodes first (stable 4xx before the claim), then claims (with the
        # consent gate) and judges
        r: SubmissionResult = await request.app.state.cpu.run(
            c.sessions.submit_burst,
            session_id,
            who.subject,
            challenge_id,
            upload,
            frame_times_s=times or None,
        )
        return submission_out(r, c.clock.now())

    return await idempotent(request, c, who, kind + digest, run)


@router.post("/sessions/{session_id}/abandon", response_model=SessionOut)
async def abandon_study(session_id: IdPath, who: Driver, c: Services) -> SessionOut:
    """End one's own open study session without credit (``session_already_open`` names it),
    so that a new one can open. An exam attempt cannot be abandoned."""
    assert c.session_gate is not None
    await anyio.to_thread.run_sync(c.session_gate.abandon, session_id, who.subject)
    v = await anyio.to_thread.run_sync(c.sessions.heartbeat, session_id, who.subject)
    return session_out(v, c.clock.now())


@router.post("/sessions/{session_id}/complete", response_model=SessionOut)
async def complete_study(session_id: IdPath, who: Driver, c: Services) -> SessionOut:
    v = await anyio.to_thread.run_sync(c.sessions.complete_study, session_id, who.subject)
    return session_out(v, c.clock.now())


@router.post(
    "/sessions/{session_id}/review-request", response_model=ManualReviewOut, status_code=202
)
async def request_fuxi(
    session_id: IdPath, body: StatementIn, who: Driver, c: Services
) -> ManualReviewOut:
    """复核: ask a human to review an invalid session (within 24 h). For an exam of an
    application, the request is recorded on it (once; due in 3 working days, or
    ``pending_calendar`` when that needs a calendar year not yet known)."""
    if c.settings.application_gate:
        await anyio.to_thread.run_sync(c.applications.review_requested, who.subject, session_id)
    m = await anyio.to_thread.run_sync(
        c.review.request_fuxi, session_id, who.subject, body.statement
    )
    return manual_out(m)


@router.get("/me/blacklist", response_model=list[BlacklistOut])
async def my_blacklist(who: Driver, c: Services) -> list[BlacklistOut]:
    entries = await anyio.to_thread.run_sync(c.review.blacklist_of, who.subject)
    return [
        BlacklistOut(
            blacklist_id=e.id,
            status=e.status.value,
            start_at=e.start_at,
            platform_until=e.platform_until,
        )
        for e in entries
    ]


@router.post("/me/blacklist/{blacklist_id}/appeals", response_model=AppealOut, status_code=201)
async def appeal(blacklist_id: IdPath, body: StatementIn, who: Driver, c: Services) -> AppealOut:
    a = await anyio.to_thread.run_sync(
        c.adjudication.file_appeal, blacklist_id, who.subject, body.statement
    )
    return AppealOut(
        appeal_id=a.id, blacklist_id=a.blacklist_id, status=a.status.value, filed_at=a.filed_at
    )
