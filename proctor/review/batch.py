"""Batch re-verification of review cases: orchestration over injected ports.

``BatchJob.start`` records the selected cases as job items; ``BatchJob.run``
processes the pending items in chunks and commits each case's report as it is
done (the checkpoint), so a killed job resumes where it stopped. A finished job
is returned as it is: running it again changes nothing. The last step links
proxy rings and raises at most one flag per case (recorded on the case), and
none for a session that already has an open flag; a raised flag opens its own
review case (``ReviewCaseService.open_flag_in``, once per flag).

Evidence is read only while inside its retention class (``delete_after`` in the
future or held), and reading never changes retention. Reports hold distances,
quality reasons and replay checks, never pixels or embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.review.cases import ReviewCaseService
from proctor.review.ports import Analysed, Engine, JobState, ReviewUnitOfWork, Selection, Task
from proctor.review.queue import CaseKind, Recommendation, ReviewCase
from proctor.review.report import (
    QualityLimits,
    ReviewZones,
    RingMember,
    SnapshotMeasure,
    case_report,
    group_id,
    link_rings,
)
from proctor.services.common import new_id
from proctor.services.ports import NotificationEvent
from proctor.services.records import reference_bucket
from proctor.session.adjudication import Flag

Progress = Callable[[int, int], None]
REVIEW_ACTOR = "review-batch"


@dataclass
class _Gathered:
    case: ReviewCase
    refs: list[Task] = field(default_factory=list)
    snaps: list[Task] = field(default_factory=list)
    skipped: list[SnapshotMeasure] = field(default_factory=list)
    template: tuple[str, np.ndarray] | None = None


@dataclass
class BatchJob:
    uow: Callable[[], ReviewUnitOfWork]
    engine: Engine
    clock: Clock
    zones: ReviewZones
    limits: QualityLimits = field(default_factory=QualityLimits)
    progress: Progress | None = None
    cases: ReviewCaseService | None = None  # opens the case of a flag the job raises
    images: int = 0
    seconds: float = 0.0
    _members: dict[str, list[RingMember]] = field(default_factory=dict)

    def start(
        self, selection: Selection, job_id: str | None = None, requested_by: str | None = None
    ) -> str:
        now = self.clock.now()
        with self.uow() as uow:
            if job_id is not None and uow.review_jobs.get(job_id) is not None:
                return job_id
            cases = uow.review_cases.select(selection)
            jid = job_id or new_id(default_rng())
            uow.review_jobs.create(
                jid, self.engine.name, selection, [c.id for c in cases], now, requested_by
            )
            uow.audit.append(
                actor=REVIEW_ACTOR,
                action="reverify_started",
                subject=jid,
                details={"cases": len(cases), "engine": self.engine.name},
                at=now,
            )
            uow.commit()
        return jid

    def run(self, job_id: str) -> JobState:
        with self.uow() as uow:
            job = uow.review_jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.status == "finished":
                return job
            pending = uow.review_jobs.pending(job_id)
        total, done = job.total, job.total - len(pending)
        self._tick(done, total)
        chunk = max(1, self.engine.workers)
        for i in range(0, len(pending), chunk):
            ids = pending[i : i + chunk]
            for case_id, report in self._process(ids):
                self._checkpoint(job_id, case_id, report)
                done += 1
                self._tick(done, total)
        return self._finish(job_id)

    # ---- steps ----------------------------------------------------------------------------
    def _tick(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _gather(self, case_id: str) -> _Gathered:
        now = self.clock.now()
        with self.uow() as uow:
            case = uow.review_cases.get(case_id)
            assert case is not None
            g = _Gathered(case)
            subject_key = uow.drivers.subject_key(case.driver_id)
            ref_ids = uow.evidence.for_session(reference_bucket(subject_key)) if subject_key else []
            for eid in sorted(ref_ids):
                data = self._read(uow, eid, now)
                if isinstance(data, bytes):
                    g.refs.append((eid, data))
            for eid in case.evidence_ids or tuple(uow.evidence.for_session(case.session_id)):
                data = self._read(uow, eid, now)
                if isinstance(data, bytes):
                    g.snaps.append((eid, data))
                else:
                    g.skipped.append(SnapshotMeasure(eid, data))
            template = uow.templates.get(subject_key) if subject_key else None
            if template is not None:
                g.template = (template.model_id, np.asarray(template.vector))
        return g

    @staticmethod
    def _read(uow: ReviewUnitOfWork, evidence_id: str, now: datetime) -> bytes | str:
        """The crop, or why it is not read. Never touches retention."""
        current = uow.evidence.retention_of(evidence_id)
        if current is None:
            return "evidence_missing"
        _, delete_after = current
        if delete_after is not None and delete_after <= now:
            return "retention_expired"
        return uow.evidence.read(evidence_id)

    def _analyse(self, tasks: Sequence[Task]) -> list[Analysed]:
        t0 = time.perf_counter()
        out = self.engine.run(tasks) if tasks else []
        self.seconds += time.perf_counter() - t0
        self.images += len(tasks)
        return out

    def _process(self, case_ids: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        gathered = [self._gather(c) for c in case_ids]
        tasks = [t for g in gathered for t in (*g.refs, *g.snaps)]
        results = iter(self._analyse(tasks))
        out = []
        for g in gathered:
            refs = [next(results) for _ in g.refs]
            snaps = [next(results) for _ in g.snaps]
            out.append((g.case.id, self._report(g, refs, snaps)))
        return out

    def _report(self, g: _Gathered, refs: list[Analysed], snaps: list[Analysed]) -> dict[str, Any]:
        ref_vec: dict[str, np.ndarray] = {}
        for key in {k for r in refs for k in r.vectors}:
            vs = [r.vectors[key] for r in refs if key in r.vectors and r.measure.face_count]
            if vs:
                ref_vec[key] = np.mean(np.stack(vs), axis=0)
        ref_measures = [r.measure for r in refs]
        if not ref_vec and g.template is not None:
            model_id, vec = g.template  # same model: comparable across runtimes
            keys = {k for s in snaps for k in s.vectors if k.startswith(model_id + "/")}
            ref_vec = dict.fromkeys(keys, vec)
            ref_measures = [SnapshotMeasure("template", "ok", face_count=1)]
        measures: list[SnapshotMeasure] = []
        members: list[RingMember] = []
        for s in snaps:
            d = {
                k: float(np.linalg.norm(v - ref_vec[k]))
                for k, v in s.vectors.items()
                if k in ref_vec
            }
            m = SnapshotMeasure(**{**_fields(s.measure), "distances": d})
            measures.append(m)
            if s.vectors:
                key = sorted(s.vectors)[0]
                members.append(
                    RingMember(g.case.id, g.case.driver_id, m.evidence_id, s.vectors[key])
                )
        report = case_report(
            g.case.id, [*measures, *g.skipped], ref_measures, self.zones, self.limits
        )
        mismatching = {r["evidence_id"] for r in report["snapshots"] if r["verdict"] == "mismatch"}
        self._members[g.case.id] = [m for m in members if m.evidence_id in mismatching]
        report["driver_id"] = g.case.driver_id
        return report

    def _checkpoint(self, job_id: str, case_id: str, report: dict[str, Any]) -> None:
        now = self.clock.now()
        with self.uow() as uow:
            uow.review_jobs.complete_item(job_id, case_id, report, now)
            case = uow.review_cases.get(case_id)
            assert case is not None
            case.recommendation = report["recommendation"]
            uow.review_cases.save(case)
            uow.commit()

    def _finish(self, job_id: str) -> JobState:
        now = self.clock.now()
        with self.uow() as uow:
            results = uow.review_jobs.results(job_id)
        # Cases finished before a resume: recompute their ring members (deterministic).
        missing = [
            c
            for c, r in results.items()
            if c not in self._members and any(s["verdict"] == "mismatch" for s in r["snapshots"])
        ]
        for i in range(0, len(missing), max(1, self.engine.workers)):
            self._process(missing[i : i + max(1, self.engine.workers)])
        members = [m for c in results for m in self._members.get(c, [])]
        groups = link_rings(members, self.zones.ring_l2)
        with self.uow() as uow:
            new_groups = 0
            for cases in groups:
                gid = group_id(cases)
                new_groups += uow.case_groups.upsert(gid, "proxy_ring", cases, now)
                for cid in cases:
                    case = uow.review_cases.get(cid)
                    if case is not None and case.group_id != gid:
                        case.group_id = gid
                        uow.review_cases.save(case)
            in_ring = {c for g in groups for c in g}
            flags = 0
            for cid, r in results.items():
                if r["recommendation"] == Recommendation.CONFIRM_MISMATCH.value or cid in in_ring:
                    flags += self._flag_once(uow, cid, r, cid in in_ring, now)
            summary = {
                "recommendations": _counts(r["recommendation"] for r in results.values()),
                "groups": [list(g) for g in groups],
                "new_groups": new_groups,
                "new_flags": flags,
                "images": self.images,
                "seconds": round(self.seconds, 3),
                "workers": self.engine.workers,
                "engine": self.engine.name,
            }
            uow.review_jobs.finish(job_id, summary, now)
            uow.audit.append(
                actor=REVIEW_ACTOR,
                action="reverify_finished",
                subject=job_id,
                details={k: v for k, v in summary.items() if k != "groups"},
                at=now,
            )
            uow.commit()
            job = uow.review_jobs.get(job_id)
        assert job is not None
        return job

    def _flag_once(
        self,
        uow: ReviewUnitOfWork,
        case_id: str,
        report: dict[str, Any],
        ring: bool,
        now: datetime,
    ) -> int:
        case = uow.review_cases.get(case_id)
        if case is None or case.kind is CaseKind.FLAG or "flag_id" in case.details:
            return 0
        if uow.sessions.get(case.session_id) is None:
            return 0  # no session record to flag (e.g. purged); the case keeps the report
        if uow.flags.open_for_session(case.session_id) is not None:
            return 0
        reasons = ("review_confirmed_mismatch", *(("proxy_ring",) if ring else ()))
        evidence = tuple(
            s["evidence_id"] for s in report["snapshots"] if s["verdict"] == "mismatch"
        )
        flag = Flag(
            id=new_id(default_rng()),
            session_id=case.session_id,
            driver_id=case.driver_id,
            raised_at=now,
            reasons=reasons,
            attempt_nos=(),
            evidence_ids=evidence,
        )
        uow.flags.add(flag)
        case.details["flag_id"] = flag.id
        uow.review_cases.save(case)
        uow.audit.append(
            actor=REVIEW_ACTOR,
            action="flag_recorded",
            subject=flag.id,
            details={"case_id": case_id, "reasons": list(reasons)},
            at=now,
        )
        uow.outbox.emit(
            NotificationEvent(
                "flag_raised",
                case.driver_id,
                now,
                {"flag_id": flag.id, "session_id": case.session_id, "reasons": list(reasons)},
            )
        )
        if self.cases is not None:
            self.cases.open_flag_in(uow, flag.id)
        return 1


def _fields(m: SnapshotMeasure) -> dict[str, Any]:
    return {f: getattr(m, f) for f in SnapshotMeasure.__dataclass_fields__}


def _counts(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def job_output(uow: Callable[[], ReviewUnitOfWork], job_id: str) -> dict[str, Any]:
    """The job's results as comparable JSON (case id → report; groups)."""
    with uow() as u:
        job = u.review_jobs.get(job_id)
        results = u.review_jobs.results(job_id)
        groups = [list(c) for _, _, c in u.case_groups.all()]
    return {
        "job_id": job_id,
        "status": job.status if job else None,
        "cases": results,
        "groups": groups,
    }
