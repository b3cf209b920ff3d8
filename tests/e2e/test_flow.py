"""The whole flow over real HTTP (uvicorn, real models, SQLite): issue 5 "must show".

A genuine driver enrolled from obama.jpg studies with captures (obama2, obama3),
completes study, passes the exam answering from the bank; a proxy's snapshots
(biden) terminate a session with a flag that reaches the reviewer queue, gets
reviewed, adjudicated by a second human into a blacklist, and appealed.
"""

from __future__ import annotations

import pytest

from api.auth import Role
from proctor.rules import load_bank
from tests.e2e.conftest import Api, World, build_proxy_case

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]


def test_genuine_driver_studies_and_passes_the_exam(api: Api, photos: dict[str, bytes]) -> None:
    who = api.onboard("genuine", photos["obama"])
    elig = api.ok("GET", "/v1/me/eligibility", who)
    assert elig["eligible"], elig
    app = api.ok("POST", "/v1/me/applications", who)
    assert app["state"] == "study_open"  # the system review approves it at once

    v = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid = v["session_id"]
    assert v["challenge"]["kind"] == "entry"
    r = api.snapshot(who, sid, v["challenge"]["id"], photos["obama2"])
    assert r.status_code == 200 and r.json()["passed"], r.text
    ch = api.wait_challenge(who, sid)
    assert ch["kind"] == "random"
    r = api.snapshot(who, sid, ch["id"], photos["obama3"])
    assert r.status_code == 200 and r.json()["passed"], r.text
    done = api.ok("POST", f"/v1/sessions/{sid}/complete", who)
    assert done["state"] == "completed" and done["credited_s"] > 0

    answers = {q.id: q.answer for q in load_bank().questions}
    # A second driver takes the exam: three more distinct photos of the man are needed,
    # and a mirrored copy of the reference is a replay now (issue 17).
    who = api.onboard("genuine-examinee", photos["obama"])
    exam = api.ok("POST", "/v1/exams", who)
    eid = exam["session_id"]
    unused = [photos["obama2_m"], photos["obama3_m"], photos["obama2"]]
    r = api.snapshot(who, eid, exam["challenge"]["id"], unused.pop(0))
    assert r.json()["passed"], r.text
    for i in range(20):
        nxt = api.call("POST", f"/v1/exams/{eid}/questions/next", who)
        if nxt.status_code == 409:  # the random capture comes before this question
            err = nxt.json()["error"]
            assert err["code"] == "capture_pending" and "stem" not in nxt.text, nxt.text
            r = api.snapshot(who, eid, err["details"]["challenge_id"], unused.pop(0))
            assert r.json()["passed"], r.text
            nxt = api.call("POST", f"/v1/exams/{eid}/questions/next", who)
        assert nxt.status_code == 200, nxt.text
        q = nxt.json()
        assert q["index"] == i and "answer" not in q and q["session"]["challenge"] is None
        a = api.ok(
            "POST",
            f"/v1/exams/{eid}/questions/{i}/answer",
            who,
            json={"choice": answers[q["question_id"]]},
        )
        assert a["correct"] and a["counted"], a
    final = a["session"]["challenge"]
    assert final is not None and final["kind"] == "exam_end"
    r = api.snapshot(who, eid, final["id"], unused.pop(0))
    assert r.json()["passed"], r.text
    result = api.ok("POST", f"/v1/exams/{eid}/finish", who)
    assert result["passed"] and result["correct"] == 20, result


def test_proxy_is_flagged_reviewed_and_blacklisted(api: Api, photos: dict[str, bytes]) -> None:
    case = build_proxy_case(api, photos, "victim")
    rev, adj = ("rev-a", Role.REVIEWER), ("adj-a", Role.ADJUDICATOR)
    queue = api.ok("GET", "/v1/review/queue", rev)
    assert queue["unassigned"] >= 1
    flag_id = None
    for _ in range(10):  # claim until this driver's case comes up
        claimed = api.ok("POST", "/v1/review/claim", rev)["case_id"]
        mine = api.ok("GET", "/v1/review/queue", rev)["flags"]
        hit = [f for f in mine if f["session_id"] == case["session_id"]]
        if hit:
            flag_id = hit[0]["flag_id"]
            break
        assert claimed is not None
    assert flag_id is not None
    view = api.ok("GET", f"/v1/review/cases/{flag_id}", rev)
    assert "proxy_face" in view["flag"]["reasons"] and view["reference_ids"]
    # the deadline comes from the working-day calendar: a future day, not overdue yet
    assert view["flag"]["due_on"] > view["flag"]["raised_at"][:10]
    assert view["flag"]["overdue"] is False
    # the flagged attempts with their distances and reasons, no pixels
    assert view["attempts"] and all(a["distance"] > a["threshold"] for a in view["attempts"])
    assert all("face_mismatch" in a["reasons"] for a in view["attempts"])
    crop = api.call("GET", f"/v1/review/cases/{flag_id}/evidence/{view['evidence_ids'][0]}", rev)
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    assert crop.headers["x-content-type-options"] == "nosniff"
    no_reason = api.call(
        "POST", f"/v1/review/cases/{flag_id}/review", rev, json={"recommendation": "uphold"}
    )
    assert no_reason.status_code == 422  # a decision needs a reason
    api.ok(
        "POST",
        f"/v1/review/cases/{flag_id}/review",
        rev,
        json={"recommendation": "uphold", "reason": "clearly another person"},
    )
    # the reviewer cannot also adjudicate
    same = api.call(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        ("rev-a", Role.ADJUDICATOR),
        json={"uphold": True},
    )
    assert same.status_code == 409 and same.json()["error"]["code"] == "same_human_twice"
    key = {"Idempotency-Key": "decide-" + flag_id}
    first = api.call(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        adj,
        json={"uphold": True},
        headers=key,
    )
    again = api.call(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        adj,
        json={"uphold": True},
        headers=key,
    )
    assert first.status_code == 200 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = api.call(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        adj,
        json={"uphold": False},
        headers=key,
    )
    assert other.status_code == 422
    bl = api.ok("GET", "/v1/me/blacklist", ("victim", Role.DRIVER))
    assert bl and bl[0]["status"] == "active"
    blocked = api.call("POST", "/v1/sessions", ("victim", Role.DRIVER), json={"kind": "study"})
    assert blocked.status_code == 403
    appeal = api.ok(
        "POST",
        f"/v1/me/blacklist/{bl[0]['blacklist_id']}/appeals",
        ("victim", Role.DRIVER),
        json={"statement": "it was me"},
    )
    decided = api.ok(
        "POST",
        f"/v1/adjudication/appeals/{appeal['appeal_id']}/decision",
        ("adj-c", Role.ADJUDICATOR),
        json={"uphold": True},
    )
    assert decided["status"] == "upheld"
    assert api.ok("GET", "/v1/audit/verify", ("aud", Role.AUDITOR))["ok"]


def test_world_builds(world: World) -> None:
    assert set(world.ids) >= {"session_id", "flag_id", "appeal_id"}
