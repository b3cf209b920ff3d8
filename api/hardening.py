"""Transport hardening (issue 17): security headers, per-client limits, the dev-token guard.

- Every response: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY``. HTML pages also send a Content-Security-Policy with
  ``frame-ancestors 'none'``: scripts only from this origin (the reference pages have no
  inline script), inline style attributes allowed, camera frames as ``blob:``. The
  interactive API docs (``/docs``, ``/redoc``) load their assets from a CDN and get a
  CSP that allows that CDN only.
- Requests without an ``Authorization`` header are rate-limited per client address
  (``client:<ip>``); failed token checks take from the same bucket (``api.deps``).
- The dev token endpoint guard lives in :mod:`proctor.serve_guard` (``proctor serve``
  checks it without importing the web stack).
"""

from __future__ import annotations

import json
import logging
import math
import uuid

from api.limits import ASGIApp, Message, Receive, Scope, Send
from api.ratelimit import RateLimiter

log = logging.getLogger("proctor.api")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def csp_for(path: str, content_type: bytes) -> str:
    if path in ("/docs", "/redoc") or path.startswith("/docs/"):
        return DOCS_CSP
    if content_type.startswith(b"text/html"):
        return PAGE_CSP
    return API_CSP


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                headers += [(k, v) for k, v in COMMON if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", csp_for(path, ctype).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapped)


def client_key(scope: Scope) -> str:
    client = scope.get("client")
    return "client:" + (str(client[0]) if client else "unknown")


class AnonymousRateLimit:
    """Per-client token bucket for requests that carry no ``Authorization`` header."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            k.lower() == b"authorization" for k, _ in scope.get("headers", [])
        ):
            await self.app(scope, receive, send)
            return
        wait = await self.limiter.take(client_key(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        rid = str(scope.get("state", {}).get("request_id") or uuid.uuid4().hex)
        body = json.dumps(
            {
                "error": {
                    "code": "rate_limited",
                    "message": "too many requests from this client",
                    "details": {"retry_after_s": retry},
                },
                "request_id": rid,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(retry).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
