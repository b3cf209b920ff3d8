"""Settings, read once in the composition root (env prefix ``PROCTOR_``).

The core never sees settings: it receives the frozen policies built here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from proctor.capture.policy import CapturePolicy
from proctor.imaging.decode import DecodeLimits
from proctor.pipeline import PipelineConfig
from proctor.quality.policy import QualityPolicy

if TYPE_CHECKING:
    from proctor.liveness.burst import BurstLimits


class ProctorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_", env_nested_delimiter="__")

    model_id: str | None = None
    threshold_l2: float | None = None  # overrides the registry's calibrated threshold
    models_dir: Path | None = None
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 16_000_000
    detect_working_side_px: int = 320
    enroll_jitters: int = 1
    snapshot_extra_face_ratio: float = 0.5
    # Cohort s-norm: a file of other people's templates (`proctor cohort build`) and the
    # calibrated operating point (models/operating_points.toml) whose threshold is used.
    cohort_path: Path | None = None
    # Production s-norm (issue 21), ON by default: "references" samples one enrolled
    # reference per driver (topped up by an operator import: `proctor cohort import`),
    # refreshed at start and by the scheduler's job; "file" uses cohort_path only; "off"
    # decides raw. Below cohort_min_size the raw thresholds decide and /readyz says so.
    cohort_source: str = "references"
    cohort_size: int = 1000  # at most this many templates in the cohort
    cohort_min_size: int = 300  # z spread / decision flips by size: models/cards/dlib_resnet_v1.md
    cohort_seed: int = 0  # seed of the one-reference-per-driver sample
    cohort_refresh_s: float = 24 * 3600.0  # the scheduler's period for CohortService.refresh
    # Multi-frame probes at entry and exam start (bursts): fuse the k best frames' embeddings
    # (k and weighting chosen on the dev clips); 1 compares the single best frame.
    fusion_k: int = 5  # chosen on the dev clips (`proctor bench fusion`, the card)
    fusion_weighting: str = "quality"  # "quality" (frontality) or "uniform"
    # Session anchoring: later captures are judged against the session's own first
    # passing capture (threshold at this FMR on same-session clips) and loosely
    # against the reference (the population's raw EER threshold).
    session_anchor: bool = True
    anchor_target_fmr: str = "0.001"
    operating_population: str = "asian-dev"
    operating_target_fmr: str = "0.01"
    # Three zones for reference checks (entry): match at FMR 0.1%, no_match beyond the
    # FMR 1% threshold, uncertain between them → manual review with an ID-holding photo
    # instead of a strike. Thresholds come from models/operating_points.toml.
    three_zones: bool = True
    zone_match_fmr: str = "0.003"  # issue 21: with s-norm, sessions bench on dev data
    zone_no_match_fmr: str = "0.01"
    # Two references (issue 21): a later check of a driver with a valid live_verified
    # reference (实人认证) compares with both under this calibrated rule ("mean" of the two
    # scores, or "max"), on the rule's own zones at zone_match_fmr / zone_no_match_fmr
    # (models/operating_points.toml, `<population>-two-references`). 实人认证 itself, and
    # a driver without one, are decided by the authority photo alone.
    two_references: bool = True  # compare later checks with both references (when verified)
    two_reference_rule: str = "mean"  # "mean" (shipped, chosen on dev data) or "max"
    reference_extra_face_ratio: float = 0.35

    # ---- service (api/) -------------------------------------------------------------------
    data_dir: Path = Path("var")
    # Signed audit checkpoints (`proctor audit checkpoint`), kept apart from the database in
    # production; default: <data_dir>/audit-checkpoints.jsonl. The auditor route checks them.
    audit_checkpoints: Path | None = None
    database_url: str | None = None  # default: sqlite under data_dir
    token_secret: SecretStr | None = None  # None: a random per-process secret (dev only)
    token_ttl_s: int = 3600
    dev_token_endpoint: bool = False  # POST /v1/dev/tokens; never enable in production
    seed_demo: bool = False  # seed the demo driver and staff on start
    cpu_workers: int = 2  # matching threads; one per core is this machine's capacity
    cpu_queue: int = 4  # admitted-but-waiting comparisons before 503
    retry_after_s: int = 2
    snapshot_max_bytes: int = 2 * 1024 * 1024
    json_max_bytes: int = 64 * 1024
    rate_limit_per_min: float = 120.0  # per driver, token bucket refill
    rate_limit_burst: int = 30
    # Replicas share the per-driver buckets through Redis when set (redis://host:6379/0);
    # unset: each process keeps its own (api/ratelimit.py).
    rate_limit_redis_url: str | None = None
    rate_limit_redis_prefix: str = "proctor:rl:"
    # Staff tokens per subject, and requests without a token per client address (issue 17).
    # A capture that copies the reference photo fails as reference_replayed (issue 17):
    # chip dHash within these bits of the reference's (or its mirror's), or L2 below the
    # floor to the reference template (or to the mirrored photo's). Measured in SECURITY.md.
    reference_replay_hash_bits: int = 6
    reference_replay_floor_l2: float = 0.15  # L2 below which a capture is a copy
    # a capture whose chip dHash is within these bits of an earlier snapshot or of the
    # reference is flagged replay_suspected for a human (never failed: a still driver
    # makes near-identical frames)
    replay_near_bits: int = 5
    staff_rate_limit_per_min: float = 600.0  # staff requests per subject
    staff_rate_limit_burst: int = 120  # staff burst allowance
    client_rate_limit_per_min: float = 600.0  # token-less requests per client address
    client_rate_limit_burst: int = 120  # token-less burst allowance
    # The address `proctor serve` binds (set by it): the dev token endpoint refuses to
    # start on anything but loopback.
    bind_host: str = "127.0.0.1"
    idempotency_ttl_s: int = 24 * 3600
    consent_text_version: str = "biometric-consent/2026-05"
    capture_challenge_ttl_s: float = 90.0
    capture_study_block_s: float = 1800.0
    capture_study_min_gap_s: float = 300.0
    capture_study_per_block: int = 2
    capture_study_horizon_s: float = 4 * 3600.0
    question_budget_s: float = 60.0
    # ---- liveness bursts (issue 10) ------------------------------------------------------
    # ON by default for entry and exam start: those challenges always ask for 1-2 random
    # actions (blink, turn left/right, open mouth) answered by POST .../bursts; a snapshot
    # gets 409 burst_required. Random captures stay single snapshots unless
    # ``liveness_random_share`` > 0 (each burst costs about five snapshots of CPU, and
    # every burst is a chance to reject an honest driver: models/cards/liveness.md has the
    # measured BPCER). The reference driver page records and uploads bursts. Turn off with
    # PROCTOR_LIVENESS_BURSTS=false for a snapshot-only client. The burst route itself is
    # always served: a challenge without actions may also be answered with a burst.
    liveness_bursts: bool = True
    liveness_random_share: float = 0.0
    liveness_min_actions: int = 1
    liveness_max_actions: int = 2
    # the actions challenges draw from, comma-separated (e.g. "blink,turn_left,turn_right"
    # to leave out open_mouth, which has only 2 labelled events: models/cards/liveness.md)
    liveness_actions: str = "blink,turn_left,turn_right,open_mouth"
    burst_max_frames: int = 30  # image parts in one multipart burst (2 s at 15 fps)
    burst_max_bytes: int = 12 * 1024 * 1024  # the whole burst request body (413 before reading)
    burst_clip_max_bytes: int = 8 * 1024 * 1024  # one WebM/MP4 clip
    burst_clip_max_s: float = 4.0
    # ---- scheduler and notifications (issue 18) ------------------------------------------
    # The job runner inside `proctor serve`: every replica polls; a database lease lets
    # exactly one of them run each tick of each job (proctor/scheduler).
    scheduler_enabled: bool = True
    scheduler_poll_s: float = 5.0  # how often each replica looks for due jobs
    scheduler_lease_s: float = 300.0  # a dead holder's jobs move to another replica after this
    application_tick_interval_s: float = 60.0  # windows, voids, due 复核, reminders
    purge_interval_s: float = 3600.0  # evidence retention purge
    notify_dispatch_interval_s: float = 30.0  # notification outbox dispatch
    notify_sender: Literal["log", "file", "webhook"] = "log"  # where notifications go
    notify_file_path: Path | None = None  # default: <data_dir>/notifications.jsonl
    notify_webhook_url: str | None = None  # https://, or http:// to a loopback host
    notify_webhook_secret: SecretStr | None = None  # HMAC-SHA256 key, at least 16 bytes
    notify_webhook_timeout_s: float = 5.0  # one webhook call
    notify_max_attempts: int = 8  # then the message is parked for an operator
    notify_backoff_base_s: float = 30.0  # first retry delay (doubles)
    notify_backoff_max_s: float = 3600.0  # longest retry delay
    notify_max_age_s: float = 7 * 86400.0  # older unsent messages are parked, not sent
    # ---- the application lifecycle (issue 18) --------------------------------------------
    # Study and exam sessions belong to an application in the right state (approved and in
    # its window; study complete). Off only for tests of the face checks alone.
    application_gate: bool = True
    # Operator override of the working-day calendar, re-read when it changes (default: the
    # packaged proctor/rules/data/calendar_overrides.toml). Add a year here when chinesecalendar
    # lacks it: deadlines waiting for it (pending_calendar) resolve on the next tick.
    calendar_overrides: Path | None = None
    # /readyz warns this many days before the last known calendar year ends
    calendar_warning_days: int = 60
    # Demo and test only: a clock that an admin moves forward (POST /v1/dev/clock), so the
    # walkthrough's 30 minutes of study and next-day window run in seconds. `proctor serve`
    # refuses it on a non-loopback address; never enable it in production.
    dev_clock: bool = False
    # ---- liveness bursts (issue 20) ------------------------------------------------------
    # Screen-light code: every burst challenge carries a random sequence of screen colours
    # the page shows while recording; the face must reflect it in order and time
    # (light_code_missing / _mismatch / _shifted). Turn off with
    # PROCTOR_LIVENESS_LIGHT_CODE=false for devices that cannot show it full-screen: the
    # fallback is actions + flat motion + continuity + identity (models/cards/liveness.md
    # gives each configuration's APCER).
    liveness_light_code: bool = True
    # Continuity: a cut or warp jump between two tracked frames fails the burst
    # (continuity_broken); limits calibrated on the genuine clips (models/cards/liveness.md).
    liveness_continuity: bool = True

    def resolved_audit_checkpoints(self) -> Path:
        return self.audit_checkpoints or self.data_dir / "audit-checkpoints.jsonl"

    def resolved_notify_file(self) -> Path:
        return self.notify_file_path or self.data_dir / "notifications.jsonl"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'proctor.db'}"

    def capture_policy(self) -> CapturePolicy:
        return CapturePolicy(
            challenge_ttl_s=self.capture_challenge_ttl_s,
            study_block_s=self.capture_study_block_s,
            study_min_gap_s=self.capture_study_min_gap_s,
            study_captures_per_block=self.capture_study_per_block,
            study_horizon_s=max(self.capture_study_horizon_s, self.capture_study_block_s),
            liveness_bursts=self.liveness_bursts,
            liveness_random_share=self.liveness_random_share,
            liveness_min_actions=self.liveness_min_actions,
            liveness_max_actions=self.liveness_max_actions,
            liveness_actions=self.liveness_actions,
        )

    def burst_limits(self) -> BurstLimits:
        """Upload caps of one burst; every frame also obeys ``decode_limits`` and the
        snapshot body cap (checked by the route)."""
        from proctor.liveness.burst import BurstLimits

        return BurstLimits(
            max_frames=self.burst_max_frames,
            max_total_bytes=self.burst_max_bytes,
            max_clip_bytes=min(self.burst_clip_max_bytes, self.burst_max_bytes),
            max_clip_duration_s=self.burst_clip_max_s,
            frames_from_clip=min(30, self.burst_max_frames),
        )

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)

    def pipeline_config(self) -> PipelineConfig:
        from dataclasses import replace

        snap = replace(
            QualityPolicy.snapshot(), extra_face_width_ratio=self.snapshot_extra_face_ratio
        )
        ref = replace(
            QualityPolicy.reference(), extra_face_width_ratio=self.reference_extra_face_ratio
        )
        return PipelineConfig(self.decode_limits(), snap, ref, enroll_jitters=self.enroll_jitters)
