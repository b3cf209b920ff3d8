"""Browser fixtures: the real app on a free port (tests/e2e helpers), Debian's Chromium driven
by Playwright's Python package with a fake camera fed from .y4m files made from the fixture
photos. Skips with a reason when /usr/bin/chromium or playwright is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.auth import Role
from tests.browser.y4m import distinct_looks, letterbox, write_live_feed, write_y4m
from tests.e2e.conftest import IMAGES, SECRET, Api, Served, photos, settings

__all__ = ["photos"]  # the e2e fixture, re-exported for these tests

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
# Fast capture loop for tests: a 2 s countdown, frequent heartbeats, a short verdict hold.
# Captures are then more than one look's hold apart, and one pass of the genuine feed
# (LOOKS x HOLD_S seconds) outlasts a scenario: no two captures of a test see the same look.
PAGE_PARAMS = "countdown=2&poll=400&hold=300"
LOOKS = 24
MIN_LOOKS = 12
HOLD_S = 1.2

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package (dev extra) is not installed"
    return None


@pytest.fixture(scope="session", autouse=True)
def _need_browser() -> None:
    why = browser_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def web_server(
    tmp_path_factory: pytest.TempPathFactory, photos: dict[str, bytes]
) -> Iterator[Served]:
    from api.main import create_app

    srv = Served(create_app(settings(tmp_path_factory.mktemp("web"))))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def web_api(web_server: Served) -> Iterator[Api]:
    a = Api(web_server.url)
    yield a
    a.client.close()


@pytest.fixture(scope="session")
def feeds(tmp_path_factory: pytest.TempPathFactory, web_server: Served) -> dict[str, Path]:
    """``genuine``: a live-like feed of the enrolled driver (obama.jpg is the reference);
    ``biden``: a still feed of another person."""
    import cv2

    d = tmp_path_factory.mktemp("y4m")
    pipeline = web_server.app.state.container.pipeline
    reference = (IMAGES / "obama.jpg").read_bytes()
    template = pipeline.enroll([reference])
    policy = web_server.app.state.container.policy
    ref_hash = pipeline.measure(template, reference).perceptual_hash

    def judge(jpeg: bytes) -> tuple[bool, int]:
        from proctor.testing.real import decide_alone

        m = pipeline.measure(template, jpeg)
        r = decide_alone(m, policy)  # an entry capture under the shipped policy
        ok = (
            r.passed
            and r.distance is not None
            and r.threshold is not None
            and r.distance < r.threshold - 0.03
            and (m.perceptual_hash ^ ref_hash).bit_count() >= 8
        )
        return ok, int(m.perceptual_hash)

    bases = {n: letterbox(cv2.imread(str(IMAGES / f"{n}.jpg")), 640, 480) for n in ("obama2",)}
    looks = distinct_looks(bases, judge, limit=LOOKS)
    assert len(looks) >= MIN_LOOKS, f"only {len(looks)} distinct looks"
    return {
        "genuine": write_live_feed([f for _, f in looks], d / "genuine.y4m", hold_s=HOLD_S),
        "biden": write_y4m(IMAGES / "biden.jpg", d / "biden.y4m"),
    }


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def open_page(
    playwright: Playwright, feeds: dict[str, Path], request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """``open_page(url, feed="obama2")``: a fresh Chromium whose camera plays that feed."""
    browsers: list[Browser] = []
    pages: list[Page] = []

    def make(url: str, feed: str | None = None) -> Page:
        args = list(CHROMIUM_FLAGS)
        if feed is not None:
            args.append(f"--use-file-for-fake-video-capture={feeds[feed]}")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        browsers.append(browser)
        context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        pages.append(page)
        return page

    yield make
    for i, page in enumerate(pages):  # the last state of every page, pass or fail
        shot(page, f"{request.node.name}-final-{i}")
    for b in browsers:
        b.close()


def issue(sub: str, role: Role) -> str:
    from api.auth import TokenSigner

    return TokenSigner(SECRET.encode()).issue(sub, role)


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("#use-token")
