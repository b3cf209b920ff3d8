"""``Idempotency-Key`` on snapshot submits and decisions (IETF httpapi draft).

The key is required (400 ``idempotency_key_required`` without it, SECURITY.md D1) and
scoped to the caller and the route. The request fingerprint is the
SHA-256 of the method, path, query and body. A stored answer is replayed with
``Idempotent-Replayed: true``. Shed (503), rate-limited (429) and server errors
are not stored: the key is released so that the retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth import Principal
from api.errors import ApiError, envelope
from proctor.bootstrap import Container
from proctor.errors import ProctorError
from proctor.services.ports import UnitOfWork

MAX_KEY_LEN = 200
NOT_STORED = frozenset({429, 503})


def fingerprint(request: Request, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        h.update(part.encode() + b"\0")
    h.update(body)
    return h.hexdigest()


async def idempotent(
    request: Request,
    c: Container,
    who: Principal,
    body: bytes,
    run: Callable[[], Awaitable[Any]],
    status_code: int = 200,
) -> JSONResponse:
    """Run ``run`` at most once per (caller, route, key); replay the stored answer after."""
    scope, key, digest = _keyed(request, who, body)
    stored = await anyio.to_thread.run_sync(c.idempotency.begin, scope, key, digest)
    if stored is not None:
        return JSONResponse(
            json.loads(stored.body),
            status_code=stored.status_code,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        result = await run()
    except ProctorError as exc:
        resp = _error_response(request, exc)
        if resp.status_code in NOT_STORED or resp.status_code >= 500:
            await anyio.to_thread.run_sync(c.idempotency.release, scope, key)
        else:
            await anyio.to_thread.run_sync(
                c.idempotency.complete,
                scope,
                key,
                digest,
                resp.status_code,
                bytes(resp.body).decode(),
            )
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(c.idempotency.release, scope, key)
        raise
    payload = jsonable_encoder(result)
    await anyio.to_thread.run_sync(
        c.idempotency.complete, scope, key, digest, status_code, json.dumps(payload)
    )
    return JSONResponse(payload, status_code=status_code)


# Stores a success answer inside the use case's deciding transaction (see idempotent_cpu).
Journal = Callable[[UnitOfWork, Any], None]


async def idempotent_cpu(
    request: Request,
    c: Container,
    who: Principal,
    body: bytes,
    work: Callable[[Journal], Any],
) -> JSONResponse:
    """``idempotent`` for a matching route whose use case already makes its side effect
    single-use (a capture challenge is claimed once; a concurrent duplicate gets 409
    ``challenge_reused``): no in-flight record is written, and the stored-answer lookup
    and ``work`` run in one call on the bounded CPU pool (one thread hop). A full pool
    sheds with 503 before anything is read.

    ``work(journal)`` calls ``journal(uow, answer)`` inside the transaction that records
    its decision: the answer is stored with the decision (one commit, and a crash can
    never leave a decision whose retry finds no answer). Only successful answers are
    stored: refusals are not (re-running one gives the same answer, and a duplicate's 409
    ``challenge_reused`` must never shadow the answer of the request that holds the
    claim)."""
    scope, key, digest = _keyed(request, who, body)

    def unit() -> tuple[bool, int, Any]:
        stored = c.idempotency.lookup(scope, key, digest)
        if stored is not None:
            return True, stored.status_code, json.loads(stored.body)
        kept: list[Any] = []

        def journal(uow: UnitOfWork, answer: Any) -> None:
            payload = jsonable_encoder(answer)
            c.idempotency.keep(uow, scope, key, digest, 200, json.dumps(payload))
            kept.append(payload)

        answer = work(journal)
        if kept:
            return False, 200, kept[-1]
        payload = jsonable_encoder(answer)  # a use case that decided nothing new
        c.idempotency.complete(scope, key, digest, 200, json.dumps(payload))
        return False, 200, payload

    replayed, status, payload = await request.app.state.cpu.run(unit)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(payload, status_code=status, headers=headers)


def _keyed(request: Request, who: Principal, body: bytes) -> tuple[str, str, str]:
    """(scope, key, request hash); the key is required (400 without it)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        # Snapshot submits and decisions must be safe to retry: the key is required.
        raise ApiError(
            "idempotency_key_required",
            "this request needs an Idempotency-Key header (e.g. the challenge id)",
        )
    if not key or len(key) > MAX_KEY_LEN:
        raise ApiError("validation_error", "Idempotency-Key must be 1-200 characters")
    scope = f"{who.role.value}:{who.subject}:{request.method}:{request.url.path}"
    return scope, key, fingerprint(request, body)


def _error_response(request: Request, exc: ProctorError) -> JSONResponse:
    if isinstance(exc, ApiError):
        return envelope(request, exc.api_code, exc.message, exc.details)
    return envelope(request, exc.code, exc.message, exc.details)
