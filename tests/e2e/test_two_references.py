"""Two references over real HTTP with the real models (issue 21 item 4).

The driver is the woman of ``liveportrait/d18.mp4`` (PROCTOR_VIDEO_DATA; skips when
absent): the authority photo is an early frame of the clip, 实人认证 is the clip's real
blink, and the session's entry capture is a later frame, nearer in time to the 实人认证
burst than to the authority photo. 实人认证 is decided by the authority photo alone; the
entry capture afterwards by the calibrated two-reference rule (its own limits, named in
the response, the stored attempt and the audit entry); a proxy's face fails under it.
The service's cohort is below its minimum here, so the rule's raw limits decide (the z
path is covered by tests/unit/decision/test_two_references.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import IMAGES, Api, Served, settings
from tests.e2e.test_bursts import (  # noqa: F401 - fixtures, used by name
    WINDOW_START_S,
    clip,
    jpeg,
    multipart,
    window,
)
from tests.e2e.test_capture_decisions import _stored

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]

AUTHORITY_AT_S = 0.5  # as test_real_person_flow (an earlier frame mirrors too closely)
ENTRY_AT_S = 5.0  # after the 实人认证 burst (2.22 s + 2 s)


@pytest.fixture(scope="module")
def two(server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Any]]:
    """Snapshots at entry (bursts off), the server's loaded pipeline, own database. As in
    test_bursts, the authority photo is a frame of the same sitting, so the hash copy test
    keeps exact hashes only (the distance floors stay)."""
    from api.main import create_app
    from proctor.bootstrap import build_container

    s = settings(tmp_path_factory.mktemp("two-refs"), reference_replay_hash_bits=0)
    container = build_container(s, pipeline=server.app.state.container.pipeline)
    srv = Served(create_app(s, container=container))
    api = Api(srv.url)
    yield api, container
    api.client.close()
    srv.stop()
    container.close()


def _verified(api: Api, driver: str, video: tuple[list[Any], float]) -> tuple[Any, Any]:
    frames, fps = video
    who = api.onboard(driver, jpeg(frames[round(AUTHORITY_AT_S * fps)]))
    burst = window(video, WINDOW_START_S["blink"])
    r = api.call("POST", "/v1/me/verification/bursts", who, files=multipart(burst))
    assert r.status_code == 200, r.text
    return who, r.json()


def test_a_verified_driver_is_judged_on_both_references_and_a_proxy_is_not(
    two: tuple[Api, Any],
    clip: tuple[list[Any], float],  # noqa: F811
) -> None:
    api, c = two
    policy = c.policy
    rule = policy.two_references
    assert rule is not None and rule.rule == "mean"
    assert api.call("GET", "/readyz").json()["thresholds"]["two_references"] == rule.thresholds()
    entry_limits = {k: v for k, v in rule.thresholds().items() if "loose" not in k}

    who, verified = _verified(api, "two-refs-driver", clip)
    # 实人认证 itself: the authority photo alone decides (its entry zones)
    assert verified["passed"] is True, verified
    assert verified["threshold"] in policy.by_kind()["entry"].values()
    refs = c.references.templates_for(who[0])
    assert [t.kind.value for t in refs] == ["authority", "live_verified"]
    authority, live = refs[0].template, refs[1].template

    frames, fps = clip
    capture = jpeg(frames[round(ENTRY_AT_S * fps)])
    m_auth = c.pipeline.measure(authority, capture)
    m_live = c.pipeline.measure(live, capture)
    assert m_auth.reference_l2 is not None and m_live.reference_l2 is not None
    assert m_live.reference_l2 < m_auth.reference_l2  # the capture is closer to the live one

    view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid = view["session_id"]
    body = api.snapshot(who, sid, view["challenge"]["id"], capture).json()
    assert body["passed"] and body["verdict"] == "match", body
    assert body["thresholds"] == entry_limits, body  # the rule's limits, not the authority's
    mean = 0.5 * (m_auth.reference_l2 + m_live.reference_l2)
    assert body["distance"] == pytest.approx(mean, abs=1e-6)
    assert body["threshold"] == rule.match_l2
    row, audit = _stored(c, sid, body["attempt_no"])
    assert row.thresholds == body["thresholds"] == audit["thresholds"]
    assert row.policy_id == body["policy_id"] == audit["policy_id"]

    # a proxy sits the entry check of another verified driver: fails under the same rule
    proxy_who, proxied = _verified(api, "two-refs-proxied", clip)
    assert proxied["passed"] is True
    v2 = api.ok("POST", "/v1/sessions", proxy_who, json={"kind": "study"})
    stranger = (IMAGES / "obama.jpg").read_bytes()
    bad = api.snapshot(proxy_who, v2["session_id"], v2["challenge"]["id"], stranger).json()
    assert not bad["passed"] and bad["verdict"] == "no_match", bad
    assert bad["reasons"] == ["face_mismatch"] and "proxy_face" in bad["flags"]
    assert bad["distance"] > rule.no_match_l2 == bad["threshold"]
    assert {k: v for k, v in bad["thresholds"].items() if k != "proxy_margin_l2"} == entry_limits


def test_a_driver_without_a_live_reference_is_judged_on_the_authority_photo(
    two: tuple[Api, Any],
    clip: tuple[list[Any], float],  # noqa: F811
) -> None:
    api, c = two
    frames, fps = clip
    who = api.onboard("two-refs-unverified", jpeg(frames[round(AUTHORITY_AT_S * fps)]))
    view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    capture = jpeg(frames[round(ENTRY_AT_S * fps)])
    body = api.snapshot(who, view["session_id"], view["challenge"]["id"], capture).json()
    assert body["thresholds"] == c.policy.by_kind()["entry"], body
    assert not any(k.startswith("two_reference") for k in body["thresholds"])
