"""Composition root: settings → policies → real adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from proctor.clock import Clock, SystemClock
from proctor.config import ProctorSettings
from proctor.imaging.decode import decode_image
from proctor.pipeline import Pipeline, build_verifier
from proctor.types import Template, VerificationResult

if TYPE_CHECKING:
    from proctor.liveness.burst import BurstAnalyzer, BurstLimits
    from proctor.liveness.outcome import BurstJudgement
    from proctor.liveness.reference_replay import ReferenceReplayPolicy
    from proctor.matching.session_decision import AnchorPolicy, ZonePolicy
    from proctor.review.cases import ReviewCaseService
    from proctor.review.jobs import ReviewJobs
    from proctor.rules.calendar import WorkdayCalendar
    from proctor.rules.policy import RulesPolicy
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.ports import RecordsUnitOfWork
    from proctor.services.records import ApplicationService, ConsentService, EnrollmentService
    from proctor.services.references import ReferenceService
    from proctor.services.review import ReviewService
    from proctor.services.sessions import SessionService
    from proctor.storage.uow import Storage


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
    # Liveness bursts: the pool that judges them (also ``sessions``' burst judge).
    bursts: PipelinePool | None = None
    # 复核 review cases (opened by 复核 requests, flags, appeals) and reviewer re-verification
    # jobs (one background worker; the review profile runs in a separate process pool).
    review_cases: ReviewCaseService | None = None
    review_jobs: ReviewJobs | None = None
    # Where references come from: authority photo, 实人认证, replacement (issue 17).
    references: ReferenceService | None = None


def build_container(
    settings: ProctorSettings | None = None,
    *,
    pipeline: Pipeline | None = None,
    clock: Clock | None = None,
) -> Container:
    """Storage (migrated), the warmed pipeline and every use case, from one settings object."""
    from proctor.rules import ChineseWorkdayCalendar, load_bank, load_policy
    from proctor.rules.deadlines import review_due
    from proctor.rules.policy import UnknownYearMode
    from proctor.rules.timeutil import local_date
    from proctor.services.adjudication import AdjudicationService
    from proctor.services.exams import ExamService
    from proctor.services.idempotency import IdempotencyService
    from proctor.services.records import ApplicationService, ConsentService, EnrollmentService
    from proctor.services.references import ReferenceService
    from proctor.services.review import ReviewService
    from proctor.services.sessions import SessionService
    from proctor.storage.records import SqlAlchemyRecordsUnitOfWork, ping, records_uow_factory
    from proctor.storage.uow import open_storage

    s = settings or ProctorSettings()
    s.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage = open_storage(s.resolved_database_url(), data_dir=s.data_dir)
    pipe = pipeline or build_pipeline(s)
    extra = (
        [build_pipeline(s) for _ in range(max(0, s.cpu_workers - 1))] if pipeline is None else []
    )
    verifier = PipelinePool(
        [pipe, *extra], burst_factory=burst_analyzer_factory(s), burst_limits=s.burst_limits()
    )
    if s.liveness_bursts:
        verifier.warm_bursts()  # load and digest-check the 68-point predictors at start
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
        burst_judge=verifier,
        anchor_policy=anchor_policy(s, pipe.model_id),
        zone_policy=zone_policy(s, pipe.model_id),
        image_check=verifier.check_image,
        image_release=verifier.release_image,
        reference_replay_policy=reference_replay_policy(s),
    )
    calendar = ChineseWorkdayCalendar(unknown_year_mode=UnknownYearMode.WEEKDAY_FALLBACK)
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
        replay_policy=reference_replay_policy(s),
    )

    def on_identity(uow: RecordsUnitOfWork, subject: str, approve: bool, who: str) -> bool:
        # a session waiting for an ID review, else the 实人认证 fallback (no session)
        if sessions.apply_identity_review(uow, subject, approve, who):
            return True
        assert isinstance(uow, SqlAlchemyRecordsUnitOfWork)  # it carries .references
        return references.apply_id_photo_decision(uow, subject, approve, who)

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
        bursts=verifier,
        review_cases=cases,
        review_jobs=jobs,
        references=references,
    )


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


def burst_analyzer_factory(s: ProctorSettings) -> Callable[[Pipeline], BurstAnalyzer]:
    """Builds one ``BurstAnalyzer`` over a worker's own pipeline (digest-checked 68 points)."""

    def make(p: Pipeline) -> BurstAnalyzer:
        from proctor.embedding.registry import model_spec, verify_files
        from proctor.liveness.burst import BurstAnalyzer

        spec = model_spec(p.model_id, s.models_dir)
        verify_files(spec)
        return BurstAnalyzer(p, spec.file("landmarks68"), limits=s.burst_limits())

    return make


