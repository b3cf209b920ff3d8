"""Issue 17, operations: owner-only files, the dev token endpoint guard, per-subject and
per-client rate limits, token claims (app without models: no lifespan is started)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import Role, TokenSigner
from tests.e2e.conftest import SECRET, settings


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sqlite_database_and_its_folder_are_owner_only(tmp_path: Path) -> None:
    from proctor.storage.uow import open_storage

    data = tmp_path / "fresh"
    storage = open_storage(f"sqlite:///{data}/proctor.db", data_dir=data)
    try:
        with storage.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert mode(data) == 0o700
        assert mode(data / "proctor.db") == 0o600
        assert mode(data / "master.key") == 0o600
        assert mode(data / "evidence") == 0o700
        for wal in data.glob("proctor.db-*"):
            assert mode(wal) & 0o077 == 0, wal
    finally:
        storage.engine.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    from proctor.storage.db import make_engine

    db = tmp_path / "old.db"
    db.touch()
    db.chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o600


def test_dev_tokens_refuse_a_public_bind_and_warn_on_loopback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from proctor.serve_guard import DevTokensOnPublicBind, refuse_public_dev_tokens

    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        with pytest.raises(DevTokensOnPublicBind):
            refuse_public_dev_tokens(True, host)
    with caplog.at_level(logging.WARNING, logger="proctor.api"):
        refuse_public_dev_tokens(True, "127.0.0.1")
    assert "DEV TOKEN ENDPOINT IS ON" in caplog.text
    caplog.clear()
    refuse_public_dev_tokens(False, "0.0.0.0")  # off: nothing to refuse
    assert not caplog.text


def test_proctor_serve_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from proctor.cli import app

    monkeypatch.setenv("PROCTOR_DEV_TOKEN_ENDPOINT", "true")
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "refusing to start" in r.output


def test_create_app_refuses_a_public_bind_with_dev_tokens(tmp_path: Path) -> None:
    from api.main import create_app
    from proctor.serve_guard import DevTokensOnPublicBind

    with pytest.raises(DevTokensOnPublicBind):
        create_app(settings(tmp_path, dev_token_endpoint=True, bind_host="0.0.0.0"))


def test_dev_token_route_answers_only_on_a_loopback_server_address(tmp_path: Path) -> None:
    from api.main import create_app

    app = create_app(settings(tmp_path, dev_token_endpoint=True))
    body = {"sub": "x", "role": "admin"}
    # the server address here is "testserver": not loopback, as behind 0.0.0.0
    r = Client(app).post("/v1/dev/tokens", json=body)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


class Client:
    """Requests to the app in process (httpx's ASGI transport: no lifespan, no models),
    each on a thread of its own with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, **kw)

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)


def _app(tmp_path: Path, **kw: Any) -> Client:
    from api.main import create_app

    return Client(create_app(settings(tmp_path, **kw)))


def test_requests_without_a_token_are_limited_per_client(tmp_path: Path) -> None:
    client = _app(tmp_path, client_rate_limit_per_min=1.0, client_rate_limit_burst=2)
    codes = [client.get("/healthz").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = client.get("/healthz")
    assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1


def test_failed_token_checks_take_from_the_client_bucket(tmp_path: Path) -> None:
    client = _app(tmp_path, client_rate_limit_per_min=1.0, client_rate_limit_burst=2)
    bad = {"Authorization": "Bearer garbage.token"}
    codes = [client.get("/metrics", headers=bad).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_staff_are_limited_per_subject(tmp_path: Path) -> None:
    client = _app(tmp_path, staff_rate_limit_per_min=1.0, staff_rate_limit_burst=2)
    signer = TokenSigner(SECRET.encode())

    def get(sub: str) -> int:
        h = {"Authorization": "Bearer " + signer.issue(sub, Role.ADMIN)}
        return client.get("/metrics", headers=h).status_code

    assert [get("admin-a") for _ in range(3)] == [200, 200, 429]
    assert get("admin-b") == 200  # another subject has its own bucket


def test_token_lifetime_beyond_a_year_is_refused() -> None:
    from api.auth import MAX_LIFETIME_S, TokenInvalid

    signer = TokenSigner(SECRET.encode(), ttl_s=MAX_LIFETIME_S + 3600)
    with pytest.raises(TokenInvalid):
        signer.verify(signer.issue("d", Role.DRIVER))
    ok = TokenSigner(SECRET.encode(), ttl_s=3600)
    assert ok.verify(ok.issue("d", Role.DRIVER)).subject == "d"
