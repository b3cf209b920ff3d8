"""The README's curl walkthrough, executable: ``proctor demo walkthrough --base-url URL``.

Runs the whole flow against a running server and exits 0 only when the driver's record shows
the point removed and the proxied driver is blacklisted:

consent → enrolment → apply (system review) → study with captures → exam → −1 point → a proxy's
session (another face on three captures) → flag → review → adjudication (blacklist) → appeal
(decided: the blacklist stands).

The server must run with ``PROCTOR_DEV_CLOCK=true`` (the study window opens the day after
approval and study needs 30 minutes: the walkthrough moves the service's clock with the admin
route ``POST /v1/dev/clock``, loopback only) and ``PROCTOR_LIVENESS_BURSTS=false`` (a still
photo cannot blink). Tokens are minted with ``PROCTOR_TOKEN_SECRET``, as ``proctor token issue``
does. Every request is printed as the equivalent curl line (``--curl``), which is how the
README's block is produced and checked (``tests/e2e/test_walkthrough.py``).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from proctor.rules import load_bank
from proctor.tokens import issue_token

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images" / "downloaded"
DAY_S = 24 * 3600


class WalkthroughFailed(RuntimeError):
    pass


def looks(photo: bytes, amounts: tuple[float, ...]) -> Iterator[bytes]:
    """Captures of the genuine driver that are not replays of each other: the photo and its
    mirror image, under side light from either side (a camera never sends one frame twice).
    ``0.0`` is the photo itself."""
    import cv2
    import numpy as np

    base = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    if base is None:
        raise WalkthroughFailed("a fixture photo does not decode")
    w = base.shape[1]
    x = np.arange(w, dtype=np.float32)[None, :]
    for amount in amounts:
        for mirror in (False, True):
            img = (base[:, ::-1] if mirror else base).astype(np.float32)
            gain = 1 + amount * np.tanh((x - w / 2) / 40.0)
            out = np.clip(img * gain[:, :, None], 0, 255).astype(np.uint8)
            yield cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


# Entry and exam-start captures are judged against the reference in three zones: they get
# the plain photos; captures judged against the session's own first capture get lit ones.
REFERENCE_KINDS = frozenset({"entry", "exam_start"})


@dataclass
class Walkthrough:
    base_url: str
    secret: bytes
    driver: str = "alice"
    images: Path = IMAGES
    echo: Callable[[str], None] = print
    curl: bool = False
    client: httpx.Client = field(init=False)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=120.0)
        self._plain: list[bytes] = []  # filled after enrolment
        self._lit: list[bytes] = []

    # ---- plumbing -----------------------------------------------------------------------
    def photo(self, name: str) -> bytes:
        return (self.images / f"{name}.jpg").read_bytes()

    def token(self, sub: str, role: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_token(self.secret, sub, role)}

    def call(
        self, method: str, path: str, who: tuple[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if who is not None:
            headers.update(self.token(*who))
        if method == "POST":
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        r = self.client.request(method, path, headers=headers, **kw)
        for _ in range(30):  # the per-driver rate limit: wait as told, like any client
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("retry-after", "1")))
            r = self.client.request(method, path, headers=headers, **kw)
        line = f"{method} {path} -> {r.status_code}"
        self.log.append(line)
        if self.curl:
            self.echo(line)
        return r

    def ok(self, method: str, path: str, who: tuple[str, str] | None = None, **kw: Any) -> Any:
        r = self.call(method, path, who, **kw)
        if r.status_code >= 300:
            raise WalkthroughFailed(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def snapshot(self, who: tuple[str, str], sid: str, cid: str, image: bytes) -> Any:
        return self.ok(
            "POST",
            f"/v1/sessions/{sid}/snapshots",
            who,
            params={"challenge_id": cid},
            content=image,
            headers={"content-type": "image/jpeg", "Idempotency-Key": cid},
        )

    def genuine(self, who: tuple[str, str], sid: str, challenge: dict[str, Any]) -> Any:
        """Answer a challenge as the driver; a quality retry gets the next look."""
        for _ in range(3):
            first, second = (
                (self._plain, self._lit)
                if challenge["kind"] in REFERENCE_KINDS
                else (self._lit, self._plain)
            )
            pool = first or second
            if not pool:
                raise WalkthroughFailed("no unused photo of the driver is left")
            r = self.snapshot(who, sid, challenge["id"], pool.pop(0))
            if r["passed"]:
                return r
            challenge = r["session"]["challenge"]
            if challenge is None:
                break
        raise WalkthroughFailed(f"the genuine driver's capture failed: {r}")

    def advance(self, seconds: float) -> None:
        self.ok("POST", "/v1/dev/clock", self.admin, json={"advance_s": seconds})

    @property
    def who(self) -> tuple[str, str]:
        return (self.driver, "driver")

    admin = ("ops", "admin")
    reviewer = ("rev-1", "reviewer")
    adjudicator = ("adj-1", "adjudicator")
    appeal_adjudicator = ("adj-2", "adjudicator")

    # ---- the steps ----------------------------------------------------------------------
    def enrol(self, photo: bytes) -> None:
        """The reference photo: the authority's real-name photo, set by an operator (issue
        17); a driver cannot write it."""
        self.ok(
            "PUT",
            f"/v1/admin/drivers/{self.driver}/enrollment",
            self.admin,
            content=photo,
            headers={"content-type": "image/jpeg"},
        )

    def setup(self) -> None:
        self.ok("GET", "/readyz")
        self.ok(
            "PUT",
            f"/v1/admin/driver-records/{self.driver}",
            self.admin,
            json={"first_licence_date": "2015-03-01", "cycle_points": 6},
        )
        text = self.ok("GET", "/v1/consent/text", self.who)
        self.ok("POST", "/v1/me/consent", self.who, json={"text_sha256": text["text_sha256"]})
        reference = (self.images / "obama.jpg").read_bytes()
        self.enrol(reference)
        photos = [self.photo("obama2"), self.photo("obama3")]
        self._plain = [x for p in photos for x in looks(p, (0.0,))]
        self._lit = [x for p in photos for x in looks(p, (0.2, -0.2))]

    def apply(self) -> str:
        self.ok("GET", "/v1/me/eligibility", self.who)
        app = self.ok("POST", "/v1/me/applications", self.who)
        if app["state"] != "study_open":
            raise WalkthroughFailed(f"the system review did not approve: {app}")
        self.advance(DAY_S)  # the study window opens the day after approval
        return str(app["application_id"])

    def study(self, minutes: int = 32) -> None:
        v = self.ok("POST", "/v1/sessions", self.who, json={"kind": "study"})
        sid = v["session_id"]
        self.genuine(self.who, sid, v["challenge"])
        for _ in range(0, minutes, 4):
            self.advance(240)
            hb = self.ok("POST", f"/v1/sessions/{sid}/heartbeat", self.who)
            if hb["challenge"] is not None:
                self.genuine(self.who, sid, hb["challenge"])
        self.ok("POST", f"/v1/sessions/{sid}/complete", self.who)

    def exam(self) -> dict[str, Any]:
        answers = {q.id: q.answer for q in load_bank().questions}
        e = self.ok("POST", "/v1/exams", self.who)
        eid = e["session_id"]
        self.genuine(self.who, eid, e["challenge"])
        a: dict[str, Any] = {}
        for i in range(20):
            q = self.next_question(eid)
            a = self.ok(
                "POST",
                f"/v1/exams/{eid}/questions/{i}/answer",
                self.who,
                json={"choice": answers[q["question_id"]]},
            )
        final = a["session"]["challenge"]
        if final is not None:
            self.genuine(self.who, eid, final)
        result: dict[str, Any] = self.ok("POST", f"/v1/exams/{eid}/finish", self.who)
        return result

    def next_question(self, eid: str) -> dict[str, Any]:
        """The next question; a capture that is due comes first (409 ``capture_pending``)."""
        path = f"/v1/exams/{eid}/questions/next"
        r = self.call("POST", path, self.who)
        if r.status_code == 409 and r.json()["error"]["code"] == "capture_pending":
            hb = self.ok("POST", f"/v1/sessions/{eid}/heartbeat", self.who)
            if hb["challenge"] is None:
                raise WalkthroughFailed(f"capture_pending with no challenge: {r.text}")
            self.genuine(self.who, eid, hb["challenge"])
            r = self.call("POST", path, self.who)
        if r.status_code >= 300:
            raise WalkthroughFailed(f"POST {path}: {r.status_code} {r.text}")
        q: dict[str, Any] = r.json()
        return q

    def proxy_session(self) -> str:
        """The driver's next application: someone else sits in front of the camera."""
        self.apply()
        v = self.ok("POST", "/v1/sessions", self.who, json={"kind": "study"})
        sid, challenge = v["session_id"], v["challenge"]
        proxy = (self.images / "biden.jpg").read_bytes()
        r: dict[str, Any] = {}
        for _ in range(3):
            r = self.snapshot(self.who, sid, challenge["id"], proxy)
            challenge = r["session"]["challenge"]
            if challenge is None:
                break
        if r.get("session", {}).get("state") != "terminated_invalid":
            raise WalkthroughFailed(f"the proxy's session did not end: {r}")
        return str(sid)

    def review_and_blacklist(self, session_id: str) -> str:
        flag_id = None
        for _ in range(50):
            if self.ok("POST", "/v1/review/claim", self.reviewer)["case_id"] is None:
                break
            mine = self.ok("GET", "/v1/review/queue", self.reviewer)["flags"]
            hit = [f for f in mine if f["session_id"] == session_id]
            if hit:
                flag_id = hit[0]["flag_id"]
                break
        if flag_id is None:
            raise WalkthroughFailed("no flag reached the reviewer")
        case = self.ok("GET", f"/v1/review/cases/{flag_id}", self.reviewer)
        if case["evidence_ids"]:
            self.call(
                "GET",
                f"/v1/review/cases/{flag_id}/evidence/{case['evidence_ids'][0]}",
                self.reviewer,
            )
        self.ok(
            "POST",
            f"/v1/review/cases/{flag_id}/review",
            self.reviewer,
            json={"recommendation": "uphold", "reason": "another person in every capture"},
        )
        d = self.ok(
            "POST",
            f"/v1/adjudication/flags/{flag_id}/decision",
            self.adjudicator,
            json={"uphold": True, "note": "proxy confirmed"},
        )
        return str(d["blacklist_id"])

    def appeal(self, blacklist_id: str) -> None:
        a = self.ok(
            "POST",
            f"/v1/me/blacklist/{blacklist_id}/appeals",
            self.who,
            json={"statement": "it was not me"},
        )
        # a second adjudicator rejects the appeal: the blacklist stands
        self.ok(
            "POST",
            f"/v1/adjudication/appeals/{a['appeal_id']}/decision",
            self.appeal_adjudicator,
            json={"uphold": False},
        )

    def run(self) -> dict[str, Any]:
        self.setup()
        before = self.ok("GET", "/v1/me/record", self.who)
        application_id = self.apply()
        self.study()
        result = self.exam()
        after = self.ok("GET", "/v1/me/record", self.who)
        self.ok("GET", f"/v1/me/applications/{application_id}", self.who)
        session_id = self.proxy_session()
        blacklist_id = self.review_and_blacklist(session_id)
        self.appeal(blacklist_id)
        entries = self.ok("GET", "/v1/me/blacklist", self.who)
        final = self.ok("GET", "/v1/me/record", self.who)
        self.call("GET", "/metrics", self.admin)
        summary = {
            "points_before": before["accumulated_points"],
            "points_after_exam": after["accumulated_points"],
            "points_at_end": final["accumulated_points"],
            "reduced_this_cycle": final["reduced_this_cycle"],
            "exam": {k: result.get(k) for k in ("passed", "correct", "point_reduction")},
            "blacklist": [e["status"] for e in entries],
        }
        point_removed = after["accumulated_points"] == before["accumulated_points"] - 1
        blacklisted = any(e["status"] == "active" for e in entries)
        summary["ok"] = bool(point_removed and blacklisted)
        return summary


def main(base_url: str, secret: str, driver: str, curl: bool) -> int:
    w = Walkthrough(base_url, secret.encode(), driver=driver, curl=curl)
    try:
        summary = w.run()
    except WalkthroughFailed as exc:
        print(f"walkthrough failed: {exc}")
        return 1
    buf = io.StringIO()
    json.dump(summary, buf, ensure_ascii=False, indent=2)
    print(buf.getvalue())
    return 0 if summary["ok"] else 1
