"""Composition root: settings → policies → real adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proctor.clock import Clock, OffsetClock, SystemClock
from proctor.config import ProctorSettings
from proctor.decision.policy import OperatingPolicy
from proctor.imaging.transform import mirrored_jpeg
from proctor.operating_policy import load_operating_policy
from proctor.pipeline import Pipeline, build_verifier
from proctor.pipeline_pool import PipelinePool

if TYPE_CHECKING:
    from proctor.liveness.burst import BurstAnalyzer
    from proctor.notifications.admin import NotificationOps
    from proctor.notifications.sender import Sender
    from proctor.review.cases import ReviewCaseService
    from proctor.review.jobs import ReviewJobs
    from proctor.rules.calendar import WorkdayCalendar
    from proctor.rules.policy import RulesPolicy
    from proctor.scheduler.jobs import JobRun
    from proctor.scheduler.runner import Scheduler
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.application_flow import ApplicationFlow
    from proctor.services.cohort import CohortService
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.ports import RecordsUnitOfWork, UnitOfWork
    from proctor.services.records import ConsentService, EnrollmentService
    from proctor.services.references import ReferenceService
    from proctor.services.review import ReviewService
    from proctor.services.session_gate import SessionGate
    from proctor.services.sessions import SessionService
    from proctor.storage.uow import Storage
    from proctor.types import Template


def build_pipeline(settings: ProctorSettings | None = None) -> Pipeline:
    s = settings or ProctorSettings()
    pipe = build_verifier(
        s.model_id,
        s.pipeline_config(),
        working_max_side_px=s.detect_working_side_px,
        models_dir=s.models_dir,
    )
    if s.cohort_path is not None:
        attach_cohort(pipe, s)
    return pipe


def attach_cohort(pipe: Pipeline, s: ProctorSettings) -> None:
    """Turn on s-norm measurements: the cohort templates (its thresholds are the
    operating policy's, ``proctor.operating_policy``)."""
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
    applications: ApplicationFlow
    exams: ExamService
    review: ReviewService
    idempotency: IdempotencyService
    ping_db: Callable[[], None]
    audit_ok: Callable[[], bool]
    close: Callable[[], None]
    # 复核 review cases (opened by 复核 requests, flags, appeals) and reviewer re-verification
    # jobs (one background worker; the review profile runs in a separate process pool).
    review_cases: ReviewCaseService | None = None
    review_jobs: ReviewJobs | None = None
    # Periodic jobs (notification dispatch, retention purge, the application tick) under a
    # database lease, started by the API lifespan; the operator view of delivery.
    scheduler: Scheduler | None = None
    notifications: NotificationOps | None = None
    # Every capture threshold, loaded and validated once at start (``/readyz`` names it).
    policy: OperatingPolicy | None = None
    # The s-norm cohort from enrolled references (issue 21); None: raw thresholds decide.
    cohort: CohortService | None = None
    # The operating policy naming the live cohort (``policy`` + its id); ``policy`` if None.
    live_policy: Callable[[], OperatingPolicy] | None = None
    # the driver's way out of an open study session (issue 17 item 3)
    session_gate: SessionGate | None = None
    # Where references come from: authority photo, 实人认证, replacement (issue 17).
    references: ReferenceService | None = None


def build_container(
    settings: ProctorSettings | None = None,
    *,
    pipeline: Pipeline | None = None,
    clock: Clock | None = None,
) -> Container:
    """Storage (migrated), the warmed pipeline and every use case, from one settings object."""
    from proctor.cohort_wiring import LivePolicy, build_cohort
    from proctor.rules import load_bank, load_policy
    from proctor.rules.calendar import ReloadingCalendar
    from proctor.rules.deadlines import review_due
    from proctor.rules.policy import UnknownYearMode
    from proctor.rules.timeutil import local_date
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.application_flow import ApplicationFlow
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.records import ConsentService, EnrollmentService
    from proctor.services.references import ReferenceService
    from proctor.services.review import ReviewService
    from proctor.services.session_gate import SessionGate, admit, admit_capture
    from proctor.services.sessions import SessionService
    from proctor.services.two_references import live_template
    from proctor.storage.records import SqlAlchemyRecordsUnitOfWork, ping, records_uow_factory
    from proctor.storage.uow import open_storage

    s = settings or ProctorSettings()
    s.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    pipe = pipeline or build_pipeline(s)
    policy = load_operating_policy(s, pipe.model_id)  # refuses to start when not calibrated
    extra = (
        [build_pipeline(s) for _ in range(max(0, s.cpu_workers - 1))] if pipeline is None else []
    )
    verifier = PipelinePool(
        [pipe, *extra],
        burst_factory=burst_analyzer_factory(s, policy),
        burst_limits=s.burst_limits(),
    )
    if s.liveness_bursts:
        verifier.warm_bursts()  # load and digest-check the 68-point predictors at start
    clk = clock or (OffsetClock() if s.dev_clock else SystemClock())
    cohort = build_cohort(s, policy, storage, clk, [pipe, *extra])
    live = LivePolicy(policy, pipe)
    rules = load_policy()

    def uow() -> RecordsUnitOfWork:
        return records_uow_factory(storage)

    def live_reference(u: UnitOfWork, subject_key: str) -> Template | None:
        # the driver's valid live_verified reference (实人认证): the two-reference rule
        if policy.two_references is None:
            return None
        assert isinstance(u, SqlAlchemyRecordsUnitOfWork)  # it carries .references
        return live_template(u, subject_key, clk.now())

    sessions = SessionService(
        uow,
        verifier,
        clk,
        policy=live,
        capture_policy=s.capture_policy(),
        question_budget_s=s.question_budget_s,
        burst_judge=verifier,
        image_check=verifier.check_image,
        burst_check=verifier,
        admit=admit,
        admit_capture=admit_capture,
        mirror_image=mirrored_jpeg,
        live_reference=live_reference,
        cohort=pipe.current_cohort,
    )
    calendar = ReloadingCalendar(s.calendar_overrides, UnknownYearMode.WEEKDAY_FALLBACK)
    cases, jobs = build_review(s, storage, clk, calendar, rules)
    adjudication = AdjudicationService(uow, clk, cases=cases)
    consent = ConsentService(lambda: records_uow_factory(storage), clk, s.consent_text_version)
    references = ReferenceService(
        lambda: records_uow_factory(storage),
        verifier,
        consent,
        clk,
        sessions.enroll,
        sessions.mirror_template,
        burst_judge=verifier,
        burst_check=verifier,
        policy=live,
    )

    def on_identity(uow: RecordsUnitOfWork, subject: str, approve: bool, who: str) -> bool:
        # a session waiting for an ID review, else the 实人认证 fallback (no session)
        if sessions.apply_identity_review(uow, subject, approve, who):
            return True
        assert isinstance(uow, SqlAlchemyRecordsUnitOfWork)  # it carries .references
        return references.apply_id_photo_decision(uow, subject, approve, who)

    applications = ApplicationFlow(uow, clk, rules, calendar)
    cases.on_fuxi_decided = applications.review_decided_in
    exams = ExamService(
        uow, sessions, load_bank(), rules.exam, clk, on_finished=applications.exam_finished_in
    )
    applications.finish_exam = exams.finish
    c = Container(
        settings=s,
        pipeline=pipe,
        clock=clk,
        sessions=sessions,
        adjudication=adjudication,
        consent=consent,
        enrollment=EnrollmentService(uow, sessions, verifier, consent, clk),
        applications=applications,
        exams=exams,
        review=ReviewService(
            uow,
            adjudication,
            verifier,
            clk,
            due=lambda at: review_due(local_date(at), calendar, rules.review, rules.calendar),
            on_identity_decided=on_identity,
            cases=cases,
        ),
        idempotency=IdempotencyService(uow, clk, ttl_s=s.idempotency_ttl_s),
        ping_db=lambda: ping(storage),
        audit_ok=lambda: audit_ok(storage, s.resolved_audit_checkpoints()),
        close=closer(jobs.close, storage.engine.dispose),
        review_cases=cases,
        review_jobs=jobs,
        policy=policy,
        cohort=cohort,
        live_policy=live,
        session_gate=SessionGate(uow, clk),
        references=references,
    )
    c.notifications = build_notifications(s, storage, clk)
    c.scheduler = build_scheduler(s, storage, clk, c.notifications, c.applications)
    register_cohort_refresh(c.scheduler, cohort, s.cohort_refresh_s)
    return c


def closer(*steps: Callable[[], None]) -> Callable[[], None]:
    def close() -> None:
        for step in steps:
            step()

    return close


REVIEW_JOB_WORKERS = 1  # one review-profile process: at most one core taken from matching


def build_review(
    s: ProctorSettings,
    storage: Storage,
    clock: Clock,
    calendar: WorkdayCalendar,
    rules: RulesPolicy,
) -> tuple[ReviewCaseService, ReviewJobs]:
    """Review cases and the background re-verification jobs (resumed if any were running)."""
    from proctor.review.cases import ReviewCaseService
    from proctor.review.engines import LocalEngine
    from proctor.review.jobs import ReviewJobs
    from proctor.review.profile import ReviewProfile
    from proctor.review.zones import review_zones
    from proctor.storage.review_repo import SqlAlchemyReviewUnitOfWork, review_uow_factory

    def uow() -> SqlAlchemyReviewUnitOfWork:
        return review_uow_factory(storage)

    models_dir = str(s.models_dir) if s.models_dir else None
    cases = ReviewCaseService(uow, clock, calendar, rules)
    jobs = ReviewJobs(
        uow,
        clock,
        cases,
        lambda: review_zones(s.model_id, s.operating_population, models_dir=s.models_dir),
        lambda: LocalEngine(ReviewProfile(models_dir=models_dir), REVIEW_JOB_WORKERS),
    )
    jobs.resume()
    return cases, jobs


def burst_analyzer_factory(
    s: ProctorSettings, policy: OperatingPolicy | None = None
) -> Callable[[Pipeline], BurstAnalyzer]:
    """Builds one ``BurstAnalyzer`` over a worker's own pipeline (FaceMesh landmarks by
    default, digest-checked); its multi-frame probe is the operating policy's ``fusion``
    (issue 21)."""

    def make(p: Pipeline) -> BurstAnalyzer:
        from proctor.liveness.burst import BurstAnalyzer

        fusion = (policy or load_operating_policy(s, p.model_id)).fusion
        return BurstAnalyzer(p, limits=s.burst_limits(), fusion=fusion)

    return make


def warm(pipeline: Pipeline, photo: bytes | None) -> None:
    """Run one enrol + verify so the first request does not pay for lazy initialisation."""
    if photo is None:
        return
    template = pipeline.enroll([photo])
    pipeline.measure(template, photo)


DEMO_DRIVER = "demo-driver"
DEMO_RECORD = {"first_licence_date": "2015-03-01", "cycle_points": 6}


def seed_demo(c: Container, photo: bytes | None) -> None:
    """The demo driver: a traffic record, a consent and (if a photo is given) an enrolment."""
    c.applications.put_record(DEMO_DRIVER, DEMO_RECORD)
    if c.consent.current(DEMO_DRIVER) is None:
        c.consent.give(DEMO_DRIVER, c.consent.text[2], "seed")
    refs = c.references
    # the authority path, as the traffic-management sync would (issue 17)
    if (
        photo is not None
        and refs is not None
        and not refs.verification(DEMO_DRIVER).authority_reference
    ):
        refs.set_authority(DEMO_DRIVER, photo, "demo-seed", "演示驾驶人")


def audit_ok(storage: Storage, checkpoints: Path) -> bool:
    """The audit chain, and its newest signed checkpoint when there is one (tail cuts)."""
    from proctor.storage.audit_anchor import verify_with_checkpoint_file

    with storage.sessionmaker() as s:
        return verify_with_checkpoint_file(s, storage.audit_key, checkpoints)[0].ok


# ---- scheduler and notifications (issue 18) ----------------------------------------------------


def build_sender(s: ProctorSettings, clock: Clock) -> Sender:
    """The configured ``Sender``: log (default), a JSON-lines file, or the signed webhook."""
    from proctor.notifications.sender import FileSender, LoggingSender
    from proctor.notifications.webhook import WebhookSender

    if s.notify_sender == "file":
        return FileSender(s.resolved_notify_file())
    if s.notify_sender == "webhook":
        if not s.notify_webhook_url or s.notify_webhook_secret is None:
            raise ValueError(
                "PROCTOR_NOTIFY_SENDER=webhook needs PROCTOR_NOTIFY_WEBHOOK_URL and "
                "PROCTOR_NOTIFY_WEBHOOK_SECRET"
            )
        secret = s.notify_webhook_secret.get_secret_value().encode()
        return WebhookSender(s.notify_webhook_url, secret, clock, s.notify_webhook_timeout_s)
    return LoggingSender()


def replica_id() -> str:
    """This process's name in leases and claims: host, pid and a random suffix."""
    import os
    import secrets
    import socket

    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def audit_appender(
    storage: Storage, clock: Clock
) -> Callable[[str, str, str, Mapping[str, Any]], None]:
    """``(actor, action, subject, details)`` → one audit entry in its own transaction."""
    from proctor.storage.records import records_uow_factory

    def append(actor: str, action: str, subject: str, details: Mapping[str, Any]) -> None:
        with records_uow_factory(storage) as uow:
            uow.audit.append(
                actor=actor, action=action, subject=subject, details=dict(details), at=clock.now()
            )
            uow.commit()

    return append


def build_notifications(
    s: ProctorSettings, storage: Storage, clock: Clock, holder: str | None = None
) -> NotificationOps:
    from proctor.notifications.admin import NotificationOps
    from proctor.notifications.dispatcher import Dispatcher
    from proctor.notifications.retry import RetryPolicy
    from proctor.storage.outbox_repo import SqlDeliveryQueue

    queue = SqlDeliveryQueue(storage)
    policy = RetryPolicy(
        max_attempts=s.notify_max_attempts,
        base_delay_s=s.notify_backoff_base_s,
        max_delay_s=s.notify_backoff_max_s,
        max_age_s=s.notify_max_age_s,
    )
    dispatcher = Dispatcher(
        queue, build_sender(s, clock), holder or replica_id(), policy, lease_s=s.scheduler_lease_s
    )
    return NotificationOps(queue, dispatcher, clock, audit_appender(storage, clock))


SCHEDULER_ACTOR = "system:scheduler"


def build_scheduler(
    s: ProctorSettings,
    storage: Storage,
    clock: Clock,
    notifications: NotificationOps,
    applications: object | None = None,
    holder: str | None = None,
) -> Scheduler:
    """The job runner with its jobs: notification dispatch, evidence purge and (when the
    application service has one) the application ``tick``. Runs that did work or failed are
    audited."""
    from proctor.scheduler.jobs import FunctionJob
    from proctor.scheduler.runner import Scheduler
    from proctor.services.retention import purge_evidence
    from proctor.storage.scheduler_repo import SqlLeaseStore

    audit = audit_appender(storage, clock)

    def on_run(run: JobRun) -> None:
        if run.did_work:
            details = {"tick": run.tick, "holder": run.holder, "token": run.token}
            details |= {"status": run.status, "summary": dict(run.summary)}
            audit(SCHEDULER_ACTOR, "scheduled_job_run", run.job, details)

    sched = Scheduler(
        SqlLeaseStore(storage),
        clock,
        holder or notifications.dispatcher.holder,
        poll_s=s.scheduler_poll_s,
        lease_s=s.scheduler_lease_s,
        on_run=on_run,
    )
    sched.register(
        FunctionJob("notifications.dispatch", notifications.dispatch), s.notify_dispatch_interval_s
    )
    sched.register(
        FunctionJob("evidence.purge", lambda now: purge_evidence(storage.uow, _FixedClock(now))),
        s.purge_interval_s,
    )
    register_application_tick(sched, applications, s.application_tick_interval_s)
    return sched


def register_cohort_refresh(
    sched: Scheduler, cohort: CohortService | None, interval_s: float
) -> bool:
    """Schedule the s-norm cohort's refresh from enrolled references (issue 21): one audited
    ``CohortService.refresh`` per ``cohort_refresh_s``. Returns whether it was registered."""
    from proctor.scheduler.jobs import FunctionJob

    if cohort is None:
        return False

    def run(_: datetime) -> dict[str, object]:
        st = cohort.refresh()
        return {"refreshed": 1, "mode": st.mode, "size": st.size, "cohort_id": st.cohort_id}

    sched.register(FunctionJob("cohort.refresh", run), interval_s)
    return True


def register_application_tick(sched: Scheduler, applications: object, interval_s: float) -> bool:
    """Schedule ``applications.tick(now)`` (issue 18 item 1: windows, voids, due 复核,
    reminders) when the application service has it. Returns whether it was registered."""
    from proctor.scheduler.jobs import FunctionJob

    tick = getattr(applications, "tick", None)
    if not callable(tick):
        return False

    def run(now: datetime) -> dict[str, object]:
        return job_summary(tick(now))

    sched.register(FunctionJob("applications.tick", run), interval_s)
    return True


def job_summary(result: object) -> dict[str, object]:
    """A job result as a summary: a mapping as is, a dataclass as its fields."""
    import dataclasses
    from collections.abc import Mapping

    if isinstance(result, Mapping):
        return dict(result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return {} if result is None else {"result": str(result)[:200]}


class _FixedClock:
    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at
