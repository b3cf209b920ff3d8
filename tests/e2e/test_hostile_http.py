"""Hostile images over real HTTP (SECURITY.md I1-I6 through the snapshot route).

Every unusable upload to ``POST /v1/sessions/{id}/snapshots`` is refused with a 4xx and its
stable code before the challenge is claimed: the challenge stays open and no attempt is
spent, so the driver can still answer it with a real capture. Times and the server
process's peak-RSS growth go to var/artifacts/security/http_hostile.md.
"""

from __future__ import annotations

import resource
import time

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, Served
from tests.security.artifacts import write_table
from tests.security.corpus import ACCEPTED, Sample, build, with_metadata

pytestmark = [pytest.mark.model, pytest.mark.db]

PER_DRIVER = 8  # stays inside the per-driver rate limit's burst


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the server runs here


def _refused_samples() -> list[Sample]:
    return [s for s in build() if ACCEPTED not in s.expect]


def test_hostile_snapshots_are_4xx_and_cost_no_attempt(
    api: Api, server: Served, photos: dict[str, bytes]
) -> None:
    cap = server.app.state.container.settings.snapshot_max_bytes
    samples = _refused_samples()
    assert len(samples) >= 20
    rows: list[list[object]] = []
    rss_before = _peak_rss_mb()
    who: tuple[str, Role] | None = None
    view: dict[str, object] = {}
    for i, sample in enumerate(samples):
        if i % PER_DRIVER == 0:
            who = api.onboard(f"hostile-{i}", photos["obama"])
            view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
        assert who is not None
        challenge = view["challenge"]
        assert isinstance(challenge, dict)
        t = time.perf_counter()
        r = api.snapshot(who, str(view["session_id"]), challenge["id"], sample.data)
        elapsed = time.perf_counter() - t
        code = r.json()["error"]["code"] if r.status_code >= 400 else ""
        rows.append([sample.row, sample.name, len(sample.data), r.status_code, code,
                     f"{elapsed * 1000:.0f}"])  # fmt: skip
        assert 400 <= r.status_code < 500, (sample.name, r.status_code, r.text[:200])
        if len(sample.data) > cap:
            assert code == "payload_too_large", sample.name
        else:
            assert code in sample.expect, (sample.name, code)
        assert elapsed < 5.0, (sample.name, elapsed)  # the figure (target 1 s) is in the table
        hb = api.ok("POST", f"/v1/sessions/{view['session_id']}/heartbeat", who)
        assert hb["attempts"] == 0 and hb["consecutive_failures"] == 0, sample.name
        assert hb["challenge"]["id"] == challenge["id"], sample.name  # still open
    growth = _peak_rss_mb() - rss_before
    rows.append(["all", "peak RSS growth of the test+server process (MB)", "", "", "",
                 f"{growth:.0f}"])  # fmt: skip
    write_table(
        "http_hostile.md",
        "Hostile snapshots over HTTP (4xx, no attempt spent)",
        ["row", "file", "bytes", "status", "code", "ms"],
        rows,
    )
    assert growth < 100, growth
    # the last driver can still answer its open challenge with a real capture
    assert who is not None
    challenge = view["challenge"]
    assert isinstance(challenge, dict)
    ok = api.snapshot(who, str(view["session_id"]), challenge["id"], photos["obama2"])
    assert ok.status_code == 200 and ok.json()["attempt_no"] == 1


def test_stored_evidence_keeps_no_metadata_and_no_trailing_bytes(
    api: Api, server: Served, photos: dict[str, bytes]
) -> None:
    """A polyglot capture (EXIF, XMP, ICC, a comment and a ZIP after the image end) is kept
    as a re-encoded face crop only."""
    who = api.onboard("polyglot-driver", photos["obama"])
    view = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    hostile = with_metadata(photos["obama2"])
    assert b"PK\x03\x04" in hostile and b"Exif" in hostile
    r = api.snapshot(who, view["session_id"], view["challenge"]["id"], hostile)
    assert r.status_code == 200, r.text
    c = server.app.state.container
    with c.sessions._uow() as uow:
        ids = uow.evidence.for_session(view["session_id"])
        assert ids, "the capture should have been kept as evidence"
        crops = [uow.evidence.read(e) for e in ids]
    for crop in crops:
        assert crop[:3] == b"\xff\xd8\xff" and crop.endswith(b"\xff\xd9")
        assert crop.count(b"\xff\xd9") == 1  # nothing after the image end
        for marker in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"PK\x03\x04",
                       b"<html", b"<script"):  # fmt: skip
            assert marker not in crop, marker
