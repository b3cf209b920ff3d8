"""The FastAPI application: ``create_app(settings)``.

The lifespan builds the container once (storage migrated, the face pipeline
loaded, digest-checked and warmed), optionally seeds the demo driver, and
marks the app ready for ``/readyz``. CPU-bound matching runs in the bounded
``CpuPool``; everything else that touches the database runs in worker threads.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.auth import TokenSigner
from api.concurrency import CpuPool
from api.docs_pages import mount_docs
from api.errors import install_error_handlers
from api.hardening import AnonymousRateLimit, SecurityHeaders
from api.limits import ASGIApp, BodyLimitMiddleware, Message, Receive, Scope, Send
from api.ratelimit import build_rate_limiter
from api.routers import driver, exam, lifecycle, notifications, ops, references, review
from proctor.bootstrap import Container, build_container, seed_demo, warm
from proctor.config import ProctorSettings
from proctor.serve_guard import refuse_public_dev_tokens

log = logging.getLogger("proctor.api")
WARM_PHOTO = Path(__file__).resolve().parents[1] / "fixtures/images/downloaded/obama.jpg"
WEB_DIR = Path(__file__).resolve().parent / "web"


class Observability:
    """Request ids and Prometheus metrics per route template (pure ASGI, no body access)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.latency = Histogram(
            "proctor_http_request_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
        )
        self.shed = Counter("proctor_http_shed_total", "requests shed with 503", registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        start = time.perf_counter()

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.latency.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - start
            )
            if status == 503:
                self.shed.inc()


def mount_pages(app: FastAPI) -> None:
    """The reference pages (``api/web``): static files, kept out of the OpenAPI document."""
    if not WEB_DIR.is_dir():
        return

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/web/driver.html")

    @app.get("/review", include_in_schema=False)
    async def review_console() -> RedirectResponse:
        return RedirectResponse("/web/reviewer.html")

    app.mount("/web", StaticFiles(directory=WEB_DIR, html=True), name="web")


def create_app(
    settings: ProctorSettings | None = None, *, container: Container | None = None
) -> FastAPI:
    s = settings or ProctorSettings()
    refuse_public_dev_tokens(s.dev_token_endpoint, s.bind_host)
    secret = s.token_secret.get_secret_value().encode() if s.token_secret else None
    if secret is None:
        log.warning("PROCTOR_TOKEN_SECRET is not set: tokens are valid for this process only")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        c: Container = (
            container
            if container is not None
            else await anyio.to_thread.run_sync(build_container, s)
        )
        photo = WARM_PHOTO.read_bytes() if WARM_PHOTO.exists() else None
        await anyio.to_thread.run_sync(warm, c.pipeline, photo)
        if s.seed_demo:
            await anyio.to_thread.run_sync(seed_demo, c, photo)
        app.state.container = c
        app.state.models_ready = True
        if s.scheduler_enabled and c.scheduler is not None:
            await anyio.to_thread.run_sync(c.scheduler.start)
        try:
            yield
        finally:
            app.state.models_ready = False
            if c.scheduler is not None:
                await anyio.to_thread.run_sync(c.scheduler.stop)
            await app.state.limiter.close()
            await app.state.staff_limiter.close()
            await app.state.client_limiter.close()
            if container is None:
                c.close()

    app = FastAPI(
        title="proctor",
        version="1.0.0",
        summary="Face verification and 学法减分 rules for online traffic-law study and exams",
        lifespan=lifespan,
        docs_url=None,  # self-hosted below: no CDN
        redoc_url=None,
    )
    mount_docs(app)
    app.state.signer = TokenSigner(secret or secrets.token_bytes(32), ttl_s=s.token_ttl_s)
    app.state.cpu = CpuPool(s.cpu_workers, s.cpu_queue, s.retry_after_s)
    app.state.limiter = build_rate_limiter(
        s.rate_limit_per_min, s.rate_limit_burst, s.rate_limit_redis_url, s.rate_limit_redis_prefix
    )
    prefix = s.rate_limit_redis_prefix
    app.state.staff_limiter = build_rate_limiter(
        s.staff_rate_limit_per_min, s.staff_rate_limit_burst, s.rate_limit_redis_url, prefix
    )
    app.state.client_limiter = build_rate_limiter(
        s.client_rate_limit_per_min, s.client_rate_limit_burst, s.rate_limit_redis_url, prefix
    )
    app.state.registry = CollectorRegistry()
    app.state.models_ready = False
    install_error_handlers(app)
    for r in (ops.router, driver.router, exam.router, review.router):
        app.include_router(r)
    app.include_router(notifications.router)
    app.state.scheduler_enabled = s.scheduler_enabled
    notifications.install_metrics(app)
    app.include_router(references.router)
    if s.dev_token_endpoint:
        app.include_router(ops.dev_router)
    app.include_router(lifecycle.router)
    if s.dev_clock:
        app.include_router(lifecycle.dev_router)
    lifecycle.register_metrics(app.state.registry, lambda: getattr(app.state, "container", None))
    mount_pages(app)
    app.add_middleware(
        BodyLimitMiddleware,
        upload_max=s.snapshot_max_bytes,
        json_max=s.json_max_bytes,
        burst_max=s.burst_max_bytes,
    )
    app.add_middleware(AnonymousRateLimit, limiter=app.state.client_limiter)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Observability, registry=app.state.registry)
    return app
