"""Composition root: settings → policies → real adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from proctor.clock import Clock, SystemClock
from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline, build_verifier
from proctor.types import Template, VerificationResult

if TYPE_CHECKING:
    from proctor.matching.session_decision import AnchorPolicy
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.ports import RecordsUnitOfWork
    from proctor.services.records import ApplicationService, ConsentService, EnrollmentService
    from proctor.services.review import ReviewService
    from proctor.services.sessions import SessionService


def build_pipeline(settings: ProctorSettings | None = None) -> Pipeline:
    s = settings or ProctorSettings()
    pipe = build_verifier(
        s.model_id,
        s.pipeline_config(),
        threshold_l2=s.threshold_l2,
        working_max_side_px=s.detect_working_side_px,
        models_dir=s.models_dir,
    )
    if s.cohort_path is not None:
        attach_cohort(pipe, s)
    return pipe


def attach_cohort(pipe: Pipeline, s: ProctorSettings) -> None:
    """Turn on s-norm: cohort templates plus the calibrated normalised threshold."""
    from proctor.calibration.cohort_file import load_cohort
    from proctor.calibration.points import load_points, zone_thresholds
    from proctor.embedding.registry import default_models_dir
    from proctor.errors import ModelUnavailable

    assert s.cohort_path is not None
    target = s.operating_target_fmr
    points = load_points(s.models_dir or default_models_dir())
    zones = zone_thresholds(points, pipe.model_id, s.operating_population, target, target)
    if zones is None or zones.match_z is None:
        raise ModelUnavailable(
            f"no s-norm operating point for {pipe.model_id}/{s.operating_population} at FMR "
            f"{target}; run `proctor calibrate`"
        )
    pipe.cohort = load_cohort(s.cohort_path, pipe.model_id, zones.top_k)
    pipe.match_policy = replace(pipe.match_policy, snorm_threshold=zones.match_z)


# ---- the HTTP service's container (issue 5) -----------------------------------------------------


@dataclass
class Container:
    """Everything the API needs, built once by :func:`build_container`. No HTTP in here."""

    settings: ProctorSettings
    pipeline: Pipeline
    clock: Clock
    sessions: SessionService
    adjudication: AdjudicationService
    consent: ConsentService
    enrollment: EnrollmentService
    applications: ApplicationService
    exams: ExamService
    review: ReviewService
    idempotency: IdempotencyService
    ping_db: Callable[[], None]
    audit_ok: Callable[[], bool]
    close: Callable[[], None]


def build_container(
    settings: ProctorSettings | None = None,
    *,
    pipeline: Pipeline | None = None,
    clock: Clock | None = None,
) -> Container:
    """Storage (migrated), the warmed pipeline and every use case, from one settings object."""
    from proctor.rules import ChineseWorkdayCalendar, load_bank, load_policy
    from proctor.rules.policy import UnknownYearMode
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.records import ApplicationService, ConsentService, EnrollmentService
    from proctor.services.review import ReviewService
    from proctor.services.sessions import SessionService
    from proctor.storage.records import ping, records_uow_factory
    from proctor.storage.uow import open_storage

    s = settings or ProctorSettings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    pipe = pipeline or build_pipeline(s)
    extra = (
        [build_pipeline(s) for _ in range(max(0, s.cpu_workers - 1))] if pipeline is None else []
    )
    verifier = PipelinePool([pipe, *extra])
    clk = clock or SystemClock()
    rules = load_policy()

    def uow() -> RecordsUnitOfWork:
        return records_uow_factory(storage)

    sessions = SessionService(
        uow,
        verifier,
        clk,
        capture_policy=s.capture_policy(),
        question_budget_s=s.question_budget_s,
        anchor_policy=anchor_policy(s, pipe.model_id),
    )
    adjudication = AdjudicationService(uow, clk)
    consent = ConsentService(uow, clk, s.consent_text_version)
    calendar = ChineseWorkdayCalendar(unknown_year_mode=UnknownYearMode.WEEKDAY_FALLBACK)
    return Container(
        settings=s,
        pipeline=pipe,
        clock=clk,
        sessions=sessions,
        adjudication=adjudication,
        consent=consent,
        enrollment=EnrollmentService(uow, sessions, verifier, consent, clk),
        applications=ApplicationService(uow, clk, rules, calendar),
        exams=ExamService(uow, sessions, load_bank(), rules.exam, clk),
        review=ReviewService(uow, adjudication, verifier, clk),
        idempotency=IdempotencyService(uow, clk, ttl_s=s.idempotency_ttl_s),
        ping_db=lambda: ping(storage),
        audit_ok=lambda: storage.verify_audit().ok,
        close=storage.engine.dispose,
    )


class PipelinePool:
    """``FaceVerifier`` over N independent pipelines, one per matching thread.

    The native detector/descriptor objects are not shared between threads: under
    concurrent load a shared instance crashed the process (``munmap_chunk``).
    """

    def __init__(self, pipelines: list[Pipeline]) -> None:
        import queue

        self._free: queue.Queue[Pipeline] = queue.Queue()
        self.model_id = pipelines[0].model_id
        for p in pipelines:
            self._free.put(p)

    def enroll(self, photos: Sequence[bytes]) -> Template:
        p = self._free.get()
        try:
            return p.enroll(photos)
        finally:
            self._free.put(p)

    def verify(self, reference: Template, probe: bytes) -> VerificationResult:
        p = self._free.get()
        try:
            return p.verify(reference, probe)
        finally:
            self._free.put(p)


def warm(pipeline: Pipeline, photo: bytes | None) -> None:
    """Run one enrol + verify so the first request does not pay for lazy initialisation."""
    if photo is None:
        return
    template = pipeline.enroll([photo])
    pipeline.verify(template, photo)


DEMO_DRIVER = "demo-driver"
DEMO_RECORD = {"first_licence_date": "2015-03-01", "cycle_points": 6}


def seed_demo(c: Container, photo: bytes | None) -> None:
    """The demo driver: a traffic record, a consent and (if a photo is given) an enrolment."""
    c.applications.put_record(DEMO_DRIVER, DEMO_RECORD)
    if c.consent.current(DEMO_DRIVER) is None:
        c.consent.give(DEMO_DRIVER, c.consent.text[2], "seed")
    if photo is not None:
        c.enrollment.enroll(DEMO_DRIVER, [photo], "演示驾驶人")


def anchor_policy(s: ProctorSettings, model_id: str) -> AnchorPolicy | None:
    """Calibrated session-anchor thresholds, or None (anchoring off or not calibrated)."""
    if not s.session_anchor:
        return None
    from proctor.calibration.points import anchor_thresholds, load_points
    from proctor.embedding.registry import default_models_dir
    from proctor.matching.session_decision import AnchorPolicy

    points = load_points(s.models_dir or default_models_dir())
    found = anchor_thresholds(points, model_id, s.anchor_target_fmr, s.operating_population)
    return None if found is None else AnchorPolicy(*found)
