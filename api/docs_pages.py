"""``/docs`` (Swagger UI) and ``/redoc`` served from an installed package, never a CDN.

FastAPI's defaults load Swagger UI and ReDoc from jsDelivr, which leaves the pages blank
without internet and is unreliable from mainland China. The PyPI package
``fastapi-offline`` ships the same assets (Swagger UI: Apache-2.0, ReDoc: MIT); they are
located with ``importlib.util.find_spec`` and served under ``/docs-assets``. ReDoc's
Google-fonts link is left out too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path | None:
    """The installed package's static folder, or None when the package is absent."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if all((folder / f).is_file() for f in ASSET_FILES) else None


def mount_docs(app: FastAPI) -> None:
    """Self-hosted ``/docs`` and ``/redoc`` (create the app with docs_url/redoc_url None).
    Without the assets package the pages are not served at all rather than half-blank."""
    folder = assets_dir()
    if folder is None:
        return
    app.mount(ASSETS_URL, StaticFiles(directory=folder), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=oauth_url,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get(oauth_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
