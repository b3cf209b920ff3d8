"""The OpenAPI snapshot and the error envelope (404/405/413/415/422), over real HTTP.

Regenerate the snapshot with ``PROCTOR_UPDATE_SNAPSHOTS=1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth import Role
from tests.e2e.conftest import Api

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]
SNAPSHOT = Path(__file__).resolve().parents[2] / "fixtures" / "api" / "openapi.snapshot.json"


def test_openapi_matches_the_snapshot(api: Api) -> None:
    doc = api.call("GET", "/openapi.json").json()
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("PROCTOR_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, "utf-8")
    assert text == SNAPSHOT.read_text("utf-8"), "API contract changed: review, then regenerate"


def envelope_ok(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error", "request_id"}
    err = body["error"]
    assert isinstance(err, dict) and set(err) == {"code", "message", "details"}
    assert err["code"] == code


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nope", 404, "not_found"),  # unknown route
        ("DELETE", "/healthz", 405, "method_not_allowed"),
    ],
)
def test_envelope_on_routing_errors(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    r = api.call(method, path)
    assert r.status_code == status
    envelope_ok(r.json(), code)
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_envelope_on_validation_error(api: Api) -> None:
    r = api.call("POST", "/v1/me/consent", ("genuine", Role.DRIVER), json={"text_sha256": 3})
    assert r.status_code == 422
    envelope_ok(r.json(), "validation_error")


def test_413_from_content_length_before_the_body(api: Api) -> None:
    big = b"\xff\xd8" + b"0" * (3 * 1024 * 1024)
    r = api.call(
        "POST",
        "/v1/sessions/x/snapshots",
        ("genuine", Role.DRIVER),
        params={"challenge_id": "c"},
        content=big,
        headers={"content-type": "image/jpeg"},
    )
    assert r.status_code == 413
    envelope_ok(r.json(), "payload_too_large")


def test_413_on_a_chunked_body_without_length(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"0" * 65536

    r = api.call(
        "POST",
        "/v1/sessions/x/snapshots",
        ("genuine", Role.DRIVER),
        params={"challenge_id": "c"},
        content=chunks(),
        headers={"content-type": "image/jpeg"},
    )
    assert r.status_code == 413
    envelope_ok(r.json(), "payload_too_large")


def test_415_on_a_wrong_type(api: Api) -> None:
    r = api.call(
        "POST",
        "/v1/sessions/x/snapshots",
        ("genuine", Role.DRIVER),
        params={"challenge_id": "c"},
        content=b"%PDF-1.7",
        headers={"content-type": "application/pdf"},
    )
    assert r.status_code == 415
    envelope_ok(r.json(), "unsupported_media_type")
