"""SECURITY.md U1/U2 over real HTTP: oversized and hostile bodies on the upload routes.

* U1: a chunked body with no ``Content-Length`` over the snapshot cap is cut off once the
  cap is passed: the application pulls at most the cap plus one transport chunk, then
  answers 413 ``payload_too_large``.
* U2: multipart floods (10,000 file parts, 10,000 field parts, a 1 MB part header,
  1,000 headers in one part, a 1.5 MB text field, a 10 KB boundary, a 10 MB preamble)
  on the multipart upload routes (snapshot and ``/bursts``) are refused with a 4xx in
  the one error envelope.

Times and the server's peak resident-memory growth per request (the server runs in this
process; ``/proc/self/clear_refs`` resets the high-water mark before each request) go to
var/artifacts/security/upload_flood.md. The bound asserted is generous (5 s, 100 MB);
the table has the real figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.auth import Role
from api.limits import Message, Receive, Scope, Send
from tests.e2e.conftest import Api, Served, settings, token
from tests.security.artifacts import write_table

pytestmark = [pytest.mark.model, pytest.mark.db]

MB = 1024 * 1024
STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Flood:
    name: str
    content_type: str
    body: bytes


def _part(
    boundary: bytes, name: str, filename: str | None, data: bytes, extra: bytes = b""
) -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = b"Content-Disposition: " + disp.encode() + b"\r\n"
    if filename:
        head += b"Content-Type: image/jpeg\r\n"
    return b"--" + boundary + b"\r\n" + head + extra + b"\r\n" + data + b"\r\n"


def _floods() -> list[Flood]:
    b = b"flood-boundary-7d1c"
    ctype = "multipart/form-data; boundary=" + b.decode()
    end = b"--" + b + b"--\r\n"
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 60
    files = b"".join(_part(b, "image", f"f{i}.jpg", b"x") for i in range(10_000)) + end
    frames = b"".join(_part(b, "frames", f"f{i}.jpg", jpeg) for i in range(10_000)) + end
    fields = b"".join(_part(b, f"k{i}", None, b"v") for i in range(10_000)) + end
    huge_header = _part(b, "image", "a.jpg", jpeg, b"X-Pad: " + b"a" * MB + b"\r\n") + end
    many_headers = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    headers = _part(b, "image", "a.jpg", jpeg, many_headers) + end
    long_b = b"B" * 10_000
    long_boundary = _part(long_b, "image", "a.jpg", jpeg) + b"--" + long_b + b"--\r\n"
    text_field = _part(b, "note", None, b"t" * (3 * MB // 2)) + end
    preamble = b"p" * (10 * MB) + b"\r\n" + _part(b, "image", "a.jpg", jpeg) + end
    return [
        Flood("10,000 file parts (~1.1 MB)", ctype, files),
        Flood("10,000 frame parts, 64 B JPEG heads (~1.7 MB)", ctype, frames),
        Flood("10,000 field parts (~0.9 MB)", ctype, fields),
        Flood("one part with a 1 MB header", ctype, huge_header),
        Flood("one 1.5 MB text field (no filename)", ctype, text_field),
        Flood("one part with 1,000 headers", ctype, headers),
        Flood("10 KB boundary", "multipart/form-data; boundary=" + long_b.decode(), long_boundary),
        Flood("10 MB preamble", ctype, preamble),
    ]


def _envelope(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error", "request_id"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["request_id"] == r.headers["x-request-id"]
    return str(body["error"]["code"])


def test_multipart_floods_are_refused_fast_in_the_envelope(
    api: Api, server: Served, photos: dict[str, bytes]
) -> None:
    who = api.onboard("flood-driver", photos["obama"])
    view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid, cid = view["session_id"], view["challenge"]["id"]
    routes = {"snapshot": f"/v1/sessions/{sid}/snapshots", "bursts": f"/v1/sessions/{sid}/bursts"}
    caps = server.app.state.container.settings
    floods = _floods()
    peak_ok = _reset_peak()
    rows: list[list[object]] = []
    for flood in floods:
        for route, path in routes.items():
            cap = caps.snapshot_max_bytes if route == "snapshot" else caps.burst_max_bytes
            rss0 = _status_kb("VmRSS")
            _reset_peak()
            t = time.perf_counter()
            r = api.call(
                "POST",
                path,
                who,
                params={"challenge_id": cid},
                content=flood.body,
                headers={"content-type": flood.content_type},
            )
            elapsed = time.perf_counter() - t
            growth_mb = (_status_kb("VmHWM") - rss0) / 1024 if peak_ok else float("nan")
            code = _envelope(r)
            rows.append([route, flood.name, len(flood.body), r.status_code, code,
                         f"{elapsed * 1000:.0f}", f"{growth_mb:.1f}"])  # fmt: skip
            assert 400 <= r.status_code < 500, (route, flood.name, r.status_code, r.text[:300])
            if len(flood.body) > cap:
                assert code == "payload_too_large", (route, flood.name)
            assert elapsed < 5.0, (route, flood.name, elapsed)  # the figure is in the table
            assert growth_mb < 100, (route, flood.name, growth_mb)
    write_table(
        "upload_flood.md",
        "U2: multipart floods on the upload routes (4xx in the envelope)",
        ["route", "body", "bytes", "status", "code", "ms", "peak RSS growth MB"],
        rows,
    )
    # nothing was spent: the challenge is still open for a real capture
    hb = api.ok("POST", f"/v1/sessions/{sid}/heartbeat", who)
    assert hb["attempts"] == 0 and hb["challenge"]["id"] == cid


class CountingApp:
    """Pure ASGI wrapper: counts the request-body bytes the application pulled."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.state = getattr(app, "state", None)
        self.pulled = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.pulled += len(message.get("body", b""))
            return message

        await self.app(scope, counted if scope["type"] == "http" else receive, send)  # type: ignore[operator]


def test_chunked_body_over_the_cap_is_cut_off_early(
    server: Served, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from api.main import create_app

    app = create_app(settings(tmp_path_factory.mktemp("u1")), container=server.app.state.container)
    counting = CountingApp(app)
    srv = Served(counting)
    cap = server.app.state.container.settings.snapshot_max_bytes
    chunk, chunks = 64 * 1024, 512  # 32 MiB offered, 16x the cap
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(chunks):
            sent += chunk
            yield b"\xff" * chunk

    peak_ok = _reset_peak()
    rss0 = _status_kb("VmRSS")
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            t = time.perf_counter()
            r = client.post(
                "/v1/sessions/x/snapshots",
                params={"challenge_id": "c"},
                content=body(),
                headers={
                    "content-type": "image/jpeg",
                    "Idempotency-Key": "u1-chunked",
                    **token("chunked-driver", Role.DRIVER),
                },
            )
            elapsed = time.perf_counter() - t
        growth_mb = (_status_kb("VmHWM") - rss0) / 1024 if peak_ok else float("nan")
    finally:
        srv.stop()
    assert "content-length" not in r.request.headers
    assert r.status_code == 413, r.text[:300]
    assert _envelope(r) == "payload_too_large"
    # the application stopped pulling once it was past the cap (one transport read more)
    assert cap < counting.pulled <= cap + MB, counting.pulled
    assert growth_mb < 100, growth_mb
    ms = f"{elapsed * 1000:.0f}"
    write_table(
        "upload_chunked.md",
        "U1: chunked snapshot body with no Content-Length, 32 MiB offered",
        ["cap bytes", "offered", "client wrote", "app pulled", "status", "ms", "peak RSS +MB"],
        [[cap, chunk * chunks, sent, counting.pulled, r.status_code, ms, f"{growth_mb:.1f}"]],
    )
