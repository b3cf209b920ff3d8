"""An uncertain entry check over real HTTP (issue 9): no strike, an ID-photo review that
carries the entry capture, and the reviewer's decision resumes the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, Served
from tests.zone_pairs import uncertain_pair

pytestmark = [pytest.mark.model, pytest.mark.db]


def _claim(api: Api, reviewer: tuple[str, Role], review_id: str) -> None:
    """Claim until our review is assigned to us (other tests may leave older cases)."""
    for _ in range(50):
        got = api.ok("POST", "/v1/review/claim", reviewer)["case_id"]
        if got == review_id or got is None:
            break
    assert got == review_id


def test_uncertain_entry_to_id_review_and_back_over_http(
    api: Api, server: Served, face_data: Path
) -> None:
    reference, entry, id_photo = uncertain_pair(face_data, server.app.state.container.pipeline)
    who = api.onboard("zone-driver", reference)
    view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid, cid = view["session_id"], view["challenge"]["id"]
    r = api.snapshot(who, sid, cid, entry)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["passed"] and body["reasons"] == ["identity_uncertain"]
    assert body["session"]["state"] == "identity_review"
    assert body["session"]["consecutive_failures"] == 0 and body["session"]["challenge"] is None
    # nothing moves while a human checks: completing is refused with its own code
    done = api.call("POST", f"/v1/sessions/{sid}/complete", who)
    assert done.status_code == 409
    assert done.json()["error"]["code"] == "identity_review_pending"

    # the driver photographs themself holding the ID card
    m = api.call(
        "POST",
        "/v1/me/identity-review",
        who,
        params={"session_id": sid},
        content=id_photo,
        headers={"content-type": "image/jpeg"},
    )
    assert m.status_code == 202, m.text
    review_id = m.json()["review_id"]
    assert m.json()["subject_id"] == sid
    # someone else's session cannot be named
    other = api.onboard("zone-other", reference)
    foreign = api.call(
        "POST",
        "/v1/me/identity-review",
        other,
        params={"session_id": sid},
        content=id_photo,
        headers={"content-type": "image/jpeg"},
    )
    assert foreign.status_code == 404

    reviewer = ("zone-reviewer", Role.REVIEWER)
    _claim(api, reviewer, review_id)
    case = api.ok("GET", f"/v1/review/manual/{review_id}", reviewer)
    assert case["kind"] == "manual_id" and case["reference_ids"]
    assert case["session_state"] == "identity_review"  # the driver is still waiting
    assert case["session_termination_reason"] == ""
    assert len(case["evidence_ids"]) >= 2  # the ID-photo crop and the entry capture
    for eid in case["reference_ids"] + case["evidence_ids"]:
        crop = api.call("GET", f"/v1/review/cases/{review_id}/evidence/{eid}", reviewer)
        assert crop.status_code == 200 and crop.content[:3] == b"\xff\xd8\xff"
    decided = api.call(
        "POST",
        f"/v1/review/manual/{review_id}/decision",
        reviewer,
        json={"approve": True, "reason": "证件与登记照片一致"},
    )
    assert decided.status_code == 200, decided.text
    hb = api.ok("POST", f"/v1/sessions/{sid}/heartbeat", who)
    assert hb["state"] == "active" and hb["consecutive_failures"] == 0
    assert api.ok("POST", f"/v1/sessions/{sid}/complete", who)["state"] == "completed"
