"""The one error envelope, and the single map from stable domain codes to HTTP statuses.

Every error leaves the service as::

    {"error": {"code": "...", "message": "...", "details": {...}}, "request_id": "..."}
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from proctor.errors import ProctorError

log = logging.getLogger("proctor.api")

STATUS_BY_CODE: dict[str, int] = {
    # input images
    "unsupported_format": 415,
    "image_too_large": 413,
    "corrupt_image": 422,
    "empty_image": 422,
    "image_error": 422,
    "enrollment_rejected": 422,
    # liveness bursts (issue 10)
    "burst_too_large": 413,
    "corrupt_video": 422,
    "unsupported_video": 415,
    "empty_burst": 422,
    "burst_required": 409,  # a snapshot sent for a challenge that asks for actions
    # models
    "model_integrity": 503,
    "model_unavailable": 503,
    "model_error": 503,
    "contract_mismatch": 409,
    "operating_policy_invalid": 503,  # thresholds asked for but not calibrated (start-up)
    "proctor_error": 500,  # the base class itself: never raised on purpose
    "cohort_file_invalid": 400,
    # sessions, challenges, rules
    "illegal_transition": 409,
    "challenge_refused": 409,
    "capture_pending": 409,
    "session_refused": 409,
    "question_out_of_order": 409,
    "wrong_session_kind": 409,
    "action_refused": 409,
    "same_human_twice": 409,
    "appeal_refused": 409,  # one appeal per blacklist entry (issue 17)
    "notification_no_template": 500,  # an outbox kind without a text (parked; never a 4xx)
    # where the reference comes from (issue 17)
    "reference_authority_only": 403,  # a driver cannot write their reference
    "reference_exists": 409,
    "reference_refused": 409,
    "replacement_rate_limited": 429,
    "no_authority_reference": 409,
    "blacklisted": 403,
    "not_enrolled": 409,
    "identity_not_verified": 409,
    "identity_review_pending": 409,
    "calendar_year_unknown": 503,
    "rules_error": 500,
    "rules_data_invalid": 500,
    "question_bank_invalid": 500,
    "audit_content_refused": 500,
    "master_key_invalid": 500,
    "evidence_missing": 404,
    "duplicate_message": 409,
    "challenge_unknown": 404,
    "challenge_foreign": 404,  # someone else's challenge: answered like an unknown one
    "challenge_expired": 409,
    "challenge_reused": 409,
    "session_closed": 409,
    "consent_required": 403,
    "driver_record_missing": 404,
    "review_window_closed": 409,
    # the application lifecycle and the session-open gate (issue 18, issue 17 item 3)
    "application_required": 409,
    "study_not_allowed": 409,
    "exam_not_allowed": 409,
    "session_already_open": 409,
    "invalid_driver_record": 422,
    "review_jobs_unavailable": 503,
    # access
    "not_found": 404,
    "not_owner": 404,  # never reveal that someone else's object exists
    "unauthenticated": 401,
    "forbidden": 403,
    # transport
    "validation_error": 422,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "overloaded": 503,
    "idempotency_key_required": 400,
    "idempotency_key_reused": 422,
    "idempotency_in_flight": 409,
    "method_not_allowed": 405,
    "http_error": 400,
    "internal_error": 500,
}


class ApiError(ProctorError):
    """Transport-level errors raised by the API layer itself."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.api_code = code
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.api_code, "message": self.message, "details": self.details}


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return str(rid)


def envelope(
    request: Request,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    rid = request_id(request)
    body = {
        "error": {"code": code, "message": message, "details": details or {}},
        "request_id": rid,
    }
    status = STATUS_BY_CODE.get(code, 400)
    return JSONResponse(body, status_code=status, headers={**(headers or {}), "X-Request-ID": rid})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(request, exc.api_code, exc.message, exc.details, exc.headers)

    @app.exception_handler(ProctorError)
    async def _domain(request: Request, exc: ProctorError) -> JSONResponse:
        return envelope(request, exc.code, exc.message, _safe(exc.details))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return envelope(request, "validation_error", "request is not valid", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }.get(exc.status_code, "http_error")
        resp = envelope(request, code, str(exc.detail), headers=dict(exc.headers or {}))
        resp.status_code = exc.status_code
        return resp

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error (request %s)", request_id(request))
        return envelope(request, "internal_error", "internal error")


def _safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details are JSON-safe scalars or containers; anything else becomes a string."""
    out: dict[str, Any] = {}
    for k, v in details.items():
        if isinstance(v, str | int | float | bool | type(None) | list | dict):
            out[k] = v
        else:
            out[k] = str(v)
    return out
