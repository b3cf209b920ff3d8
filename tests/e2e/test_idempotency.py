"""Idempotency-Key over real HTTP (SECURITY.md D1): required, replayed, never two side effects."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from tests.e2e.conftest import Api

pytestmark = [pytest.mark.model, pytest.mark.db]


def _open(api: Api, photos: dict[str, bytes], name: str) -> tuple[Any, dict[str, Any]]:
    who = api.onboard(name, photos["obama"])
    return who, api.ok("POST", "/v1/sessions", who, json={"kind": "study"})


def _post(api: Api, who: Any, view: dict[str, Any], body: bytes, key: str | None) -> Any:
    headers = {"content-type": "image/jpeg"} | ({"Idempotency-Key": key} if key else {})
    return api.call(
        "POST",
        f"/v1/sessions/{view['session_id']}/snapshots",
        who,
        idempotency_key=False,
        params={"challenge_id": view["challenge"]["id"]},
        content=body,
        headers=headers,
    )


def test_missing_key_is_400_and_changes_nothing(api: Api, photos: dict[str, bytes]) -> None:
    who, view = _open(api, photos, "idem-missing")
    r = _post(api, who, view, photos["obama2"], None)
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
    hb = api.ok("POST", f"/v1/sessions/{view['session_id']}/heartbeat", who)
    assert hb["attempts"] == 0 and hb["challenge"]["id"] == view["challenge"]["id"]


def test_same_key_replays_and_a_different_body_is_422(api: Api, photos: dict[str, bytes]) -> None:
    who, view = _open(api, photos, "idem-replay")
    key = view["challenge"]["id"]
    answers = [_post(api, who, view, photos["obama2"], key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]
    other = _post(api, who, view, photos["obama3"], key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    hb = api.ok("POST", f"/v1/sessions/{view['session_id']}/heartbeat", who)
    assert hb["attempts"] == 1  # exactly one side effect


def test_concurrent_duplicates_make_one_attempt(api: Api, photos: dict[str, bytes]) -> None:
    who, view = _open(api, photos, "idem-concurrent")
    key = view["challenge"]["id"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: _post(api, who, view, photos["obama2"], key).status_code,
                              range(4)))  # fmt: skip
    assert codes.count(200) >= 1 and set(codes) <= {200, 409}, codes
    hb = api.ok("POST", f"/v1/sessions/{view['session_id']}/heartbeat", who)
    assert hb["attempts"] == 1
