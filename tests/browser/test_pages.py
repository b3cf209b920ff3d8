"""The reference pages in a real browser (Debian's Chromium, fake camera from .y4m files).

Each scenario saves screenshots under var/artifacts/browser/. Waits are bounded by
Playwright's timeouts; nothing asserts on durations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from api.auth import Role
from proctor.rules import load_bank
from tests.browser.conftest import IMAGES, PAGE_PARAMS, issue, login, shot
from tests.e2e.conftest import Api, Served, build_proxy_case

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.db, pytest.mark.slow]
OpenPage = Callable[..., "Page"]


def driver_url(server: Served) -> str:
    return f"{server.url}/web/driver.html?{PAGE_PARAMS}"


def consent_and_enrol(page: Page, api: Api, driver: str) -> None:
    """Consent on the page; the authority's photo comes through the operator path (issue
    17: a driver cannot upload it); the page then shows it and goes on to study."""
    page.wait_for_selector("#consent-text:not(:text('加载中…'))")
    page.check("#consent-check")
    page.click("#consent-give")
    page.wait_for_selector("#enroll:visible")
    page.wait_for_selector("#verify-status[data-authority='false']")
    api.set_authority(driver, (IMAGES / "obama.jpg").read_bytes())
    page.click("nav.steps button[data-step='enroll']")  # reloads the status
    page.wait_for_selector("#verify-status[data-authority='true']")
    assert page.locator("#enroll input[type=file]").count() == 1  # only the ID-photo fallback
    page.click("#enroll-skip")
    page.wait_for_selector("#session:visible")


def test_root_redirects_to_the_driver_page(web_server: Served, web_api: Api) -> None:
    r = web_api.client.get("/", follow_redirects=True)
    assert r.status_code == 200 and "学法减分" in r.text
    r = web_api.client.get("/review", follow_redirects=True)
    assert r.status_code == 200 and "复核审查台" in r.text
    paths = web_api.client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/review" not in paths  # page routes stay out of the contract
    assert not any(p.startswith("/web") for p in paths)


def test_genuine_driver_passes_the_study_captures(
    web_server: Served, web_api: Api, open_page: OpenPage
) -> None:
    page = open_page(driver_url(web_server), feed="genuine")
    shot(page, "driver-0-login")
    login(page, issue("web-genuine", Role.DRIVER))
    consent_and_enrol(page, web_api, "web-genuine")
    page.click("#study-start")
    # the entry check, then random captures as the server schedules them
    page.wait_for_selector("#overlay:visible")
    page.wait_for_selector("#prompt:text('请正对摄像头')")
    shot(page, "study-1-prompt")
    page.wait_for_selector("#passed-count[data-count='3']")
    assert page.get_attribute("#remaining", "data-remaining") == "3"
    assert page.locator(".log .fail").count() == 0
    shot(page, "study-2-passed")
    page.click("#study-complete")
    page.wait_for_selector("#session-state[data-state='completed']")
    assert "学习完成" in page.inner_text("#session-msg")
    shot(page, "study-3-completed")


def test_another_persons_face_fails_three_times_and_ends_the_session(
    web_server: Served, web_api: Api, open_page: OpenPage
) -> None:
    page = open_page(driver_url(web_server), feed="biden")
    login(page, issue("web-victim", Role.DRIVER))
    consent_and_enrol(page, web_api, "web-victim")
    page.click("#study-start")
    page.wait_for_selector("#verdict-box[data-passed='false'] [data-reason='face_mismatch']")
    assert "人脸不匹配" in page.inner_text("#verdict-box")
    shot(page, "proxy-1-first-failure")
    page.wait_for_selector("#session-state[data-state='terminated_invalid']")
    page.wait_for_selector("#ended-box")
    assert page.get_attribute("#remaining", "data-remaining") == "0"
    assert page.locator(".log .fail").count() == 3
    assert page.locator(".log .pass").count() == 0
    assert "本次会话已终止" in page.inner_text("#ended-box")
    assert page.is_disabled("#study-complete")
    shot(page, "proxy-2-ended")


def test_exam_capture_comes_before_its_question(
    web_server: Served, web_api: Api, open_page: OpenPage, photos: dict[str, bytes]
) -> None:
    """Issue 17: the random capture comes before its question, with the question hidden;
    the question appears after the decision with its full time (no pause inside it)."""
    who = web_api.onboard("web-examinee", photos["obama"])
    answers = {q.id: q.answer for q in load_bank().questions}
    page = open_page(driver_url(web_server), feed="genuine")
    login(page, issue(who[0], Role.DRIVER))
    page.click("nav.steps button[data-step='exam']")
    page.click("#exam-start")
    for i in range(20):
        page.wait_for_selector(f"#question[data-index='{i}']:visible")
        page.wait_for_function("() => !document.querySelector('#q-options button').disabled")
        assert page.get_attribute("#timer", "data-paused") == "false"
        qid = page.get_attribute("#question", "data-question-id")
        assert qid is not None
        page.click(f"#q-options button[data-choice='{answers[qid]}']")
    assert page.get_attribute("#question", "data-captures-before") == "1"
    shot(page, "exam-2-answered")
    page.wait_for_selector("#result")
    assert page.get_attribute("#result", "data-passed") == "true"
    assert "考试合格" in page.inner_text("#result")
    shot(page, "exam-3-result")


def test_reviewer_decides_a_case(
    web_server: Served, web_api: Api, open_page: OpenPage, photos: dict[str, bytes]
) -> None:
    build_proxy_case(web_api, photos, "web-proxied")
    page = open_page(f"{web_server.url}/web/reviewer.html")
    login(page, issue("rev-web", Role.REVIEWER))
    page.wait_for_selector("#queue-table tbody[data-loaded]")  # the first queue load is done
    page.click("#claim")
    page.wait_for_function(
        "() => document.querySelector('#queue-msg').textContent.includes('已领取')"
    )
    page.wait_for_selector("#queue-table tbody tr[data-case]")
    due_cell = page.locator("#queue-table tbody tr[data-case] td[data-overdue]").first
    assert due_cell.get_attribute("data-overdue") == "false"  # due date from the server
    assert "24:00" in due_cell.inner_text()
    shot(page, "review-1-queue")
    case_id = page.get_attribute("#queue-table tbody tr[data-case]", "data-case")
    page.click("#queue-table tbody tr[data-case] button")
    page.wait_for_selector("#crops canvas[data-watermarked]")
    page.wait_for_function("() => document.querySelectorAll('#crops canvas').length >= 2")
    assert page.locator("#case img, #case a[href]").count() == 0  # no image element, no link
    page.wait_for_selector("[data-attempt]")  # each flagged attempt with its distance
    attempt = page.locator("[data-attempt]").first
    distance = float(attempt.get_attribute("data-distance") or "nan")
    assert distance > float(attempt.get_attribute("data-threshold") or "nan")  # a mismatch
    # no context menu on evidence
    prevented = page.evaluate(
        "() => { const c = document.querySelector('#crops canvas');"
        " const e = new MouseEvent('contextmenu', {bubbles: true, cancelable: true});"
        " c.dispatchEvent(e); return e.defaultPrevented; }"
    )
    assert prevented
    # re-verification from the console: progress to 100 %, then the recommendation with evidence
    page.click("#reverify-start")
    page.wait_for_selector("#reverify[data-recommendation]:not([data-recommendation=''])")
    page.wait_for_selector("#reverify-progress:text('100%')")
    recommendation = page.get_attribute("#reverify", "data-recommendation")
    report = web_api.ok("GET", f"/v1/review/cases/{case_id}", ("rev-web", Role.REVIEWER))
    assert recommendation == report["review_case"]["recommendation"]
    assert "复查建议" in page.inner_text("#reverify")
    rows = page.locator("#reverify-table tbody tr[data-snapshot]")
    assert rows.count() == len(report["review_case"]["report"]["snapshots"]) > 0
    assert page.locator("#reverify-table tr[data-verdict='mismatch']").count() >= 1
    shot(page, "review-2b-reverified")
    assert page.is_disabled("#uphold") and page.is_disabled("#dismiss")  # a reason is required
    page.fill("#reason", "抓拍人脸与登记照片明显不是同一人")
    assert page.is_enabled("#uphold")
    shot(page, "review-2-case")
    page.click("#uphold")
    page.wait_for_selector("#decided")
    assert "审查意见已提交" in page.inner_text("#decided")
    shot(page, "review-3-decided")
    queue = web_api.ok("GET", "/v1/adjudication/queue", ("adj-web", Role.ADJUDICATOR))
    mine = [f for f in queue if f["flag_id"] == case_id]
    assert mine and mine[0]["reviewer_id"] == "rev-web"
    assert mine[0]["review_reason"] == "抓拍人脸与登记照片明显不是同一人"  # the reason is kept