class _Worker:
    __slots__ = ("analyzer", "pipeline")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.analyzer: BurstAnalyzer | None = None


class PipelinePool:
    """``FaceVerifier`` and ``BurstJudge`` over N independent workers, one per matching thread.

    The native detector/descriptor objects are not shared between threads: under
    concurrent load a shared instance crashed the process (``munmap_chunk``). A worker
    is its pipeline plus, built on its first burst, a ``BurstAnalyzer`` over that same
    pipeline with its own 68-point predictor, so a burst and a snapshot never run on
    one worker's dlib objects at once.
    """

    def __init__(
        self,
        pipelines: list[Pipeline],
        burst_factory: Callable[[Pipeline], BurstAnalyzer] | None = None,
        burst_limits: BurstLimits | None = None,
    ) -> None:
        import queue
        import threading

        self._free: queue.Queue[_Worker] = queue.Queue()
        self._burst_factory = burst_factory
        self.burst_limits = burst_limits
        self._decode_limits = pipelines[0].config.decode_limits
        self._checked = threading.local()
        self.model_id = pipelines[0].model_id
        self.size = len(pipelines)
        for p in pipelines:
            self._free.put(_Worker(p))

    @contextmanager
    def _worker(self) -> Iterator[_Worker]:
        w = self._free.get()
        try:
            yield w
        finally:
            self._free.put(w)

    def enroll(self, photos: Sequence[bytes]) -> Template:
        with self._worker() as w:
            return w.pipeline.enroll(photos)

    def verify(self, reference: Template, probe: bytes) -> VerificationResult:
        """Compare; reuses this thread's ``check_image`` decode of ``probe`` (no second
        decode of the same upload)."""
        cached = getattr(self._checked, "image", None)
        self._checked.image = None
        with self._worker() as w:
            if cached is not None and cached[0] is probe:
                _, rgb, decode_ms = cached
                p = w.pipeline
                a = p.analyze_rgb(rgb, p.config.snapshot_quality, {"decode": decode_ms})
                return p.verify_analysis(reference, a)
            return w.pipeline.verify(reference, probe)

    def release_image(self) -> None:
        """Drop this thread's checked pixels (the upload was refused after the check)."""
        self._checked.image = None

    def check_image(self, probe: bytes) -> None:
        """Decode a snapshot only (no worker held: decoding is thread-safe). Raises its
        ``ImageError`` so that an unusable upload is refused before its challenge is
        claimed; the pixels are kept for this thread's next ``verify`` of the same bytes."""
        import time

        self._checked.image = None
        t0 = time.perf_counter()
        rgb = decode_image(probe, self._decode_limits).rgb
        self._checked.image = (probe, rgb, (time.perf_counter() - t0) * 1000.0)

    def judge_burst(
        self, reference: Template, upload: Sequence[bytes] | bytes, actions: Sequence[str]
    ) -> BurstJudgement:
        """Decode and judge; reuses this thread's ``check_burst`` decode of ``upload``."""
        cached = getattr(self._checked, "burst", None)
        self._checked.burst = None
        with self._worker() as w:
            analyzer = self._analyzer(w)
            if cached is not None and cached[0] is upload:
                _, decoded, decode_ms = cached
                return analyzer.judge_frames(
                    reference, decoded.frames, decoded.times_s, actions, {"decode": decode_ms}
                )
            return analyzer.judge_burst(reference, upload, actions)

    def check_burst(self, upload: Sequence[bytes] | bytes) -> int:
        """Decode the upload only (no face work, no worker held: decoding is thread-safe).

        Raises the burst's ``ImageError`` codes (``burst_too_large``, ``corrupt_video``,
        ``unsupported_video``, ``empty_burst``, ``corrupt_image``...), so that the route
        refuses an unusable upload before the challenge is claimed. The decoded frames are
        kept for this thread's next ``judge_burst`` of the same upload object (no second
        decode); call ``release_burst`` when done. Returns the number of frames.
        """
        import time

        from proctor.liveness.burst import BurstLimits, decode_clip, decode_frames

        self._checked.burst = None
        limits = self.burst_limits or BurstLimits()
        t0 = time.perf_counter()
        if isinstance(upload, bytes | bytearray | memoryview):
            decoded = decode_clip(bytes(upload), limits)
        else:
            decoded = decode_frames(list(upload), limits, self._decode_limits)
        self._checked.burst = (upload, decoded, (time.perf_counter() - t0) * 1000.0)
        return len(decoded.frames)

    def release_burst(self) -> None:
        """Drop this thread's decoded burst (if ``judge_burst`` did not consume it)."""
        self._checked.burst = None

    def warm_bursts(self) -> None:
        """Build every worker's analyzer now (start-up), instead of on its first burst."""
        workers = [self._free.get() for _ in range(self.size)]
        try:
            for w in workers:
                self._analyzer(w)
        finally:
            for w in workers:
                self._free.put(w)

    def _analyzer(self, w: _Worker) -> BurstAnalyzer:
        if w.analyzer is None:
            if self._burst_factory is None:
                from proctor.errors import ModelUnavailable

                raise ModelUnavailable("no burst analyzer is configured")
            w.analyzer = self._burst_factory(w.pipeline)
        return w.analyzer


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
    refs = c.references
    # the authority path, as the traffic-management sync would (issue 17)
    if (
        photo is not None
        and refs is not None
        and not refs.verification(DEMO_DRIVER).authority_reference
    ):
        refs.set_authority(DEMO_DRIVER, photo, "demo-seed", "演示驾驶人")


