"""``proctor bench load``: simulated drivers studying and taking exams against a running server.

Each simulated driver (a thread with its own HTTP connection) repeats: study
session (entry capture, heartbeat, complete) then exam (start capture, 20
questions answered from the bank, a random capture, the final capture,
finish), one new identity per cycle. An identity shows one persona
(``proctor.bench.load_media``): the fixture portraits (four distinct snapshots, so
that replay detection does not end its sessions), or with ``--bursts`` a labelled
webcam clip whose blink windows answer the entry and exam-start action challenges.
Latencies are recorded per call kind; 503 responses are shed,
other non-2xx responses are errors. Tokens are minted with
``PROCTOR_TOKEN_SECRET`` (an operator tool, same machine as the server).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from proctor.bench.load_media import Persona, blink_personas, photo_persona
from proctor.rules import load_bank

if TYPE_CHECKING:
    from proctor.pipeline import Pipeline
    from proctor.types import Template
from proctor.tokens import issue_token


@dataclass(frozen=True, slots=True)
class LoadConfig:
    url: str
    sessions: int
    duration_s: float
    images: Path
    # answer action challenges with real blink bursts (server: bursts on, blink only)
    bursts: bool = False


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.status: dict[int, int] = defaultdict(int)
        self.passed: dict[str, int] = defaultdict(int)  # decided captures that passed
        self.lock = threading.Lock()

    def record(self, kind: str, seconds: float, status: int, passed: bool = False) -> None:
        with self.lock:
            self.status[status] += 1
            self.passed[kind] += passed
            if status < 400:
                self.lat[kind].append(seconds)


def operator_header(secret: bytes) -> dict[str, str]:
    """An admin token: the reference photo comes through the operator path (issue 17)."""
    return {"Authorization": "Bearer " + issue_token(secret, "load-operator", "admin")}


class Driver:
    def __init__(
        self, cfg: LoadConfig, secret: bytes, stats: Stats, personas: Sequence[Persona]
    ) -> None:
        self.cfg, self.secret, self.stats, self.personas = cfg, secret, stats, personas
        self.client = httpx.Client(base_url=cfg.url, timeout=60.0)
        self.answers = {q.id: q.answer for q in load_bank().questions}
        self.queue: list[bytes] = []
        self.bursts: list[tuple[bytes, ...]] = []
        self.headers: dict[str, str] = {}

    def call(self, kind: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
        headers = {**self.headers, **kw.pop("h", {})}
        for _ in range(20):
            t = time.perf_counter()
            r = self.client.request(method, path, headers=headers, **kw)
            took = time.perf_counter() - t
            decided = kind in ("snapshot", "burst") and r.status_code == 200
            self.stats.record(kind, took, r.status_code, decided and bool(r.json().get("passed")))
            if r.status_code in (429, 503):
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            return r if r.status_code < 400 else None
        return None

    def new_identity(self) -> bool:
        """A new driver for each study-and-exam cycle, showing one persona: enrolled, with
        its distinct snapshots and bursts (none is sent twice, so no replay ends it)."""
        persona = random.choice(self.personas)
        sub = f"load-{random.getrandbits(48):012x}"
        self.headers = {"Authorization": "Bearer " + issue_token(self.secret, sub, "driver")}
        text = self.call("other", "GET", "/v1/consent/text")
        if text is None:
            return False
        self.call(
            "other", "POST", "/v1/me/consent", json={"text_sha256": text.json()["text_sha256"]}
        )
        ok = self.call(  # the authority path (issue 17): an operator sets the reference
            "enroll",
            "PUT",
            f"/v1/admin/drivers/{sub}/enrollment",
            content=persona.reference,
            h={"content-type": "image/jpeg", **operator_header(self.secret)},
        )
        self.queue, self.bursts = list(persona.snapshots), list(persona.bursts)
        return ok is not None

    def snap(self, sid: str, challenge: dict[str, Any] | None) -> None:
        if challenge is None:
            return
        if challenge.get("actions"):
            if self.bursts:
                frames = self.bursts.pop(0)
                self.call(
                    "burst",
                    "POST",
                    f"/v1/sessions/{sid}/bursts",
                    params={"challenge_id": challenge["id"]},
                    files=[
                        ("frames", (f"f{i:02d}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)
                    ],
                    h={"Idempotency-Key": challenge["id"]},
                )
            return
        if not self.queue:
            return
        self.call(
            "snapshot",
            "POST",
            f"/v1/sessions/{sid}/snapshots",
            params={"challenge_id": challenge["id"]},
            content=self.queue.pop(0),
            h={"content-type": "image/jpeg", "Idempotency-Key": challenge["id"]},
        )

    def study(self) -> None:
        r = self.call("other", "POST", "/v1/sessions", json={"kind": "study"})
        if r is None:
            return
        v = r.json()
        self.snap(v["session_id"], v["challenge"])
        for _ in range(3):
            self.call("other", "POST", f"/v1/sessions/{v['session_id']}/heartbeat")
        self.call("other", "POST", f"/v1/sessions/{v['session_id']}/complete")

    def exam(self, deadline: float) -> None:
        r = self.call("other", "POST", "/v1/exams")
        if r is None:
            return
        v = r.json()
        sid = v["session_id"]
        self.snap(sid, v["challenge"])
        for _ in range(20):
            if time.monotonic() > deadline:
                return
            q = self.call("other", "POST", f"/v1/exams/{sid}/questions/next")
            if q is None:  # 409 capture_pending: the capture comes before the question
                hb = self.call("other", "POST", f"/v1/sessions/{sid}/heartbeat")
                if hb is None or hb.json()["challenge"] is None:
                    return
                self.snap(sid, hb.json()["challenge"])
                q = self.call("other", "POST", f"/v1/exams/{sid}/questions/next")
                if q is None:
                    return
            body = q.json()
            a = self.call(
                "other",
                "POST",
                f"/v1/exams/{sid}/questions/{body['index']}/answer",
                json={"choice": self.answers[body["question_id"]]},
            )
            if a is None:
                return
            self.snap(sid, a.json()["session"]["challenge"])
        self.call("other", "POST", f"/v1/exams/{sid}/finish")

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if not self.new_identity():
                continue
            self.study()
            self.exam(deadline)


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(p * len(xs)))], 1)


def run_load(cfg: LoadConfig) -> dict[str, Any]:
    secret = os.environ.get("PROCTOR_TOKEN_SECRET", "").encode()
    if len(secret) < 16:
        raise SystemExit("set PROCTOR_TOKEN_SECRET to the server's token secret")
    if cfg.bursts:
        from proctor.bench.liveness import video_root
        from proctor.bootstrap import build_pipeline

        personas = blink_personas(build_pipeline(), video_root())
        if not personas:
            raise SystemExit(f"no labelled blink clips under {video_root()} (PROCTOR_VIDEO_DATA)")
    else:
        personas = [photo_persona(cfg.images)]
    stats = Stats()
    drivers = [Driver(cfg, secret, stats, personas) for _ in range(cfg.sessions)]
    start = time.monotonic()
    deadline = start + cfg.duration_s
    threads = [threading.Thread(target=d.run, args=(deadline,)) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    total = sum(stats.status.values())
    shed = stats.status.get(503, 0)
    errors = sum(n for s, n in stats.status.items() if s >= 400 and s not in (503, 429))
    report: dict[str, Any] = {
        "sessions": cfg.sessions,
        "duration_s": round(elapsed, 1),
        "requests": total,
        "throughput_rps": round(total / elapsed, 1),
        "snapshots_ok": len(stats.lat["snapshot"]),
        "snapshot_rps": round(len(stats.lat["snapshot"]) / elapsed, 2),
        "snapshots_passed": stats.passed["snapshot"],
        "bursts_ok": len(stats.lat["burst"]),
        "bursts_passed": stats.passed["burst"],
        "error_rate": round(errors / total, 4) if total else 0.0,
        "shed_rate": round(shed / total, 4) if total else 0.0,
        "rate_limited": stats.status.get(429, 0),
        "status_counts": dict(sorted(stats.status.items())),
    }
    for kind in ("snapshot", "burst", "enroll", "other"):
        xs = stats.lat[kind]
        report[f"{kind}_ms_p50_p95_p99"] = [_pct(xs, 0.5), _pct(xs, 0.95), _pct(xs, 0.99)]
    report["snapshot_ms_mean"] = (
        round(1000 * statistics.fmean(stats.lat["snapshot"]), 1) if stats.lat["snapshot"] else None
    )
    return report


# ---- HTTP overhead: the snapshot path over HTTP vs the pipeline in this process ---------------

SAMPLES_PER_IDENTITY = 8  # keeps each identity inside the per-driver rate limit's burst


def _clip_frames(clip: Path, n: int) -> list[bytes]:
    """``n + 1`` frames spread over a webcam clip, as JPEG q90 (what a page would upload)."""
    import cv2

    cap = cv2.VideoCapture(str(clip))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = {round(i * (total - 1) / max(1, n)) for i in range(n + 1)} if total > 1 else set()
    out: list[bytes] = []
    index = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if ok:
                out.append(jpeg.tobytes())
        index += 1
    cap.release()
    return out


def _webcam_frames(pipe: Pipeline, source: Path, n: int) -> tuple[bytes, Template, list[bytes]]:
    """A reference (the first frame the enrolment accepts), its template, and ``n`` later
    frames: of one webcam clip (a video file: one person, one session) or of a folder of
    JPEG frames."""
    from proctor.errors import ProctorError

    if source.is_file():
        frames = _clip_frames(source, n)
    else:
        frames = [f.read_bytes() for f in sorted(source.glob("*.jpg"))]
    for i, f in enumerate(frames[:-1]):
        try:
            template = pipe.enroll([f])
        except ProctorError:
            continue
        later = frames[i + 1 :]
        return f, template, [later[k % len(later)] for k in range(n)]
    raise SystemExit(f"no usable webcam frames in {source}")


def _http_identity(client: httpx.Client, secret: bytes, reference: bytes) -> dict[str, str]:
    """A new driver over HTTP: token, consent, enrolment; returns the auth header."""
    sub = f"overhead-{random.getrandbits(48):012x}"
    headers = {"Authorization": "Bearer " + issue_token(secret, sub, "driver")}
    digest = client.get("/v1/consent/text", headers=headers).json()["text_sha256"]
    client.post("/v1/me/consent", json={"text_sha256": digest}, headers=headers)
    enrolled = client.put(
        f"/v1/admin/drivers/{sub}/enrollment",
        content=reference,
        headers={**operator_header(secret), "content-type": "image/jpeg"},
    )
    if enrolled.status_code >= 400:
        raise SystemExit(f"enrolment refused: {enrolled.text}")
    return headers


def run_overhead(url: str, frames_dir: Path, samples: int = 60) -> dict[str, Any]:
    """Median of POST /v1/sessions/{id}/snapshots (one client, one request at a time) against
    the median of ``Pipeline.verify`` on the same frames in this process, side by side.

    Each sample opens a study session and answers its entry challenge with one frame, so
    the HTTP figure includes everything the service does for a snapshot (token, limits,
    consent, claim, compare, record, evidence, audit, idempotency)."""
    from proctor.bootstrap import build_container, build_pipeline
    from proctor.config import ProctorSettings
    from proctor.session.states import SessionKind

    secret = os.environ.get("PROCTOR_TOKEN_SECRET", "").encode()
    if len(secret) < 16:
        raise SystemExit("set PROCTOR_TOKEN_SECRET to the server's token secret")
    pipe = build_pipeline()
    reference, template, frames = _webcam_frames(pipe, frames_dir, samples)
    pipe.measure(template, frames[0])  # warm
    local: list[float] = []
    service: list[float] = []
    remote: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    passed = 0
    client = httpx.Client(base_url=url, timeout=60.0)
    headers: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # snapshots at entry: the server under test must also run with bursts off
        settings = ProctorSettings(data_dir=Path(tmp), liveness_bursts=False)
        c = build_container(settings, pipeline=pipe)
        try:
            # interleaved per frame, so that all three see the same machine load
            for i, frame in enumerate(frames):
                if i % SAMPLES_PER_IDENTITY == 0:
                    driver = f"overhead-{i}"
                    c.sessions.enroll(driver, [reference])
                    headers = _http_identity(client, secret, reference)
                t = time.perf_counter()
                pipe.measure(template, frame)
                local.append(time.perf_counter() - t)

                v = c.sessions.open_session(driver, SessionKind.STUDY)
                assert v.challenge is not None
                t = time.perf_counter()
                c.consent.current(driver)  # the HTTP route checks consent too
                c.sessions.submit_snapshot(v.session_id, driver, v.challenge.id, frame)
                service.append(time.perf_counter() - t)

                h = client.post("/v1/sessions", json={"kind": "study"}, headers=headers).json()
                cid = h["challenge"]["id"]
                t = time.perf_counter()
                r = client.post(
                    f"/v1/sessions/{h['session_id']}/snapshots",
                    params={"challenge_id": cid},
                    content=frame,
                    headers={**headers, "content-type": "image/jpeg", "Idempotency-Key": cid},
                )
                remote.append(time.perf_counter() - t)
                statuses[r.status_code] += 1
                if r.status_code == 409 and "burst_required" in r.text:
                    raise SystemExit("start the server with PROCTOR_LIVENESS_BURSTS=false")
                passed += r.status_code == 200 and bool(r.json().get("passed"))
        finally:
            c.close()
    local_ms = 1000 * statistics.median(local)
    service_ms = 1000 * statistics.median(service)
    http_ms = 1000 * statistics.median(remote)
    return {
        "samples": samples,
        "frames": str(frames_dir),
        "in_process_verify_ms_median": round(local_ms, 1),
        "in_process_service_ms_median": round(service_ms, 1),
        "http_snapshot_ms_median": round(http_ms, 1),
        "http_snapshot_ms_p95": _pct(remote, 0.95),
        # what HTTP adds to the same use case run in-process
        "http_over_service_ratio": round(http_ms / service_ms - 1, 3),
        # what everything around the face pipeline adds (storage, audit, evidence, HTTP)
        "http_over_pipeline_ratio": round(http_ms / local_ms - 1, 3),
        "status_counts": dict(sorted(statuses.items())),
        "http_snapshots_passed": passed,
    }
