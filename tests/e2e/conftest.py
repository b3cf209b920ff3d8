"""E2E fixtures: the real app served by uvicorn on a free port (real models, SQLite in tmp)."""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import Role, TokenSigner

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images" / "downloaded"
SECRET = "e2e-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", ws="none", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        self.app = app

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def settings(tmp: Path, **overrides: Any) -> Any:
    from proctor.config import ProctorSettings

    base: dict[str, Any] = {
        "data_dir": tmp,
        "token_secret": SECRET,
        "capture_study_block_s": 6.0,
        "capture_study_min_gap_s": 1.0,
        "capture_study_horizon_s": 60.0,
        "capture_challenge_ttl_s": 60.0,
        "rate_limit_per_min": 60000.0,
        "rate_limit_burst": 10000,
        "cpu_workers": 2,
        "cpu_queue": 16,
        # These flows answer entry with one snapshot (the browser's fake camera plays still
        # photos, which cannot blink). Bursts, ON by default, have their own tests with
        # real clips: tests/e2e/test_bursts.py and tests/browser/test_burst_page.py.
        "liveness_bursts": False,
        # These flows test the face checks alone; the application lifecycle that sessions
        # belong to (ON by default) has its own tests: tests/e2e/test_application_loop.py.
        "application_gate": False,
    }
    base.update(overrides)
    return ProctorSettings(**base)


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    names = ("obama", "obama2", "obama3", "biden")
    missing = [n for n in names if not (IMAGES / f"{n}.jpg").exists()]
    if missing:
        pytest.skip(f"fixture portraits missing: {missing} (python -m proctor.fixtures_setup)")
    out = {n: (IMAGES / f"{n}.jpg").read_bytes() for n in names}
    from PIL import Image, ImageOps

    for n in ("obama", "obama2", "obama3"):
        buf = io.BytesIO()
        ImageOps.mirror(Image.open(io.BytesIO(out[n])).convert("RGB")).save(buf, "JPEG")
        out[n + "_m"] = buf.getvalue()
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, bytes]) -> Iterator[Served]:
    from api.main import create_app

    srv = Served(create_app(settings(tmp_path_factory.mktemp("srv"))))
    yield srv
    srv.stop()


def token(sub: str, role: Role) -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenSigner(SECRET.encode()).issue(sub, role)}


