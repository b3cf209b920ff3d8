"""Request dependencies: the container, the authenticated principal, roles, rate limits.

The principal comes from ``Authorization: Bearer <token>`` (``api.auth``). Role
checks answer 403 ``forbidden``; a missing, expired or forged token answers 401.
Object ownership is checked by the use cases (someone else's object is 404).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.auth import Principal, Role, TokenInvalid, TokenSigner
from api.errors import ApiError
from api.hardening import client_key
from api.ratelimit import RateLimiter
from proctor.bootstrap import Container


# Dependencies are ``async def``: they never block, and FastAPI would otherwise run each
# one on the thread pool (a thread hop per dependency per request).
async def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def signer(request: Request) -> TokenSigner:
    s: TokenSigner = request.app.state.signer
    return s


async def principal(request: Request) -> Principal:
    return await _principal(request)


async def _limit(request: Request, limiter: RateLimiter, key: str) -> None:
    wait = await limiter.take(key)
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise ApiError(
            "rate_limited",
            "too many requests",
            details={"retry_after_s": retry},
            headers={"Retry-After": str(retry)},
        )


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            "unauthenticated",
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        p = signer(request).verify(token.strip())
    except TokenInvalid as exc:
        # a failed token check takes from the client's bucket (guessing is rate-limited)
        await _limit(request, request.app.state.client_limiter, client_key(request.scope))
        raise ApiError(
            "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    request.state.principal = p
    return p


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def dep(request: Request) -> Principal:
        p = await _principal(request)
        if p.role not in allowed:
            raise ApiError("forbidden", "this role may not use this operation")
        if p.role is Role.DRIVER:
            await _limit(request, request.app.state.limiter, p.subject)
        else:  # staff: per subject, own budget (issue 17)
            await _limit(request, request.app.state.staff_limiter, f"staff:{p.subject}")
        return p

    return dep


Driver = Annotated[Principal, Depends(require(Role.DRIVER))]
Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
Adjudicator = Annotated[Principal, Depends(require(Role.ADJUDICATOR))]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Operator = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]
AnyRole = Annotated[Principal, Depends(principal)]
Services = Annotated[Container, Depends(container)]
