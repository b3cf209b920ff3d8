"""Liveness bursts over real HTTP (issue 10): POST /v1/sessions/{id}/bursts.

A second app with bursts ON (one action per challenge) shares the main server's
loaded pipeline but has its own database. The genuine driver is a real person
from ``../shared/data/video`` (PROCTOR_VIDEO_DATA; the happy paths skip when it
is absent): enrolled from one frame of ``liveportrait/d18.mp4`` and answering
with frames of the same clip where she really blinks or opens her mouth (both
labelled in fixtures/liveness/annotations.toml). Clip frames are read at test
time and never stored in the project.

The screen-light code is on (the default, issue 20): genuine frames carry the
modelled reflection of their challenge's code (tests/lightcode.py; simulated, the
clips were not recorded under a code); the same frames without it fail with
``light_code_missing``.

A still photo repeated as a burst must fail liveness: a failed attempt with the
``spoof_suspected`` flag, visible in the reviewer queue. Hostile uploads get
stable 4xx codes before the challenge is claimed, never a 5xx.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth import Role
from tests.e2e.conftest import Api, Served, settings

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]

CLIP = "liveportrait/d18.mp4"
ENROL_AT_S = 0.5
# Burst windows (start, 2 s long) around labelled events that the judge detects.
WINDOW_START_S = {"open_mouth": 1.7, "blink": 2.22}
FRAMES = 12
CODED_FRAMES = 20  # 10 fps: the light code's steps need a few frames per colour
BURST_MAX = 4 * 1024 * 1024


def _too_many() -> int:
    from proctor.config import ProctorSettings

    return int(ProctorSettings.model_fields["burst_max_frames"].default) + 1


TOO_MANY = _too_many()  # one part over the default cap (30: 2 s at 15 fps)


def video_root() -> Path:
    default = Path(__file__).resolve().parents[3] / "shared" / "data" / "video"
    return Path(os.environ.get("PROCTOR_VIDEO_DATA", str(default)))


@pytest.fixture(scope="module")
def clip() -> tuple[list[Any], float]:
    """BGR frames of the first 7 s of the clip, and its frame rate."""
    import cv2

    path = video_root() / CLIP
    if not path.exists():
        pytest.skip(f"video data absent: {path} (set PROCTOR_VIDEO_DATA)")
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    frames = []
    try:
        while len(frames) < int(7 * fps):
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
    finally:
        cap.release()
    return frames, fps


def jpeg(bgr: Any) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


def window(clip: tuple[list[Any], float], start_s: float, n: int = FRAMES) -> list[bytes]:
    frames, fps = clip
    idx = [round((start_s + 2.0 * k / (n - 1)) * fps) for k in range(n)]
    return [jpeg(frames[i]) for i in idx]


def webm(clip: tuple[list[Any], float], start_s: float) -> bytes:
    import cv2

    frames, fps = clip
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "burst.webm"
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"VP80"), fps, (w, h))
        assert writer.isOpened()
        first = round(start_s * fps)
        for f in frames[first : first + round(2.0 * fps)]:
            writer.write(f)
        writer.release()
        return out.read_bytes()


def coded_window(
    clip: tuple[list[Any], float], start_s: float, challenge: dict[str, Any], pipeline: Any
) -> tuple[list[bytes], list[float]]:
    """CODED_FRAMES frames over 2 s from ``start_s``, lit by the challenge's light code;
    and their times from the code's start (s)."""
    from tests.lightcode import code_of, under_code

    frames, fps = clip
    n = CODED_FRAMES
    idx = [round((start_s + 2.0 * k / (n - 1)) * fps) for k in range(n)]
    times = [2.0 * k / (n - 1) for k in range(n)]
    rgb = [frames[i][:, :, ::-1].copy() for i in idx]
    lit = under_code(pipeline, rgb, times, code_of(challenge))
    return [jpeg(f[:, :, ::-1].copy()) for f in lit], times


def multipart(frames: list[bytes], ctype: str = "image/jpeg") -> list[tuple[str, Any]]:
    return [("frames", (f"f{i}.jpg", f, ctype)) for i, f in enumerate(frames)]


