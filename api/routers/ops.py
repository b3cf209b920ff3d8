"""Operations: liveness, readiness (models warmed, database reachable), Prometheus metrics,
the audit-chain check (auditor), driver-record sync and token minting (admin; no biometrics).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import Admin, Auditor, Operator, Services, signer
from api.errors import ApiError
from api.routers.driver import IdPath
from api.routers.notifications import refresh_metrics as refresh_delivery_metrics
from api.schemas import AuditOut, DriverRecordIn, HealthOut, TokenIn, TokenOut
from proctor.cohort_wiring import status_body
from proctor.serve_guard import is_loopback

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def readyz(request: Request) -> JSONResponse:
    c = getattr(request.app.state, "container", None)
    models = bool(getattr(request.app.state, "models_ready", False))
    db = False
    if c is not None:
        try:
            await anyio.to_thread.run_sync(c.ping_db)
            db = True
        except Exception:  # any failure means not ready
            db = False
    ok = models and db
    details: dict[str, Any] = {}
    warnings: list[str] = []
    if c is not None and db:
        from api.routers.lifecycle import readiness_details

        details, warnings = await anyio.to_thread.run_sync(readiness_details, c)
    body = HealthOut(
        status="ready" if ok else "not_ready",
        checks={"models": models, "db": db},
        details=details,
        warnings=warnings,
    )
    live = getattr(c, "live_policy", None)
    policy = live() if live is not None else getattr(c, "policy", None)
    if policy is not None:
        body.policy_id, body.thresholds = policy.policy_id, policy.by_kind()
    if c is not None:  # s-norm or the raw fallback, announced (issue 21)
        body.cohort = status_body(c.cohort.holder.status if c.cohort else None, policy)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, _: Operator) -> Response:
    """Prometheus metrics; an operator token (admin or auditor) is required."""
    await refresh_delivery_metrics(request)
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/audit/verify", response_model=AuditOut, tags=["audit"])
async def audit_verify(_: Auditor, c: Services) -> AuditOut:
    return AuditOut(ok=await anyio.to_thread.run_sync(c.audit_ok))


@router.put("/v1/admin/driver-records/{driver_id}", status_code=204, tags=["admin"])
async def put_driver_record(
    driver_id: IdPath, body: DriverRecordIn, _: Admin, c: Services
) -> Response:
    """Sync a driver's traffic-management record (points, licence dates)."""
    record = body.model_dump(mode="json")
    await anyio.to_thread.run_sync(c.applications.put_record, driver_id, record)
    return Response(status_code=204)


@router.post("/v1/admin/tokens", response_model=TokenOut, status_code=201, tags=["admin"])
async def admin_token(request: Request, body: TokenIn, _: Admin) -> TokenOut:
    """Issue a token for a staff member or driver (admin only)."""
    s = signer(request)
    return TokenOut(token=s.issue(body.sub, body.role), expires_in_s=s.ttl_s)


dev_router = APIRouter(tags=["dev"])


@dev_router.post("/v1/dev/tokens", response_model=TokenOut, status_code=201)
async def dev_token(request: Request, body: TokenIn) -> TokenOut:
    """Development only (``PROCTOR_DEV_TOKEN_ENDPOINT=true``): mint any token, unauthenticated.
    Served on a loopback address only (``proctor.serve_guard``)."""
    server = request.scope.get("server")
    if server is None or not is_loopback(str(server[0])):
        raise ApiError("not_found", "not found")
    s = signer(request)
    return TokenOut(token=s.issue(body.sub, body.role), expires_in_s=s.ttl_s)
