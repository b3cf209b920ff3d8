"""``/docs`` and ``/redoc`` load every asset from this server (issue 16): no CDN, so the
pages work offline and from mainland China."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import anyio
import httpx

from api.main import create_app
from proctor.config import ProctorSettings


def test_docs_pages_reference_only_local_assets(tmp_path: Path) -> None:
    # on a thread of its own: the session-wide Playwright fixture (tests/browser) keeps an
    # event loop running in the main thread, where a second loop cannot start
    failure: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(_check, tmp_path)
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if failure:
        raise failure[0]


async def _check(tmp_path: Path) -> None:
    app = create_app(ProctorSettings(data_dir=tmp_path))  # no lifespan here: no models
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://proctor") as client:
        await _pages(client)


async def _pages(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", r.text)
        assert urls, page
        assert not [u for u in urls if "//" in u], (page, urls)  # nothing off this origin
        assert "jsdelivr" not in r.text and "fonts.googleapis" not in r.text
        for u in urls:
            if u.startswith("/docs-assets/"):
                asset = await client.get(u)
                assert asset.status_code == 200 and len(asset.content) > 1000, u
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
