"""Issue 17 over real HTTP (uvicorn, real models, SQLite): the holes a proxy walked through.

- a driver cannot replace their reference (``POST /v1/me/enrollment`` is 403) and the
  reference is unchanged afterwards; the operator path sets it once;
- the reference photo replayed as a capture fails with ``reference_replayed``, and so do
  resized, re-encoded and mirrored copies of it;
- an appeal decided by the flag's reviewer is refused; a second appeal is refused; a staff
  reopen allows one more; an appeal after the entry is lifted is refused;
- a question's text is not obtainable while its capture is pending;
- absurd token claims are 401; ``/metrics`` needs an operator token; security headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from typing import Any

import pytest

from api.auth import Role
from tests.e2e.conftest import SECRET, Api, build_proxy_case

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]
ADMIN, ADMIN_2 = ("ops-admin", Role.ADMIN), ("ops-admin-2", Role.ADMIN)


def _copy(photo: bytes, *, scale: float = 1.0, quality: int = 92, mirror: bool = False) -> bytes:
    from PIL import Image, ImageOps

    img = Image.open(io.BytesIO(photo)).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    if mirror:
        img = ImageOps.mirror(img)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _entry(api: Api, who: tuple[str, Role]) -> tuple[str, str]:
    v = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    return v["session_id"], v["challenge"]["id"]


def test_re_enrolment_by_the_driver_is_refused_and_the_reference_is_unchanged(
    api: Api, photos: dict[str, bytes]
) -> None:
    who = api.onboard("re-enrol", photos["obama"])
    for body in (photos["biden"], photos["obama2"]):
        r = api.call(
            "POST", "/v1/me/enrollment", who, content=body, headers={"content-type": "image/jpeg"}
        )
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "reference_authority_only"
    # the operator path sets the first reference only once
    again = api.call(
        "PUT",
        "/v1/admin/drivers/re-enrol/enrollment",
        ADMIN,
        content=photos["biden"],
        headers={"content-type": "image/jpeg"},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "reference_exists"
    # unchanged: the stand-in fails, the driver passes
    sid, cid = _entry(api, who)
    stand_in = api.snapshot(who, sid, cid, photos["biden"]).json()
    assert not stand_in["passed"] and "face_mismatch" in stand_in["reasons"], stand_in
    genuine = api.snapshot(who, sid, stand_in["session"]["challenge"]["id"], photos["obama2"])
    assert genuine.json()["passed"], genuine.text


def test_the_reference_photo_and_its_copies_fail_as_reference_replayed(
    api: Api, photos: dict[str, bytes]
) -> None:
    ref = photos["obama"]
    copies = {
        "the photo itself": ref,
        "resized to half": _copy(ref, scale=0.5),
        "re-encoded at q35": _copy(ref, quality=35),
        "mirrored": photos["obama_m"],
        "mirrored and resized": _copy(ref, scale=0.7, quality=60, mirror=True),
    }
    who = api.onboard("replayer", ref)
    sid, cid = _entry(api, who)
    results: dict[str, Any] = {}
    for name, img in copies.items():
        if cid is None:  # three strikes ended the session: a new one
            api.ok("POST", f"/v1/sessions/{sid}/abandon", who)
            sid, cid = _entry(api, who)
        r = api.snapshot(who, sid, cid, img)
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        results[name] = body
        ch = body["session"]["challenge"]
        cid = ch["id"] if ch else None
    for name, body in results.items():
        assert not body["passed"], (name, body)
        assert "reference_replayed" in body["reasons"], (name, body)
        assert "reference_replayed" in body["flags"], (name, body)
    # a genuine new photo of the same man still passes (one open session per driver)
    api.ok("POST", f"/v1/sessions/{sid}/abandon", who)
    sid, cid = _entry(api, who)
    ok = api.snapshot(who, sid, cid, photos["obama3"]).json()
    assert ok["passed"] and "reference_replayed" not in ok["reasons"], ok


def _decided_blacklist(api: Api, photos: dict[str, bytes], driver: str) -> dict[str, str]:
    case = build_proxy_case(api, photos, driver)
    rev = (f"rev-{driver}", Role.REVIEWER)
    flag_id = None
    for _ in range(20):
        api.ok("POST", "/v1/review/claim", rev)
        mine = api.ok("GET", "/v1/review/queue", rev)["flags"]
        hit = [f for f in mine if f["session_id"] == case["session_id"]]
        if hit:
            flag_id = hit[0]["flag_id"]
            break
    assert flag_id is not None
    api.ok(
        "POST",
        f"/v1/review/cases/{flag_id}/review",
        rev,
        json={"recommendation": "uphold", "reason": "another person"},
    )
    d = api.ok(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        (f"adj-{driver}", Role.ADJUDICATOR),
        json={"uphold": True},
    )
    return {"flag_id": flag_id, "blacklist_id": d["blacklist_id"], "reviewer": rev[0]}


def test_appeals_one_per_entry_never_decided_by_the_flags_humans(
    api: Api, photos: dict[str, bytes]
) -> None:
    driver = "appellant"
    bl = _decided_blacklist(api, photos, driver)
    who = (driver, Role.DRIVER)
    url = f"/v1/me/blacklist/{bl['blacklist_id']}/appeals"
    first = api.ok("POST", url, who, json={"statement": "it was me"})
    pending = api.call("POST", url, who, json={"statement": "again"})
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "appeal_refused"
    decide = f"/v1/adjudication/appeals/{first['appeal_id']}/decision"
    # the flag's reviewer, holding an adjudicator token, may not decide the appeal
    by_reviewer = api.call(
        "POST", decide, (bl["reviewer"], Role.ADJUDICATOR), json={"uphold": True}
    )
    assert by_reviewer.status_code == 409, by_reviewer.text
    assert by_reviewer.json()["error"]["code"] == "same_human_twice"
    # nor its adjudicator
    by_adj = api.call("POST", decide, (f"adj-{driver}", Role.ADJUDICATOR), json={"uphold": True})
    assert by_adj.json()["error"]["code"] == "same_human_twice"
    rejected = api.ok("POST", decide, ("adj-third", Role.ADJUDICATOR), json={"uphold": False})
    assert rejected["status"] == "rejected"
    second = api.call("POST", url, who, json={"statement": "one more"})
    assert second.status_code == 409, second.text
    assert second.json()["error"] == {
        "code": "appeal_refused",
        "message": second.json()["error"]["message"],
        "details": {"blacklist_id": bl["blacklist_id"], "reason": "decided"},
    }
    # new evidence: a documented staff reopen (a reason, audited) allows one more
    reopen = f"/v1/adjudication/blacklist/{bl['blacklist_id']}/reopen"
    no_reason = api.call("POST", reopen, ("adj-third", Role.ADJUDICATOR), json={"reason": ""})
    assert no_reason.status_code == 422
    opened = api.ok(
        "POST", reopen, ("adj-third", Role.ADJUDICATOR), json={"reason": "new travel record"}
    )
    assert opened["appeals_allowed"] == 2
    third = api.ok("POST", url, who, json={"statement": "here is the ticket"})
    upheld = api.ok(
        "POST",
        f"/v1/adjudication/appeals/{third['appeal_id']}/decision",
        ("adj-fourth", Role.ADJUDICATOR),
        json={"uphold": True},
    )
    assert upheld["status"] == "upheld"
    lifted = api.call("POST", url, who, json={"statement": "after the lift"})
    assert lifted.status_code == 409
    assert lifted.json()["error"]["details"]["reason"] == "lifted"
    assert api.ok("GET", "/v1/audit/verify", ("aud", Role.AUDITOR))["ok"]


def test_question_text_is_not_obtainable_while_its_capture_is_pending(
    api: Api, photos: dict[str, bytes]
) -> None:
    from proctor.rules import load_bank

    answers = {q.id: q.answer for q in load_bank().questions}
    who = api.onboard("examinee-17", photos["obama"])
    exam = api.ok("POST", "/v1/exams", who)
    eid = exam["session_id"]
    r = api.snapshot(who, eid, exam["challenge"]["id"], photos["obama2"])
    assert r.json()["passed"], r.text
    seen_capture = False
    for i in range(20):
        nxt = api.call("POST", f"/v1/exams/{eid}/questions/next", who)
        if nxt.status_code == 409:
            seen_capture = True
            err = nxt.json()["error"]
            assert err["code"] == "capture_pending" and err["details"]["index"] == i
            cid = err["details"]["challenge_id"]
            # nothing hands out the question while its capture is pending ...
            for _ in range(2):
                again = api.call("POST", f"/v1/exams/{eid}/questions/next", who)
                assert again.status_code == 409 and "stem" not in again.text
            hb = api.ok("POST", f"/v1/sessions/{eid}/heartbeat", who)
            assert hb["challenge"]["id"] == cid and "stem" not in json.dumps(hb)
            # ... and there is no question on screen to answer before the capture
            early = api.call(
                "POST", f"/v1/exams/{eid}/questions/{i}/answer", who, json={"choice": "A"}
            )
            assert early.status_code == 409, early.text
            r = api.snapshot(who, eid, cid, photos["obama3"])
            assert r.json()["passed"], r.text
            nxt = api.call("POST", f"/v1/exams/{eid}/questions/next", who)
        assert nxt.status_code == 200, nxt.text
        q = nxt.json()
        assert q["index"] == i and q["session"]["challenge"] is None
        a = api.ok(
            "POST",
            f"/v1/exams/{eid}/questions/{i}/answer",
            who,
            json={"choice": answers[q["question_id"]]},
        )
        # the question's clock started when its text was released: no pause inside it
        assert a["counted"], a
        if a["exam_over"]:
            break
    assert seen_capture, "the exam plan always has one random capture"


def _token(payload: dict[str, Any] | str) -> str:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    body = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
    sig = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    return body + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "claims",
    [
        '{"sub":"d","role":"driver","exp":1e400}',
        '{"sub":"d","role":"driver","exp":' + "9" * 400 + "}",
        '{"sub":"d","role":"driver","exp":' + "9" * 5000 + "}",
        '{"sub":"d","role":"driver","exp":"4102444800"}',
        '{"sub":"d","role":"driver","exp":true}',
        '{"sub":["d"],"role":"driver","exp":4102444800}',
        '{"sub":"d","role":"emperor","exp":4102444800}',
        '{"sub":"d","role":"driver","exp":4102444800.5}',
        '["sub","role","exp"]',
        '{"sub":"d","role":"driver","exp":NaN}',
    ],
)
def test_absurd_token_claims_are_401(api: Api, claims: str) -> None:
    r = api.call("GET", "/v1/me/eligibility", headers={"Authorization": f"Bearer {_token(claims)}"})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthenticated"


def test_metrics_need_an_operator_token(api: Api) -> None:
    assert api.call("GET", "/metrics").status_code == 401
    assert api.call("GET", "/metrics", ("d", Role.DRIVER)).status_code == 403
    assert api.call("GET", "/metrics", ("rev", Role.REVIEWER)).status_code == 403
    ok = api.call("GET", "/metrics", ADMIN)
    assert ok.status_code == 200 and "proctor_http_request_seconds" in ok.text


@pytest.mark.parametrize("path", ["/web/driver.html", "/web/reviewer.html"])
def test_pages_send_security_headers(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text  # no inline script: the CSP would block it


def test_api_answers_send_nosniff_and_a_deny_all_csp(api: Api) -> None:
    r = api.call("GET", "/healthz")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_staff_need_two_people_to_replace_a_reference(api: Api, photos: dict[str, bytes]) -> None:
    who = api.onboard("replaced", photos["obama"])
    url = "/v1/admin/drivers/replaced/reference-replacements"
    jpeg = {"content-type": "image/jpeg"}
    no_reason = api.call("POST", url, ADMIN, content=photos["obama3"], headers=jpeg)
    assert no_reason.status_code == 422
    req = api.call(
        "POST",
        url,
        ADMIN,
        params={"reason": "new ID card photo"},
        content=photos["obama3"],
        headers=jpeg,
    )
    assert req.status_code == 202, req.text
    rid = req.json()["reference_id"]
    decide = f"{url}/{rid}/decision"
    same = api.call("POST", decide, ADMIN, json={"approve": True})
    assert same.status_code == 409 and same.json()["error"]["code"] == "same_human_twice"
    done = api.ok("POST", decide, ADMIN_2, json={"approve": True})
    assert done["status"] == "active" and done["decided_by"] == ADMIN_2[0]
    v = api.ok("GET", "/v1/me/verification", who)
    kinds = [(r["kind"], r["status"]) for r in v["references"]]
    assert kinds == [("authority", "superseded"), ("authority", "active")], kinds
    # the new photo is the reference now: a copy of it is a replay, a new photo passes
    sid, cid = _entry(api, who)
    replay = api.snapshot(who, sid, cid, photos["obama3"]).json()
    assert "reference_replayed" in replay["reasons"], replay
    other = api.snapshot(who, sid, replay["session"]["challenge"]["id"], photos["obama2"]).json()
    # another photo of the man is judged on its face (obama2 against obama3 sits between
    # the zones), not as a replay
    assert "reference_replayed" not in other["reasons"] and not other["flags"], other
    # rate limit: two requests per driver in 30 days
    second = api.call(
        "POST", url, ADMIN, params={"reason": "again"}, content=photos["obama2"], headers=jpeg
    )
    assert second.status_code == 202, second.text
    api.ok(
        "POST", f"{url}/{second.json()['reference_id']}/decision", ADMIN_2, json={"approve": False}
    )
    third = api.call(
        "POST", url, ADMIN, params={"reason": "third"}, content=photos["obama2"], headers=jpeg
    )
    assert third.status_code == 429, third.text
    assert third.json()["error"]["code"] == "replacement_rate_limited"
    assert api.ok("GET", "/v1/audit/verify", ("aud", Role.AUDITOR))["ok"]
