"""Limits over real HTTP: per-driver 429 and CPU-pool 503, both with Retry-After.

A second app shares the first one's container (models and database) with tiny
limits: one matching worker, no queue, a burst of three requests per driver.
"""

from __future__ import annotations

import concurrent.futures
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, Served, settings
from tests.redis_probe import REDIS_URL, needs_redis

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def tight(server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from api.main import create_app

    tmp: Path = tmp_path_factory.mktemp("tight")
    app = create_app(
        settings(tmp, cpu_workers=1, cpu_queue=0, rate_limit_per_min=30.0, rate_limit_burst=3),
        container=server.app.state.container,
    )
    srv = Served(app)
    api = Api(srv.url)
    yield api
    api.client.close()
    srv.stop()


def test_rate_limit_is_429_with_retry_after(tight: Api) -> None:
    who = ("burst-driver", Role.DRIVER)
    codes = [tight.call("GET", "/v1/me/eligibility", who).status_code for _ in range(3)]
    r = tight.call("POST", "/v1/sessions/x/heartbeat", who)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    assert 429 not in codes


@needs_redis
def test_replicas_share_the_rate_limit_through_redis(
    server: Served, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two replicas (two apps, one database) with PROCTOR_RATE_LIMIT_REDIS_URL: a driver's
    burst of 3 is spent across both, and the next request on either is 429."""
    from api.main import create_app

    prefix = f"e2e:{secrets.token_hex(6)}:"
    replicas = []
    for name in ("r1", "r2"):
        app = create_app(
            settings(
                tmp_path_factory.mktemp(name),
                rate_limit_per_min=30.0,
                rate_limit_burst=3,
                rate_limit_redis_url=REDIS_URL,
                rate_limit_redis_prefix=prefix,
            ),
            container=server.app.state.container,
        )
        replicas.append(Served(app))
    apis = [Api(r.url) for r in replicas]
    try:
        who = ("replica-driver", Role.DRIVER)
        codes = [apis[i % 2].call("GET", "/v1/me/eligibility", who).status_code for i in range(3)]
        assert 429 not in codes
        for a in apis:
            r = a.call("GET", "/v1/me/eligibility", who)
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    finally:
        for a in apis:
            a.client.close()
        for r in replicas:
            r.stop()


def test_full_cpu_pool_sheds_503_with_retry_after(
    api: Api, tight: Api, photos: dict[str, bytes]
) -> None:
    drivers = [api.onboard(f"shed-{i}", photos["obama"]) for i in range(4)]
    opened = [api.ok("POST", "/v1/sessions", d, json={"kind": "study"}) for d in drivers]

    def submit(i: int) -> int:
        v = opened[i]
        r = tight.snapshot(drivers[i], v["session_id"], v["challenge"]["id"], photos["obama2"])
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "overloaded"
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(submit, range(4)))
    from tests.security.artifacts import write_table

    write_table("shed_503.md", "LD1 shedding: 4 concurrent snapshots, 1 worker, no queue",
                ["status", "count"], [[c, codes.count(c)] for c in sorted(set(codes))])  # fmt: skip
    assert 503 in codes and 200 in codes, codes
    assert set(codes) <= {200, 503}  # shed with 503, never another 5xx
    # a shed request consumed nothing: the same challenge can be answered afterwards
    for i, code in enumerate(codes):
        if code == 503:
            v = opened[i]
            r = api.snapshot(drivers[i], v["session_id"], v["challenge"]["id"], photos["obama2"])
            assert r.status_code == 200, r.text


def test_fourth_attempt_after_termination_is_refused(api: Api, photos: dict[str, bytes]) -> None:
    """L1 over HTTP: three failed matches end the session; a 4th upload is refused (on the
    answered challenge and on an invented one), records nothing and is never 5xx."""
    from tests.security.artifacts import write_table

    who = api.onboard("fourth-attempt", photos["obama"])
    v = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid, challenge = v["session_id"], v["challenge"]
    assert api.snapshot(who, sid, challenge["id"], photos["obama2"]).json()["passed"]
    challenge = api.wait_challenge(who, sid)
    for _ in range(3):
        last = challenge["id"]
        r = api.snapshot(who, sid, last, photos["biden"])
        assert r.status_code == 200 and not r.json()["passed"], r.text
        challenge = r.json()["session"]["challenge"]
    assert r.json()["session"]["state"] == "terminated_invalid" and challenge is None
    rows: list[list[object]] = []
    for label, cid in (("last answered challenge", last), ("made-up id", "no-such-challenge")):
        r = api.snapshot(who, sid, cid, photos["obama2"])
        rows.append(["http", label, r.status_code, r.json()["error"]["code"]])
    after = api.ok("POST", f"/v1/sessions/{sid}/heartbeat", who)
    assert after["state"] == "terminated_invalid" and after["attempts"] == 4, after
    write_table("attempt_limit_http.md", "L1 over HTTP: a 4th upload after termination",
                ["level", "challenge", "status", "code"], rows)  # fmt: skip
    assert rows[0][2] == 409 and rows[0][3] in {"challenge_reused", "session_closed"}, rows
    assert rows[1][2] == 404 and rows[1][3] == "challenge_unknown", rows
