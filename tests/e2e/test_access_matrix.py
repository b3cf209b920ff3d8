"""Access control generated from the OpenAPI document (SECURITY.md Z1-Z3).

Every operation × every role × someone else's object is denied (401/403/404),
and every non-ops operation without a token is 401. New routes are covered
automatically. Two (route, role) pairs act on any object by design and are
listed in ``GLOBAL_AUTHORITY``: adjudicators decide any reviewed flag or
appeal, and admins sync any driver's traffic record (no biometrics).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, World

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]

OPS = {"/healthz", "/readyz", "/openapi.json", "/docs"}  # /metrics needs a token (issue 17)
GLOBAL_AUTHORITY = {
    ("/v1/adjudication/flags/{flag_id}/decision", Role.ADJUDICATOR),
    ("/v1/adjudication/appeals/{appeal_id}/decision", Role.ADJUDICATOR),
    ("/v1/admin/driver-records/{driver_id}", Role.ADMIN),
    ("/v1/admin/notifications/{outbox_id}/requeue", Role.ADMIN),
    # issue 17: operators set and (two of them) replace any driver's authority photo;
    # adjudicators reopen any decided appeal for new evidence
    ("/v1/admin/drivers/{driver_id}/enrollment", Role.ADMIN),
    ("/v1/admin/drivers/{driver_id}/reference-replacements", Role.ADMIN),
    ("/v1/admin/drivers/{driver_id}/reference-replacements/{request_id}/decision", Role.ADMIN),
    ("/v1/adjudication/blacklist/{blacklist_id}/reopen", Role.ADJUDICATOR),
}
BODIES: dict[str, Any] = {
    "ReviewIn": {"recommendation": "dismiss", "reason": "matrix"},
    "DecisionIn": {"uphold": False},
    "ManualDecisionIn": {"approve": False},
    "AppealDecisionIn": {"uphold": False},
    "StatementIn": {"statement": "x"},
    "AnswerIn": {"choice": "A"},
    "DriverRecordIn": {"first_licence_date": "2015-03-01"},
    "ReplacementDecisionIn": {"approve": False},
    "ReopenIn": {"reason": "matrix"},
}


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    doc = api.call("GET", "/openapi.json").json()
    return [
        (path, method.upper(), op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path not in OPS
    ]


def request_kwargs(path: str, op: dict[str, Any], world: World, photo: bytes) -> dict[str, Any]:
    url = re.sub(r"\{(\w+)\}", lambda m: world.ids[m.group(1)], path)
    kw: dict[str, Any] = {"params": {}}
    for p in op.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            kw["params"][p["name"]] = world.ids[p["name"]]
    content = op.get("requestBody", {}).get("content", {})
    if "image/jpeg" in content:
        kw["content"], kw["headers"] = photo, {"content-type": "image/jpeg"}
    elif "application/json" in content:
        ref = content["application/json"]["schema"].get("$ref", "")
        kw["json"] = BODIES.get(ref.rsplit("/", 1)[-1], {})
    return {"url": url, **kw}


def test_every_route_role_and_foreign_object_is_denied(
    api: Api, world: World, photos: dict[str, bytes]
) -> None:
    ops = [o for o in operations(api) if "{" in o[0]]
    assert len(ops) >= 15
    failures = []
    for path, method, op in ops:
        kw = request_kwargs(path, op, world, photos["obama"])
        url = kw.pop("url")
        for role in Role:
            if (path, role) in GLOBAL_AUTHORITY:
                continue
            who = (f"intruder-{role.value}", role)
            r = api.call(method, url, who, **kw)
            if r.status_code not in (401, 403, 404):
                failures.append((method, path, role.value, r.status_code, r.text[:120]))
            elif r.status_code == 404:
                assert r.json()["error"]["code"] in (
                    "not_found",
                    "not_owner",
                    "challenge_unknown",
                    "evidence_missing",
                )
    assert not failures, failures


def test_every_route_needs_a_token(api: Api, world: World, photos: dict[str, bytes]) -> None:
    failures = []
    for path, method, op in operations(api):
        kw = request_kwargs(path, op, world, photos["obama"])
        r = api.call(method, kw.pop("url"), None, **kw)
        if r.status_code != 401 or r.json()["error"]["code"] != "unauthenticated":
            failures.append((method, path, r.status_code))
    assert not failures, failures


def test_forged_and_expired_tokens_are_refused(api: Api) -> None:
    from api.auth import TokenSigner

    forged = TokenSigner(b"not-the-server-secret-000").issue("genuine", Role.DRIVER)
    expired = TokenSigner(b"e2e-secret-0123456789abcdef").issue("g", Role.DRIVER, now=0)
    for tok in (forged, expired, "garbage"):
        r = api.call("GET", "/v1/me/eligibility", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 401


def test_admin_sees_no_biometrics(api: Api, world: World) -> None:
    admin = ("ops-admin", Role.ADMIN)
    url = f"/v1/review/cases/{world.ids['case_id']}/evidence/{world.ids['evidence_id']}"
    assert api.call("GET", url, admin).status_code == 403
    assert api.call("GET", f"/v1/review/cases/{world.ids['flag_id']}", admin).status_code == 403