@pytest.fixture(scope="module")
def live_container(server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Bursts ON, one action per challenge; the main server's loaded pipeline, own database."""
    from proctor.bootstrap import build_container

    s = settings(
        tmp_path_factory.mktemp("bursts"),
        liveness_bursts=True,
        liveness_max_actions=1,
        liveness_random_share=1.0,
        burst_max_bytes=BURST_MAX,
        # The "authority photo" here is a frame of the same clip, a second or two before
        # the bursts: frames of one sitting are within 3 bits of dHash of each other, which
        # an authority photo from another occasion is not (137 genuine pairs: >= 7 bits,
        # SECURITY.md). The hash copy test keeps exact hashes only; the distance floors
        # stay. Reference replays are tested in tests/e2e/test_reference_integrity.py.
        reference_replay_hash_bits=0,
    )
    container = build_container(s, pipeline=server.app.state.container.pipeline)
    yield container
    container.close()


@pytest.fixture(scope="module")
def live(live_container: Any) -> Iterator[Api]:
    from api.main import create_app

    srv = Served(create_app(live_container.settings, container=live_container))
    api = Api(srv.url)
    yield api
    api.client.close()
    srv.stop()


@pytest.fixture(scope="module")
def tight(live_container: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The same container behind tiny limits: one worker, no queue, 3 requests per driver."""
    from api.main import create_app

    s = settings(
        tmp_path_factory.mktemp("bursts-tight"),
        cpu_workers=1,
        cpu_queue=0,
        rate_limit_per_min=30.0,
        rate_limit_burst=3,
    )
    srv = Served(create_app(s, container=live_container))
    api = Api(srv.url)
    yield api
    api.client.close()
    srv.stop()


def bursts(api: Api, who: tuple[str, Role], sid: str, cid: str, **kw: Any) -> Any:
    return api.call("POST", f"/v1/sessions/{sid}/bursts", who, params={"challenge_id": cid}, **kw)


def open_with(api: Api, who: tuple[str, Role], wanted: set[str]) -> dict[str, Any]:
    """Open study sessions until the entry challenge asks for one of ``wanted``."""
    for _ in range(30):
        v: dict[str, Any] = api.ok("POST", "/v1/sessions", who, json={"kind": "study"})
        ch = v["challenge"]
        assert ch["kind"] == "entry" and len(ch["actions"]) == 1, ch
        if ch["actions"][0] in wanted:
            return v
        # one open session per driver: end this one before drawing another
        api.ok("POST", f"/v1/sessions/{v['session_id']}/abandon", who)
    raise AssertionError(f"no entry challenge asked for {wanted}")


def test_entry_challenge_asks_for_actions_with_chinese_guidance(
    live: Api, photos: dict[str, bytes]
) -> None:
    who = live.onboard("burst-guidance", photos["obama"])
    v = live.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    ch = v["challenge"]
    assert len(ch["actions"]) == 1 and ch["actions"][0] in {
        "blink",
        "turn_left",
        "turn_right",
        "open_mouth",
    }
    zh = {
        "blink": "请眨眼",
        "turn_left": "请向左转头",
        "turn_right": "请向右转头",
        "open_mouth": "请张嘴",
    }
    assert ch["action_guidance"] == [zh[ch["actions"][0]]]
    assert zh[ch["actions"][0]] in ch["guidance"]
    # A snapshot cannot answer it: 409 burst_required, and nothing is consumed.
    r = live.snapshot(who, v["session_id"], ch["id"], photos["obama2"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "burst_required", r.text
    hb = live.ok("POST", f"/v1/sessions/{v['session_id']}/heartbeat", who)
    assert hb["challenge"]["id"] == ch["id"] and hb["attempts"] == 0


def test_genuine_burst_of_frames_passes(
    live: Api, live_container: Any, clip: tuple[list[Any], float]
) -> None:
    frames, _ = clip
    who = live.onboard("burst-genuine", jpeg(frames[round(ENROL_AT_S * clip[1])]))
    v = open_with(live, who, set(WINDOW_START_S))
    action = v["challenge"]["actions"][0]
    assert len(v["challenge"]["light_code"]) >= 3, v["challenge"]
    coded, times = coded_window(
        clip, WINDOW_START_S[action], v["challenge"], live_container.pipeline
    )
    ms = ",".join(str(round(t * 1000)) for t in times)
    body: list[tuple[str, Any]] = [*multipart(coded), ("frame_times_ms", (None, ms))]
    key = {"Idempotency-Key": "burst-genuine-1"}
    r = bursts(live, who, v["session_id"], v["challenge"]["id"], files=body, headers=key)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["passed"], out
    # The clip animates one still portrait (LivePortrait): its frames are near copies of
    # each other, and the enrolment frame's chip lies within the near-duplicate limit
    # (5 bits) of some frame of every window, under either front end (frames ≥ 1 s apart
    # of the 18 clips: 21% of pairs with BlazeFace + FaceMesh, 23.5% with HOG + dlib).
    # Whether the verified frame is one of them depends on which frame is the most
    # frontal, so a ``replay_suspected`` flag (a note for the reviewer, not a failure)
    # may be raised here; nothing else may.
    assert set(out["flags"]) <= {"replay_suspected"}, out
    assert out["session"]["state"] == "active"
    again = bursts(live, who, v["session_id"], v["challenge"]["id"], files=body, headers=key)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["attempt_no"] == out["attempt_no"]


def test_the_same_genuine_frames_without_the_light_code_fail(
    live: Api, clip: tuple[list[Any], float]
) -> None:
    frames, _ = clip
    who = live.onboard("burst-uncoded", jpeg(frames[round(ENROL_AT_S * clip[1])]))
    v = open_with(live, who, set(WINDOW_START_S))
    action = v["challenge"]["actions"][0]
    body = multipart(window(clip, WINDOW_START_S[action], CODED_FRAMES))
    r = bursts(live, who, v["session_id"], v["challenge"]["id"], files=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert not out["passed"] and "light_code_missing" in out["reasons"], out
    assert "spoof_suspected" in out["flags"]


def test_genuine_webm_clip_passes(
    live: Api, live_container: Any, clip: tuple[list[Any], float]
) -> None:
    frames, fps = clip
    who = live.onboard("burst-clip", jpeg(frames[round(ENROL_AT_S * clip[1])]))
    v = open_with(live, who, set(WINDOW_START_S))
    action = v["challenge"]["actions"][0]
    from tests.lightcode import code_of, under_code

    first = round(WINDOW_START_S[action] * fps)
    span = frames[first : first + round(2.0 * fps)]
    times = [i / fps for i in range(len(span))]
    rgb = [f[:, :, ::-1].copy() for f in span]
    lit = under_code(live_container.pipeline, rgb, times, code_of(v["challenge"]))
    data = webm(([f[:, :, ::-1].copy() for f in lit], fps), 0.0)
    r = bursts(
        live,
        who,
        v["session_id"],
        v["challenge"]["id"],
        content=data,
        headers={"content-type": "video/webm"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["passed"], r.json()


def test_still_photo_repeated_fails_with_spoof_flag_for_the_reviewer(
    live: Api, photos: dict[str, bytes]
) -> None:
    who = live.onboard("burst-still", photos["obama"])
    v = live.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid, cid = v["session_id"], v["challenge"]["id"]
    r = bursts(live, who, sid, cid, files=multipart([photos["obama2"]] * FRAMES))
    assert r.status_code == 200, r.text
    out = r.json()
    assert not out["passed"] and "spoof_suspected" in out["flags"], out
    assert out["attempt_no"] == 1 and out["session"]["consecutive_failures"] == 1
    assert set(out["reasons"]) & {"action_missing", "flat_motion_suspected"}, out
    rev = ("rev-bursts", Role.REVIEWER)
    for _ in range(10):
        claimed = live.ok("POST", "/v1/review/claim", rev)["case_id"]
        mine = live.ok("GET", "/v1/review/queue", rev)["flags"]
        hit = [f for f in mine if f["session_id"] == sid]
        if hit:
            assert "spoof_suspected" in hit[0]["reasons"], hit
            return
        assert claimed is not None
    raise AssertionError("the spoof flag did not reach the reviewer queue")


def _tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    return buf.getvalue()


def test_hostile_uploads_get_stable_4xx_and_consume_nothing(
    live: Api, photos: dict[str, bytes]
) -> None:
    who = live.onboard("burst-hostile", photos["obama"])
    v = live.ok("POST", "/v1/sessions", who, json={"kind": "study"})
    sid, cid = v["session_id"], v["challenge"]["id"]
    png = _tiny_png()
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (
            "too many parts",
            {"files": multipart([png] * TOO_MANY, "image/png")},
            413,
            "burst_too_large",
        ),
        ("no frames", {"files": [("note", (None, "x"))]}, 422, "empty_burst"),
        (
            "wrong part type",
            {"files": multipart([png], "text/plain")},
            415,
            "unsupported_media_type",
        ),
        (
            "wrong body type",
            {"content": b"hello", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        (
            "not a clip",
            {"content": b"x" * 64, "headers": {"content-type": "video/mp4"}},
            415,
            "unsupported_video",
        ),
        (
            "empty clip",
            {"content": b"", "headers": {"content-type": "video/webm"}},
            422,
            "empty_burst",
        ),
        (
            "corrupt webm",
            {
                "content": b"\x1a\x45\xdf\xa3" + random.Random(11).randbytes(4000),
                "headers": {"content-type": "video/webm"},
            },
            422,
            "corrupt_video",
        ),
        (
            "corrupt mp4",
            {
                "content": b"\x00\x00\x00\x18ftypisom" + random.Random(12).randbytes(4000),
                "headers": {"content-type": "video/mp4"},
            },
            422,
            "corrupt_video",
        ),
        (
            "corrupt frame",
            # JPEG magic then a broken segment (random bytes would sometimes parse as a
            # frame header declaring a huge size, which is image_too_large instead)
            {"files": multipart([b"\xff\xd8\xff" + bytes(500)] * 3)},
            422,
            "corrupt_image",
        ),
        (
            "oversized by length",
            {"content": b"\0" * (BURST_MAX + 1), "headers": {"content-type": "video/mp4"}},
            413,
            "payload_too_large",
        ),
        (
            "oversized frame",
            {"files": multipart([b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)])},
            413,
            "image_too_large",
        ),
    ]
    for name, kw, status, code in cases:
        r = bursts(live, who, sid, cid, **kw)
        assert r.status_code == status, (name, r.status_code, r.text)
        body = r.json()
        assert body["error"]["code"] == code, (name, body)
    hb = live.ok("POST", f"/v1/sessions/{sid}/heartbeat", who)
    assert hb["challenge"]["id"] == cid and hb["attempts"] == 0, hb
    # The same challenge still takes a (failing) burst afterwards: nothing was consumed.
    r = bursts(live, who, sid, cid, files=multipart([photos["obama2"]] * 10))
    assert r.status_code == 200 and r.json()["attempt_no"] == 1, r.text


def test_bursts_are_rate_limited_per_driver(tight: Api) -> None:
    who = ("burst-rate", Role.DRIVER)
    codes = [
        bursts(tight, who, "s", "c", files=multipart([_tiny_png()], "image/png")).status_code
        for _ in range(3)
    ]
    r = bursts(tight, who, "s", "c", files=multipart([_tiny_png()], "image/png"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert 429 not in codes and all(400 <= c < 500 for c in codes), codes


def test_full_cpu_pool_sheds_bursts_with_503(
    live: Api, tight: Api, photos: dict[str, bytes]
) -> None:
    drivers = [live.onboard(f"burst-shed-{i}", photos["obama"]) for i in range(4)]
    opened = [live.ok("POST", "/v1/sessions", d, json={"kind": "study"}) for d in drivers]
    body = multipart([photos["obama2"]] * FRAMES)

    def submit(i: int) -> int:
        v = opened[i]
        r = bursts(tight, drivers[i], v["session_id"], v["challenge"]["id"], files=body)
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "overloaded"
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(submit, range(4)))
    assert 503 in codes and 200 in codes, codes
    assert set(codes) <= {200, 503}
    for i, code in enumerate(codes):  # a shed burst consumed nothing
        if code == 503:
            v = opened[i]
            hb = live.ok("POST", f"/v1/sessions/{v['session_id']}/heartbeat", drivers[i])
            assert hb["challenge"]["id"] == v["challenge"]["id"] and hb["attempts"] == 0
