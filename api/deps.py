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
    return _principal(request)


def _principal(request: Request) -> Principal:
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
        raise ApiError(
            "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    request.state.principal = p
    return p


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def dep(request: Request) -> Principal:
        p = _principal(request)
        if p.role not in allowed:
            raise ApiError("forbidden", "this role may not use this operation")
        if p.role is Role.DRIVER:
            wait = await request.app.state.limiter.take(p.subject)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                raise ApiError(
                    "rate_limited",
                    "too many requests",
                    details={"retry_after_s": retry},
                    headers={"Retry-After": str(retry)},
                )
        return p

    return dep


Driver = Annotated[Principal, Depends(require(Role.DRIVER))]
Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
Adjudicator = Annotated[Principal, Depends(require(Role.ADJUDICATOR))]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
AnyRole = Annotated[Principal, Depends(principal)]
Services = Annotated[Container, Depends(container)]