@dataclass
class Api:
    url: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=120.0)

    def call(
        self,
        method: str,
        path: str,
        who: tuple[str, Role] | None = None,
        *,
        idempotency_key: bool = True,
        **kw: Any,
    ) -> httpx.Response:
        """A request as ``who``. POSTs carry a fresh ``Idempotency-Key`` unless the caller
        gives one or asks for none (snapshot submits and decisions require it)."""
        headers = dict(kw.pop("headers", {}) or {})
        if who is not None:
            headers.update(token(*who))
        if method == "POST" and idempotency_key:
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        return self.client.request(method, path, headers=headers, **kw)

    def ok(self, method: str, path: str, who: tuple[str, Role], **kw: Any) -> Any:
        r = self.call(method, path, who, **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return (
            r.json()
            if r.content and r.headers.get("content-type", "").startswith("application/json")
            else r
        )

    def snapshot(self, who: tuple[str, Role], sid: str, cid: str, img: bytes, **kw: Any) -> Any:
        headers = {"content-type": "image/jpeg", **kw.pop("headers", {})}
        return self.call(
            "POST",
            f"/v1/sessions/{sid}/snapshots",
            who,
            params={"challenge_id": cid},
            content=img,
            headers=headers,
        )

    def onboard(self, driver: str, photo: bytes, points: int = 6) -> tuple[str, Role]:
        who = (driver, Role.DRIVER)
        admin = ("ops-admin", Role.ADMIN)
        r = self.call(
            "PUT",
            f"/v1/admin/driver-records/{driver}",
            admin,
            json={"first_licence_date": "2015-03-01", "cycle_points": points},
        )
        assert r.status_code == 204, r.text
        text = self.ok("GET", "/v1/consent/text", who)
        self.ok("POST", "/v1/me/consent", who, json={"text_sha256": text["text_sha256"]})
        self.set_authority(driver, photo)
        return who

    def set_authority(self, driver: str, photo: bytes) -> None:
        """The authority's real-name photo, through the operator path (issue 17)."""
        r = self.call(
            "PUT",
            f"/v1/admin/drivers/{driver}/enrollment",
            ("ops-admin", Role.ADMIN),
            content=photo,
            headers={"content-type": "image/jpeg"},
        )
        assert r.status_code == 201, r.text

    def wait_challenge(self, who: tuple[str, Role], sid: str, timeout_s: float = 20) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            v = self.ok("POST", f"/v1/sessions/{sid}/heartbeat", who)
            if v["challenge"] is not None:
                return v["challenge"]
            time.sleep(0.3)
        raise AssertionError("no capture challenge came")


@pytest.fixture(scope="session")
def api(server: Served) -> Iterator[Api]:
    a = Api(server.url)
    yield a
    a.client.close()


@dataclass
class World:
    """Objects owned by driver 'other-driver' and reviewer 'rev-b', for access-control tests."""

    ids: dict[str, str]


def build_proxy_case(api: Api, photos: dict[str, bytes], driver: str) -> dict[str, str]:
    """A driver whose study session is taken over by a proxy: terminated with a flag."""
    who = api.onboard(driver, photos["obama"])
    v = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid = v["session_id"]
    first = api.snapshot(who, sid, v["challenge"]["id"], photos["obama2"])
    assert first.status_code == 200 and first.json()["passed"], first.text
    ch = api.wait_challenge(who, sid)
    results = []
    for _ in range(3):
        r = api.snapshot(who, sid, ch["id"], photos["biden"])
        assert r.status_code == 200, r.text
        results.append(r.json())
        ch = results[-1]["session"]["challenge"] or {"id": "none"}
    assert not any(x["passed"] for x in results)
    assert results[-1]["session"]["state"] == "terminated_invalid"
    assert any("proxy_face" in x["flags"] for x in results)
    return {
        "session_id": sid,
        "challenge_id": results[-1]["session"]["session_id"],
        "driver": driver,
    }


@pytest.fixture(scope="session")
def world(api: Api, photos: dict[str, bytes]) -> World:
    case = build_proxy_case(api, photos, "other-driver")
    other = ("other-driver", Role.DRIVER)
    app = api.ok("POST", "/v1/me/applications", other)
    manual = api.ok(
        "POST",
        f"/v1/sessions/{case['session_id']}/review-request",
        other,
        json={"statement": "it was me"},
    )
    rev_b = ("rev-b", Role.REVIEWER)
    flag_id = api.ok("POST", "/v1/review/claim", rev_b)["case_id"]
    manual_id = api.ok("POST", "/v1/review/claim", rev_b)["case_id"]
    assert manual_id == manual["review_id"]
    case_view = api.ok("GET", f"/v1/review/cases/{flag_id}", rev_b)
    job = api.ok("POST", "/v1/review/jobs", rev_b, json={"case_ids": [flag_id]})
    api.ok(
        "POST",
        f"/v1/review/cases/{flag_id}/review",
        rev_b,
        json={"recommendation": "uphold", "reason": "clearly another person"},
    )
    decision = api.ok(
        "POST",
        f"/v1/adjudication/flags/{flag_id}/decision",
        ("adj-b", Role.ADJUDICATOR),
        json={"uphold": True, "note": "proxy"},
    )
    appeal = api.ok(
        "POST",
        f"/v1/me/blacklist/{decision['blacklist_id']}/appeals",
        other,
        json={"statement": "please"},
    )
    return World(
        {
            "session_id": case["session_id"],
            "application_id": app["application_id"],
            "review_id": manual_id,
            "flag_id": flag_id,
            "case_id": flag_id,
            "evidence_id": case_view["evidence_ids"][0],
            "blacklist_id": decision["blacklist_id"],
            "appeal_id": appeal["appeal_id"],
            "job_id": job["job_id"],
            "driver_id": "other-driver",
            "challenge_id": "0" * 32,
            "index": "0",
            "outbox_id": "1",
            "request_id": "0" * 32,
            "reason": "matrix",
        }
    )
