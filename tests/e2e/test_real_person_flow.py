"""Authority photo → 实人认证 → ID-photo fallback, over real HTTP with real models (issue 17).

The genuine driver is the woman of ``liveportrait/d18.mp4`` (PROCTOR_VIDEO_DATA; skips
when absent): the authority photo is one frame, the 实人认证 burst is the clip where
she really blinks. Clip frames are read at test time and never stored in the project.
The app is the bursts app of ``test_bursts`` (own database, the loaded pipeline).
"""

from __future__ import annotations

from typing import Any

import pytest

from api.auth import Role
from tests.e2e.conftest import Api
from tests.e2e.test_bursts import (  # noqa: F401 - fixtures, used by name
    ENROL_AT_S,
    WINDOW_START_S,
    clip,
    jpeg,
    live,
    live_container,
    multipart,
    window,
)

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]
VERIFY = "/v1/me/verification"


def consent(api: Api, who: tuple[str, Role]) -> None:
    text = api.ok("GET", "/v1/consent/text", who)
    api.ok("POST", "/v1/me/consent", who, json={"text_sha256": text["text_sha256"]})


def live_burst(api: Api, who: tuple[str, Role], frames: list[bytes]) -> Any:
    return api.call("POST", f"{VERIFY}/bursts", who, files=multipart(frames))


def test_authority_then_live_verification(
    live: Api,  # noqa: F811
    live_container: Any,  # noqa: F811
    clip: tuple[list[Any], float],  # noqa: F811
) -> None:
    frames, fps = clip
    reference = jpeg(frames[round(ENROL_AT_S * fps)])
    who = ("rpv-live", Role.DRIVER)
    consent(live, who)
    v = live.ok("GET", VERIFY, who)
    assert v["authority_reference"] is False and v["verified"] is False
    # no authority photo yet: nothing to verify against, and the driver cannot upload one
    early = live_burst(live, who, window(clip, WINDOW_START_S["blink"]))
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_authority_reference"
    own = live.call(
        "POST", "/v1/me/enrollment", who, content=reference, headers={"content-type": "image/jpeg"}
    )
    assert own.status_code == 403
    live.set_authority(who[0], reference)  # the operator path (traffic-management sync)
    v = live.ok("GET", VERIFY, who)
    assert v["authority_reference"] is True and v["verified"] is False
    # the authority photo held up to the camera: no blink, and a copy of the reference
    held_up = live_burst(live, who, [reference] * 12).json()
    assert held_up["passed"] is False and held_up["next_step"] == "identity_review", held_up
    assert "reference_replayed" in held_up["reasons"], held_up
    # the live blink matches the authority photo: an additional, dated reference
    ok = live_burst(live, who, window(clip, WINDOW_START_S["blink"])).json()
    assert ok["passed"] is True and ok["next_step"] is None, ok
    got = ok["verification"]
    assert got["verified"] is True and got["kind"] == "live_verified"
    assert got["valid_until"] > got["verified_at"]
    refs = [(r["kind"], r["status"]) for r in got["references"]]
    assert refs == [("authority", "active"), ("live_verified", "active")], refs
    # the authority photo is still the reference sessions compare with
    s = live.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    assert s["challenge"]["kind"] == "entry"
    # the port for comparisons with both references (issue 21): authority first
    both = live_container.references.templates_for(who[0])
    assert [t.kind.value for t in both] == ["authority", "live_verified"]
    assert both[0].template.model_id == both[1].template.model_id


def test_failed_live_verification_falls_back_to_a_reviewed_id_photo(
    live: Api,  # noqa: F811
    photos: dict[str, bytes],
) -> None:
    who = ("rpv-fallback", Role.DRIVER)
    consent(live, who)
    live.set_authority(who[0], photos["obama"])
    # a still photo of him (no blink): 实人认证 fails, the ID-photo path is next
    failed = live_burst(live, who, [photos["obama2"]] * 12)
    assert failed.status_code == 200, failed.text
    body = failed.json()
    assert body["passed"] is False and body["next_step"] == "identity_review", body
    assert body["verification"]["verified"] is False
    # a photo of the driver holding the ID card, for a human
    m = live.call(
        "POST",
        "/v1/me/identity-review",
        who,
        content=photos["obama3"],
        headers={"content-type": "image/jpeg"},
    )
    assert m.status_code == 202, m.text
    review_id = m.json()["review_id"]
    rev = ("rev-rpv", Role.REVIEWER)
    for _ in range(20):
        if live.ok("POST", "/v1/review/claim", rev)["case_id"] == review_id:
            break
    else:
        raise AssertionError("the ID-photo review never reached the reviewer")
    case = live.ok("GET", f"/v1/review/manual/{review_id}", rev)
    assert case["kind"] == "manual_id" and case["evidence_ids"]
    assert not live.ok("GET", VERIFY, who)["verified"]  # not before the decision
    live.ok(
        "POST",
        f"/v1/review/manual/{review_id}/decision",
        rev,
        json={"approve": True, "reason": "face matches the ID card"},
    )
    v = live.ok("GET", VERIFY, who)
    assert v["verified"] is True and v["kind"] == "id_photo_approved", v
    refs = [(r["kind"], r["status"]) for r in v["references"]]
    assert refs == [("authority", "active"), ("id_photo_approved", "active")], refs
    assert live.ok("GET", "/v1/audit/verify", ("aud", Role.AUDITOR))["ok"]


def test_demo_seed_uses_the_authority_path(
    live_container: Any,  # noqa: F811
    photos: dict[str, bytes],
) -> None:
    from proctor.bootstrap import DEMO_DRIVER, seed_demo

    for _ in range(2):  # a restart seeds again: no second reference, no error
        seed_demo(live_container, photos["obama"])
    v = live_container.references.verification(DEMO_DRIVER)
    assert v.authority_reference and not v.verified
    assert [(k, s) for k, s, _ in v.references] == [("authority", "active")]
