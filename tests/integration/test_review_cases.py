"""复核 review cases through real sessions (issue 6): real models, real SQLite, a fake clock.

- A flag is raised once and never twice: by the online path, or by re-verification
  when the online path raised none, and not again when the job is re-run or a new
  job covers the same cases; each flag opens exactly one flag case.
- A passing 复核 decision makes the exam result valid and runs the rules module's
  point reduction, with the driver notified.
- Retention: opening a case holds its evidence past the 24 h close window until the
  decision; the normal class then runs from the decision; reading evidence (batch
  re-verification, reviewer views) never extends retention. Time travels on FakeClock.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from proctor.clock import FakeClock
from proctor.decision.policy import FlagPolicy
from proctor.liveness.replay import ReplayPolicy
from proctor.review.batch import BatchJob
from proctor.review.cases import AFTER_DECISION, ReviewCaseService
from proctor.review.engines import LocalEngine
from proctor.review.ports import Selection
from proctor.review.profile import ReviewProfile
from proctor.review.queue import CaseKind, CaseStatus
from proctor.review.zones import review_zones
from proctor.rules import ChineseWorkdayCalendar, load_bank, load_policy
from proctor.rules.deadlines import review_due
from proctor.rules.points import Mode, award_points
from proctor.rules.policy import UnknownYearMode
from proctor.rules.timeutil import local_date
from proctor.services.adjudication import AdjudicationService
from proctor.services.exams import ExamService
from proctor.services.ports import RetentionClass
from proctor.services.retention import purge_evidence
from proctor.services.review import ReviewService
from proctor.services.sessions import SessionService
from proctor.session.states import CapturePending, SessionKind
from proctor.storage.records import records_uow_factory
from proctor.storage.review_repo import review_uow_factory
from proctor.storage.uow import Storage, open_storage
from proctor.testing.real import registry_policy

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images" / "downloaded"
pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    names = ("obama", "obama2", "obama3", "biden")
    missing = [n for n in names if not (IMAGES / f"{n}.jpg").exists()]
    if missing:
        pytest.skip(f"fixture portraits missing: {missing} (python -m proctor.fixtures_setup)")
    from PIL import Image, ImageOps

    out = {n: (IMAGES / f"{n}.jpg").read_bytes() for n in names}
    im = Image.open(io.BytesIO(out["biden"])).convert("RGB")
    w = im.size[0]
    # a light-from-the-left variant: a different dHash (≥ 6 bits), the same person
    lit = np.asarray(im).astype(np.float32) * np.linspace(1.15, 0.45, w)[None, :, None]
    variants = {
        "biden_m": ImageOps.mirror(im),
        "biden_lit": Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8)),
    }
    for n in ("obama2", "obama3"):
        variants[n + "_m"] = ImageOps.mirror(Image.open(io.BytesIO(out[n])).convert("RGB"))
    for name, v in variants.items():
        buf = io.BytesIO()
        v.save(buf, "JPEG", quality=92)
        out[name] = buf.getvalue()
    return out


@pytest.fixture(scope="module")
def verifier():  # type: ignore[no-untyped-def]
    from proctor.pipeline import build_verifier

    return build_verifier()


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalEngine]:
    eng = LocalEngine(ReviewProfile(), workers=1)
    yield eng
    eng.close()


@dataclass
class Env:
    storage: Storage
    clock: FakeClock
    sessions: SessionService
    strict_sessions: SessionService  # online proxy flags off: only re-verification can flag
    cases: ReviewCaseService
    review: ReviewService
    exams: ExamService
    adjudication: AdjudicationService
    db: Path

    def uow(self) -> Any:
        return review_uow_factory(self.storage)

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.db)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()


@pytest.fixture
def env(tmp_path: Path, verifier) -> Iterator[Env]:  # type: ignore[no-untyped-def]
    storage = open_storage(
        f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path, master_key=bytes(range(32))
    )
    clock = FakeClock()  # 2026-01-05 09:00 Asia/Shanghai, a Monday

    def uow() -> Any:
        return records_uow_factory(storage)

    def ruow() -> Any:
        return review_uow_factory(storage)

    rules = load_policy()
    calendar = ChineseWorkdayCalendar(unknown_year_mode=UnknownYearMode.WEEKDAY_FALLBACK)
    # Distinct photos only; near-duplicate checks off so that the only flags are proxy flags.
    replay = ReplayPolicy(near_duplicate_max_hamming_bits=0)
    policy = replace(registry_policy(verifier.model_id), replay=replay)
    sessions = SessionService(uow, verifier, clock, policy=policy)
    strict_policy = replace(policy, flags=FlagPolicy(proxy_margin_l2=2.0))
    strict = SessionService(uow, verifier, clock, policy=strict_policy)
    cases = ReviewCaseService(ruow, clock, calendar, rules)
    adjudication = AdjudicationService(uow, clock, cases=cases)
    review = ReviewService(uow, adjudication, verifier, clock, cases=cases)
    exams = ExamService(uow, sessions, load_bank(), rules.exam, clock)
    yield Env(
        storage, clock, sessions, strict, cases, review, exams, adjudication, tmp_path / "p.db"
    )
    storage.engine.dispose()


PROXY = ("biden", "biden_m", "biden_lit")


def proxied_study(e: Env, svc: SessionService, driver: str, photos: dict[str, bytes]) -> str:
    """Enrolled from obama, three different photos of another person at the entry check."""
    svc.enroll(driver, [photos["obama"]])
    v = svc.open_session(driver, SessionKind.STUDY)
    challenge = v.challenge
    for name in PROXY:
        assert challenge is not None
        r = svc.submit_snapshot(v.session_id, driver, challenge.id, photos[name])
        assert not r.passed, r
        challenge = r.session.challenge
    assert r.session.state == "terminated_invalid"
    return v.session_id


def flags_of(e: Env, session_id: str) -> int:
    return int(e.sql("select count(*) from flag where session_id = ?", session_id)[0][0])


def flag_cases(e: Env) -> int:
    return int(e.sql("select count(*) from review_case where kind = 'flag'")[0][0])


def run_job(e: Env, engine: LocalEngine, sel: Selection, job_id: str | None = None) -> Any:
    job = BatchJob(e.uow, engine, e.clock, review_zones(), cases=e.cases)
    jid = job.start(sel, job_id)
    return job.run(jid), job


def test_a_flag_is_raised_once_never_twice(
    env: Env, photos: dict[str, bytes], engine: LocalEngine
) -> None:
    e = env
    # A: the online path raised no flag; B: the online path flagged the proxy.
    quiet = proxied_study(e, e.strict_sessions, "drv-quiet", photos)
    loud = proxied_study(e, e.sessions, "drv-loud", photos)
    assert flags_of(e, quiet) == 0
    assert flags_of(e, loud) == 1
    for sid, driver in ((quiet, "drv-quiet"), (loud, "drv-loud")):
        e.review.request_fuxi(sid, driver, "不是别人，是我本人")
    reviewer = "rev-1"
    claimed = [e.review.claim(reviewer) for _ in range(3)]  # the online flag, then both 复核
    assert all(claimed)
    assert flag_cases(e) == 1  # the online flag's case, opened by the claim
    fuxi = {sid: e.cases.case_of(CaseKind.FUXI, sid) for sid in (quiet, loud)}
    assert all(c is not None and c.assigned_to == reviewer for c in fuxi.values())

    sel = Selection(case_ids=tuple(c.id for c in fuxi.values() if c), assigned_to=reviewer)
    state, _ = run_job(e, engine, sel, "job-1")
    assert state.status == "finished" and state.done == state.total == 2
    with e.uow() as uow:
        reports = uow.review_jobs.results("job-1")
    for c in fuxi.values():
        assert c is not None
        assert reports[c.id]["recommendation"] == "confirm_mismatch", reports[c.id]
    assert state.summary["new_flags"] == 1  # only the session the online path did not flag
    assert flags_of(e, quiet) == 1 and flags_of(e, loud) == 1
    assert flag_cases(e) == 2  # the re-verification flag opened its own case, once

    # re-running the finished job: nothing processed, nothing changed
    again, job2 = run_job(e, engine, sel, "job-1")
    assert job2.images == 0 and again.summary == state.summary
    # a new job over the same cases, and one over every case (flag cases included)
    fresh, _ = run_job(e, engine, sel, "job-2")
    assert fresh.summary["new_flags"] == 0
    e.cases.sync_flags()
    everything, _ = run_job(e, engine, Selection(), "job-3")
    assert everything.summary["new_flags"] == 0
    assert flags_of(e, quiet) == 1 and flags_of(e, loud) == 1
    assert flag_cases(e) == 2
    assert e.cases.sync_flags() == 0  # every flag already has its case
    with e.uow() as uow:
        for c in fuxi.values():
            assert c is not None
            again_case = uow.review_cases.get(c.id)
            assert again_case is not None and again_case.recommendation == "confirm_mismatch"
    # the reviewer's case view of a flag carries the recommendation and its evidence
    flag_id = str(e.sql("select id from flag where session_id = ?", quiet)[0][0])
    rv = e.review.reverification(CaseKind.FLAG, flag_id)
    assert rv is not None and rv.report is not None
    assert rv.case.recommendation == rv.report["recommendation"] == "confirm_mismatch"
    assert all(s["distances"] for s in rv.report["snapshots"])
    assert e.storage.verify_audit().ok


def answer_all(e: Env, session_id: str, driver: str, genuine: list[bytes]) -> None:
    """Answer every question right; a random capture on the way gets a genuine photo."""
    answers = {q.id: q.answer for q in load_bank().questions}
    for i in range(20):
        try:
            q, _ = e.exams.next_question(session_id, driver)
        except CapturePending as pending:  # a random capture comes before the question
            cid = pending.details["challenge_id"]
            r = e.sessions.submit_snapshot(session_id, driver, cid, genuine.pop(0))
            assert r.passed, r
            q, _ = e.exams.next_question(session_id, driver)
        e.exams.answer(session_id, driver, i, answers[q.question_id])


def test_passing_fuxi_validates_the_exam_and_reduces_points(
    env: Env, photos: dict[str, bytes]
) -> None:
    e, driver, start_points = env, "drv-exam", 6
    e.sessions.enroll(driver, [photos["obama"]])
    with e.uow() as uow:
        uow.driver_records.put(
            driver, {"first_licence_date": "2015-03-01", "cycle_points": start_points}
        )
        uow.commit()
    v = e.exams.start(driver)
    assert v.challenge is not None
    assert e.sessions.submit_snapshot(v.session_id, driver, v.challenge.id, photos["obama2"]).passed
    answer_all(e, v.session_id, driver, [photos[n] for n in ("obama3", "obama2_m", "obama3_m")])
    challenge = e.sessions.heartbeat(v.session_id, driver).challenge
    assert challenge is not None and challenge.kind == "exam_end"
    for name in PROXY:  # the final real-person check fails three times (then retries)
        assert challenge is not None
        r = e.sessions.submit_snapshot(v.session_id, driver, challenge.id, photos[name])
        challenge = r.session.challenge
    assert r.session.state == "terminated_invalid"
    outcome = e.exams.finish(v.session_id, driver)
    assert outcome["valid"] is False and outcome["passed"] is False

    m = e.review.request_fuxi(v.session_id, driver, "是本人")
    case = e.cases.case_of(CaseKind.FUXI, v.session_id)
    assert case is not None
    rules = load_policy()
    calendar = ChineseWorkdayCalendar(unknown_year_mode=UnknownYearMode.WEEKDAY_FALLBACK)
    due = review_due(local_date(e.clock.now()), calendar, rules.review, rules.calendar)
    assert case.due_on == due.last_day > local_date(e.clock.now())
    with pytest.raises(Exception, match="already requested"):
        e.review.request_fuxi(v.session_id, driver, "again")  # once per exam record
    claimed = [e.review.claim("rev-2") for _ in range(2)]  # the proxy flag, then the 复核
    assert m.id in claimed
    e.clock.advance(hours=20)
    decided = e.review.decide_manual(m.id, "rev-2", True, "抓拍为本人，光线导致误判")
    assert decided.decision == "approved"

    with e.uow() as uow:
        exam = uow.exams.get(v.session_id)
        record = uow.driver_records.get(driver)
        case_after = uow.review_cases.get(case.id)
    assert exam is not None and exam.outcome is not None and record is not None
    assert exam.outcome["valid"] is True and exam.outcome["passed"] is True
    removed = award_points(Mode.ONLINE, rules.points)
    reduction = exam.outcome["point_reduction"]
    assert reduction["status"] == "applied" and reduction["removed_points"] == removed
    assert record["cycle_points"] == start_points - removed
    assert record["reductions"][-1]["points"] == removed
    assert case_after is not None and case_after.status is CaseStatus.DECIDED
    assert case_after.decision_reasons == ("抓拍为本人，光线导致误判",)
    kinds = [k for (k,) in e.sql("select kind from notification_outbox where driver_id=?", driver)]
    assert {"review_decided", "points_reduced", "fuxi_decided"} <= set(kinds)
    # deciding again is refused and never reduces twice
    with pytest.raises(Exception, match="already decided"):
        e.review.decide_manual(m.id, "rev-2", True, "again")
    with e.uow() as uow:
        assert uow.driver_records.get(driver)["cycle_points"] == start_points - removed  # type: ignore[index]


def retention(e: Env, evidence_ids: list[str]) -> dict[str, Any]:
    with e.uow() as uow:
        return {eid: uow.evidence.retention_of(eid) for eid in evidence_ids}


def test_case_holds_evidence_until_decided_and_reading_never_extends(
    env: Env, photos: dict[str, bytes], engine: LocalEngine
) -> None:
    e = env
    held_sid = proxied_study(e, e.strict_sessions, "drv-held", photos)
    plain_sid = proxied_study(e, e.strict_sessions, "drv-plain", photos)  # no 复核
    closed = e.clock.now()
    with e.uow() as uow:
        held_ev, plain_ev = uow.evidence.for_session(held_sid), uow.evidence.for_session(plain_sid)
    assert held_ev and plain_ev
    before = retention(e, held_ev)
    assert all(r == (RetentionClass.FAILED, closed + timedelta(hours=24)) for r in before.values())

    e.clock.advance(hours=1)
    m = e.review.request_fuxi(held_sid, "drv-held", "是本人")
    assert all(r == (RetentionClass.REVIEW_HELD, None) for r in retention(e, held_ev).values())
    e.review.claim("rev-3")

    # past the 24 h close window: the plain session's crops go, the held ones stay
    e.clock.set(closed + timedelta(hours=30))
    purged = purge_evidence(lambda: records_uow_factory(e.storage), e.clock)
    assert purged.get(RetentionClass.FAILED.value, 0) == len(plain_ev)
    assert all(r is None for r in retention(e, plain_ev).values())
    # reading for re-verification and the reviewer's view do not touch retention
    snapshot = retention(e, held_ev)
    case = e.cases.case_of(CaseKind.FUXI, held_sid)
    assert case is not None
    state, _ = run_job(e, engine, Selection(case_ids=(case.id,)), "job-r1")
    assert state.done == 1
    e.review.evidence(m.id, held_ev[0], "rev-3", "review")
    assert retention(e, held_ev) == snapshot

    # the re-verification confirmed the mismatch and raised a flag, whose case needs the crops
    flag_id = str(e.sql("select id from flag where session_id = ?", held_sid)[0][0])
    flag_case = e.cases.case_of(CaseKind.FLAG, flag_id)
    assert flag_case is not None and flag_case.status is not CaseStatus.DECIDED

    # the 复核 decision (two days later): the hold moves to the still-open flag case
    e.clock.advance(days=2)
    e.review.decide_manual(m.id, "rev-3", False, "确非本人")
    assert retention(e, held_ev) == snapshot
    # the flag's human decision releases it: the normal class runs from that decision
    assert e.review.claim("rev-3") == flag_id
    e.review.review_flag(flag_id, "rev-3", "dismiss", "证据不足以认定替考")
    e.clock.advance(hours=3)
    decided_at = e.clock.now()
    e.adjudication.decide_flag(flag_id, "adj-1", False)
    after = retention(e, held_ev)
    flagged = {eid for eid, r in after.items() if r and r[0] is RetentionClass.FLAGGED}
    assert flagged and all(
        r is not None and r[1] == decided_at + AFTER_DECISION for r in after.values()
    )
    # reading again just before expiry changes nothing; at expiry the crops are gone
    e.clock.set(decided_at + AFTER_DECISION - timedelta(minutes=5))
    run_job(e, engine, Selection(case_ids=(case.id,)), "job-r2")
    assert retention(e, held_ev) == after
    e.clock.set(decided_at + AFTER_DECISION + timedelta(seconds=1))
    purge_evidence(lambda: records_uow_factory(e.storage), e.clock)
    assert all(r is None for r in retention(e, held_ev).values())
    late, _ = run_job(e, engine, Selection(case_ids=(case.id,)), "job-r3")
    with e.uow() as uow:
        report = uow.review_jobs.results("job-r3")[case.id]
    assert report["recommendation"] == "needs_human"
    assert {s["quality_reasons"][0] for s in report["snapshots"]} == {"evidence_missing"}
    assert late.done == 1