def reference_replay_policy(s: ProctorSettings) -> ReferenceReplayPolicy:
    from proctor.liveness.reference_replay import ReferenceReplayPolicy

    floor = s.reference_replay_floor_l2
    return ReferenceReplayPolicy(s.reference_replay_hash_bits, floor, floor)


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


def zone_policy(s: ProctorSettings, model_id: str) -> ZonePolicy | None:
    """Calibrated three-zone thresholds for reference checks, or None (off or not calibrated)."""
    if not s.three_zones:
        return None
    from proctor.calibration.points import load_points, zone_thresholds
    from proctor.embedding.registry import default_models_dir
    from proctor.matching.session_decision import ZonePolicy

    points = load_points(s.models_dir or default_models_dir())
    z = zone_thresholds(
        points, model_id, s.operating_population, s.zone_match_fmr, s.zone_no_match_fmr
    )
    if z is None:
        return None
    normalised = s.cohort_path is not None and z.match_z is not None
    return ZonePolicy(
        z.match_l2,
        z.no_match_l2,
        z.match_z if normalised else None,
        z.no_match_z if normalised else None,
    )


def audit_ok(storage: Storage, checkpoints: Path) -> bool:
    """The audit chain, and its newest signed checkpoint when there is one (tail cuts)."""
    from proctor.storage.audit_anchor import verify_with_checkpoint_file

    with storage.sessionmaker() as s:
        return verify_with_checkpoint_file(s, storage.audit_key, checkpoints)[0].ok
