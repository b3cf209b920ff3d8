"""The driver page after an uncertain entry check (issue 9), in a real browser.

The fake camera plays a photo that the shipped zones call *uncertain* against the driver's
reference (picked from the East-Asian dev pairs by measuring the frame the page will send).
The page must not count a strike, must ask for a photo holding the ID card, send it with
the session id, wait, and carry on once a reviewer approves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from api.auth import Role
from tests.browser.conftest import PAGE_PARAMS, issue, login, shot
from tests.browser.y4m import letterbox, write_y4m
from tests.e2e.conftest import Api, Served
from tests.zone_pairs import uncertain_pair

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.db, pytest.mark.slow]


def _as_webcam_frame(jpeg: bytes) -> bytes:
    """What the page sends: the photo letterboxed into a 640x480 frame, JPEG q≈92."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    ok, out = cv2.imencode(".jpg", letterbox(bgr, 640, 480), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return out.tobytes()


def test_uncertain_entry_asks_for_an_id_photo_and_resumes(
    web_server: Served,
    web_api: Api,
    feeds: dict[str, Path],
    open_page: Callable[..., Page],
    face_data: Path,
    tmp_path: Path,
) -> None:
    pipeline = web_server.app.state.container.pipeline
    reference, entry, _ = uncertain_pair(face_data, pipeline, _as_webcam_frame)
    (tmp_path / "entry.jpg").write_bytes(entry)
    feeds["uncertain"] = write_y4m(tmp_path / "entry.jpg", tmp_path / "uncertain.y4m")
    who = web_api.onboard("web-uncertain", reference)

    page = open_page(f"{web_server.url}/web/driver.html?{PAGE_PARAMS}", feed="uncertain")
    login(page, issue(who[0], Role.DRIVER))
    page.click("nav.steps button[data-step='study']")
    page.click("#study-start")
    page.wait_for_selector("#identity-review-box")
    page.wait_for_selector("#session-state[data-state='identity_review']")
    assert page.get_attribute("#remaining", "data-remaining") == "3"  # no strike
    assert page.locator("#log .fail").count() == 1  # logged, but not counted as a strike
    assert "无法确定是否为本人" in page.inner_text("#log")
    shot(page, "identity-1-asked")
    page.click("#id-photo")
    page.wait_for_selector("#identity-review-msg[data-review-id]")
    review_id = page.get_attribute("#identity-review-msg", "data-review-id")
    shot(page, "identity-2-waiting")

    reviewer = ("web-id-reviewer", Role.REVIEWER)
    for _ in range(50):
        got = web_api.ok("POST", "/v1/review/claim", reviewer)["case_id"]
        if got in (review_id, None):
            break
    assert got == review_id
    case = web_api.ok("GET", f"/v1/review/manual/{review_id}", reviewer)
    assert case["subject_id"] and len(case["evidence_ids"]) >= 2
    web_api.ok(
        "POST",
        f"/v1/review/manual/{review_id}/decision",
        reviewer,
        json={"approve": True, "reason": "手持证件与登记照片一致"},
    )
    page.wait_for_selector("#session-state[data-state='active']")
    page.wait_for_function(
        "() => document.querySelector('#identity-review-msg').textContent.includes('已通过')"
    )
    shot(page, "identity-3-resumed")
    page.click("#study-complete")
    page.wait_for_selector("#session-state[data-state='completed']")
