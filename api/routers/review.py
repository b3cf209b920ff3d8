"""Reviewer and adjudicator routes.

Reviewers work only on cases assigned to them and see only face crops (JPEG,
``nosniff``, ``attachment``, ``no-store``); every view is audited with a
purpose. A blacklist needs an adjudicator who is not the reviewer of the flag
(``same_human_twice``). Decisions honour ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import Adjudicator, Reviewer, Services
from api.idempotency import idempotent
from api.routers.driver import IdPath
from api.routers.views import item_out, manual_out
from api.schemas import (
    AppealDecisionIn,
    AppealOut,
    AttemptOut,
    CaseOut,
    ClaimOut,
    DecisionIn,
    DecisionOut,
    FlagOut,
    ManualCaseOut,
    ManualDecisionIn,
    ManualReviewOut,
    QueueItemOut,
    QueueOut,
    ReverifyReportOut,
    ReviewCaseOut,
    ReviewIn,
    ReviewJobIn,
    ReviewJobOut,
    ReviewJobResultsOut,
)
from proctor.bootstrap import Container
from proctor.review.jobs import ReviewJobs, ReviewJobsUnavailable
from proctor.review.ports import JobState, Selection
from proctor.review.queue import CaseKind
from proctor.services.review import Reverification

router = APIRouter(prefix="/v1", tags=["review"])
Purpose = Annotated[Literal["review", "adjudication", "appeal"], Query()]


@router.get("/review/queue", response_model=QueueOut)
async def queue(who: Reviewer, c: Services) -> QueueOut:
    flags, manual, free = await anyio.to_thread.run_sync(c.review.queue, who.subject)
    return QueueOut(
        flags=[item_out(f) for f in flags],
        manual_reviews=[manual_out(m) for m in manual],
        unassigned=free,
    )


@router.post("/review/claim", response_model=ClaimOut)
async def claim(who: Reviewer, c: Services) -> ClaimOut:
    """Assign the oldest unassigned case to the caller."""
    case_id = await anyio.to_thread.run_sync(c.review.claim, who.subject)
    return ClaimOut(case_id=case_id)


@router.get("/review/cases/{flag_id}", response_model=CaseOut)
async def case(flag_id: IdPath, who: Reviewer, c: Services, purpose: Purpose = "review") -> CaseOut:
    v = await anyio.to_thread.run_sync(c.review.case, flag_id, who.subject, purpose)
    return CaseOut(
        flag=item_out(v.item),
        evidence_ids=list(v.evidence_ids),
        reference_ids=list(v.reference_ids),
        attempts=[
            AttemptOut(
                attempt_no=a.attempt_no,
                reasons=list(a.reasons),
                flags=list(a.flags),
                distance=a.distance,
                threshold=a.threshold,
                verdict=a.verdict,
                thresholds=dict(a.thresholds),
                policy_id=a.policy_id,
            )
            for a in v.attempts
        ],
        review_case=case_out(v.reverification, c),
    )


@router.get(
    "/review/cases/{case_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "a face crop"}},
)
async def evidence(
    case_id: IdPath, evidence_id: IdPath, who: Reviewer, c: Services, purpose: Purpose = "review"
) -> Response:
    data = await anyio.to_thread.run_sync(
        c.review.evidence, case_id, evidence_id, who.subject, purpose
    )
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "attachment",
            "Cache-Control": "no-store",
        },
    )


@router.post("/review/cases/{flag_id}/review", response_model=FlagOut)
async def review_flag(
    request: Request, flag_id: IdPath, body: ReviewIn, who: Reviewer, c: Services
) -> JSONResponse:
    async def run() -> FlagOut:
        f = await anyio.to_thread.run_sync(
            c.review.review_flag, flag_id, who.subject, body.recommendation, body.reason
        )
        return FlagOut(
            flag_id=f.id,
            status=f.status.value,
            reviewer_id=f.reviewer_id,
            adjudicator_id=f.adjudicator_id,
        )

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)


@router.get("/review/manual/{review_id}", response_model=ManualCaseOut)
async def manual(review_id: IdPath, who: Reviewer, c: Services) -> ManualCaseOut:
    """A manual review assigned to the caller; a 复核 carries its case and re-verification."""
    m = await anyio.to_thread.run_sync(c.review.manual, review_id, who.subject)
    rv = None
    if m.kind == "fuxi":
        rv = await anyio.to_thread.run_sync(c.review.reverification, CaseKind.FUXI, m.subject_id)
    refs = await anyio.to_thread.run_sync(c.review.references_for, m.driver_id)
    state = await anyio.to_thread.run_sync(c.review.session_state, m.subject_id)
    return ManualCaseOut(
        **manual_out(m).model_dump(),
        evidence_ids=list(m.evidence_ids),
        reference_ids=list(refs),
        review_case=case_out(rv, c),
        session_state=state[0] if state else None,
        session_termination_reason=state[1] if state else "",
    )


@router.post("/review/manual/{review_id}/decision", response_model=ManualReviewOut)
async def decide_manual(
    request: Request, review_id: IdPath, body: ManualDecisionIn, who: Reviewer, c: Services
) -> JSONResponse:
    async def run() -> ManualReviewOut:
        m = await anyio.to_thread.run_sync(
            c.review.decide_manual, review_id, who.subject, body.approve, body.reason
        )
        return manual_out(m)

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)


@router.get("/adjudication/queue", response_model=list[QueueItemOut])
async def adjudication_queue(_: Adjudicator, c: Services) -> list[QueueItemOut]:
    items = await anyio.to_thread.run_sync(c.review.adjudication_queue)
    return [item_out(i) for i in items]


@router.post("/adjudication/flags/{flag_id}/decision", response_model=DecisionOut)
async def decide_flag(
    request: Request, flag_id: IdPath, body: DecisionIn, who: Adjudicator, c: Services
) -> JSONResponse:
    """The human decision on a reviewed flag; upholding creates the blacklist entry."""

    async def run() -> DecisionOut:
        entry = await anyio.to_thread.run_sync(
            c.adjudication.decide_flag, flag_id, who.subject, body.uphold, body.note
        )
        return DecisionOut(
            flag_id=flag_id, upheld=body.uphold, blacklist_id=entry.id if entry else None
        )

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)


@router.post("/adjudication/appeals/{appeal_id}/decision", response_model=AppealOut)
async def decide_appeal(
    request: Request, appeal_id: IdPath, body: AppealDecisionIn, who: Adjudicator, c: Services
) -> JSONResponse:
    async def run() -> AppealOut:
        a = await anyio.to_thread.run_sync(
            c.adjudication.decide_appeal, appeal_id, who.subject, body.uphold
        )
        return AppealOut(
            appeal_id=a.id, blacklist_id=a.blacklist_id, status=a.status.value, filed_at=a.filed_at
        )

    return await idempotent(request, c, who, body.model_dump_json().encode(), run)


# ---- re-verification jobs (issue 6): reviewers, over their own assigned cases -----------------


def _jobs(c: Container) -> ReviewJobs:
    if c.review_jobs is None:
        raise ReviewJobsUnavailable("this instance runs no re-verification jobs")
    return c.review_jobs


def job_out(j: JobState) -> ReviewJobOut:
    return ReviewJobOut(
        job_id=j.id,
        status="finished" if j.status == "finished" else "running",
        done=j.done,
        total=j.total,
        percent=j.percent,
        created_at=j.created_at,
        finished_at=j.finished_at,
        summary={k: v for k, v in j.summary.items() if k != "groups"},
    )


def report_out(r: dict[str, Any], job_id: str | None) -> ReverifyReportOut:
    return ReverifyReportOut.model_validate({**r, "job_id": job_id})


def case_out(rv: Reverification | None, c: Container) -> ReviewCaseOut | None:
    if rv is None:
        return None
    k = rv.case
    reduction = k.details.get("point_reduction")
    return ReviewCaseOut.model_validate(
        {
            "case_id": k.id,
            "kind": k.kind.value,
            "status": k.status.value,
            "received_at": k.received_at,
            "due_on": k.due_on,
            "overdue": k.is_overdue(c.clock.now()),
            "recommendation": k.recommendation,
            "group_id": k.group_id,
            "decision": k.decision,
            "decision_reasons": list(k.decision_reasons),
            "point_reduction": reduction if isinstance(reduction, dict) else None,
            "report": report_out(rv.report, rv.job_id) if rv.report is not None else None,
        }
    )


@router.post("/review/jobs", response_model=ReviewJobOut, status_code=202)
async def start_job(body: ReviewJobIn, who: Reviewer, c: Services) -> JSONResponse:
    """Re-verify the caller's selected cases through the review profile, in the background.

    Answered at once (202) with the job id; poll ``GET /v1/review/jobs/{job_id}`` for the
    percentage, then read the per-case recommendations with their evidence.
    """
    sel = Selection(
        case_ids=tuple(body.case_ids),
        since=body.since,
        until=body.until,
        statuses=tuple(body.statuses),
    )
    job = await anyio.to_thread.run_sync(_jobs(c).start, who.subject, sel)
    out = job_out(job)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/review/jobs/{job.id}"},
    )


@router.get("/review/jobs/{job_id}", response_model=ReviewJobOut)
async def get_job(job_id: IdPath, who: Reviewer, c: Services) -> ReviewJobOut:
    job = await anyio.to_thread.run_sync(_jobs(c).get, job_id, who.subject)
    return job_out(job)


@router.get("/review/jobs/{job_id}/results", response_model=ReviewJobResultsOut)
async def job_results(
    job_id: IdPath, who: Reviewer, c: Services, purpose: Purpose = "review"
) -> ReviewJobResultsOut:
    """Per-case recommendations with per-snapshot distances, quality reasons and replay
    checks (no pixels); reading them is audited."""
    r = await anyio.to_thread.run_sync(_jobs(c).results, job_id, who.subject, purpose)
    return ReviewJobResultsOut(
        job=job_out(r.job),
        cases=[report_out(rep, job_id) for rep in r.cases.values()],
        groups=r.groups,
    )
