"""Reviewer re-verification jobs over real HTTP (issue 6): uvicorn, real models, SQLite.

A proxy takes over a driver's study session (flag); the driver asks for 复核. The
reviewer claims both, starts one job over them (202), polls the percentage to 100,
reads the recommendation with its per-snapshot evidence, sees it on the case view,
and a re-run changes nothing (no new flag). Other reviewers cannot read the job.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, build_proxy_case

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]


def poll(api: Api, job_id: str, who: tuple[str, Role], timeout_s: float = 300) -> list[float]:
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        j = api.ok("GET", f"/v1/review/jobs/{job_id}", who)
        assert 0 <= j["percent"] <= 100 and j["done"] <= j["total"]
        if not seen or seen[-1] != j["percent"]:
            seen.append(j["percent"])
        if j["status"] == "finished":
            return seen
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {seen}")


def test_job_api_recommends_with_evidence_and_reruns_change_nothing(
    api: Api, photos: dict[str, bytes]
) -> None:
    case = build_proxy_case(api, photos, "job-driver")
    driver = ("job-driver", Role.DRIVER)
    fuxi = api.ok(
        "POST",
        f"/v1/sessions/{case['session_id']}/review-request",
        driver,
        json={"statement": "是本人"},
    )
    again = api.call("POST", f"/v1/sessions/{case['session_id']}/review-request", driver, json={})
    assert again.status_code == 409  # once per exam record
    rev = ("rev-jobs", Role.REVIEWER)
    claimed: set[str] = set()

    def our_flag() -> str | None:  # this session's flag, once it is assigned to rev
        flags = api.ok("GET", "/v1/review/queue", rev)["flags"]
        return next((f["flag_id"] for f in flags if f["session_id"] == case["session_id"]), None)

    while True:  # other tests' older cases may come first
        got = api.ok("POST", "/v1/review/claim", rev)["case_id"]
        if got is None or got in claimed:
            break
        claimed.add(got)
        if fuxi["review_id"] in claimed and our_flag() is not None:
            break
    flag_id = our_flag()
    assert flag_id is not None and flag_id in claimed
    manual = api.ok("GET", f"/v1/review/manual/{fuxi['review_id']}", rev)
    assert manual["review_case"]["kind"] == "fuxi" and manual["review_case"]["due_on"]

    r = api.call("POST", "/v1/review/jobs", rev, json={"case_ids": [flag_id, fuxi["review_id"]]})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/review/jobs/{job['job_id']}"
    assert job["total"] == 2
    seen = poll(api, job["job_id"], rev)
    assert seen[-1] == 100.0 and seen == sorted(seen)

    # someone else's job: 404, and other roles: 403
    assert (
        api.call("GET", f"/v1/review/jobs/{job['job_id']}", ("rev-x", Role.REVIEWER)).status_code
        == 404
    )
    assert (
        api.call("GET", f"/v1/review/jobs/{job['job_id']}", ("ops", Role.ADMIN)).status_code == 403
    )
    # a case that is not the caller's cannot be selected
    r = api.call("POST", "/v1/review/jobs", ("rev-x", Role.REVIEWER), json={"case_ids": [flag_id]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_owner"

    res = api.ok("GET", f"/v1/review/jobs/{job['job_id']}/results", rev)
    by_kind: dict[str, Any] = {c["kind"]: c for c in res["cases"]}
    flag_report = by_kind["flag"]
    assert flag_report["source_id"] == flag_id
    # the proxy sent the same photo three times: a clear mismatch, then two exact replays
    assert flag_report["recommendation"] == "needs_human", flag_report
    assert flag_report["reasons"] == ["replay_detected"]
    first, *rest = flag_report["snapshots"]
    assert first["verdict"] == "mismatch" and first["quality_reasons"] == []
    assert first["distances"] and all(
        d > flag_report["zones"]["no_match_l2"] for d in first["distances"].values()
    )
    assert first["replay"]["exact"] is False
    assert rest and all(s["replay"]["exact"] for s in rest)
    assert by_kind["fuxi"]["source_id"] == fuxi["review_id"]
    assert by_kind["fuxi"]["recommendation"] == "needs_human"

    view = api.ok("GET", f"/v1/review/cases/{flag_id}", rev)
    rc = view["review_case"]
    assert rc["recommendation"] == "needs_human" and rc["report"]["job_id"] == job["job_id"]
    assert [s["evidence_id"] for s in rc["report"]["snapshots"]] == view["evidence_ids"]

    # a re-run over the same cases: same recommendations, no new flag
    r2 = api.call("POST", "/v1/review/jobs", rev, json={"statuses": ["assigned"]})
    assert r2.status_code == 202
    poll(api, r2.json()["job_id"], rev)
    res2 = api.ok("GET", f"/v1/review/jobs/{r2.json()['job_id']}/results", rev)
    # (other tests' cases this reviewer claimed on the way may be selected too)
    again_by_case = {c["case_id"]: c["recommendation"] for c in res2["cases"]}
    assert {c["case_id"]: again_by_case.get(c["case_id"]) for c in res["cases"]} == {
        c["case_id"]: c["recommendation"] for c in res["cases"]
    }
    assert res2["job"]["summary"]["new_flags"] == 0
    queue = api.ok("GET", "/v1/review/queue", rev)
    assert [f["flag_id"] for f in queue["flags"] if f["session_id"] == case["session_id"]] == [
        flag_id
    ]
