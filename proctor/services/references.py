"""Where the reference comes from (issue 17): authority photo, 实人认证, ID-photo fallback,
and replacement by two staff members.

- ``set_authority``: the operator path (admin route, ``proctor enroll``, the
  traffic-management sync) sets the real-name photo. It is the only way to create the
  first reference; a driver cannot write it. A second call for a driver who has one is
  refused (``reference_exists``): replacing goes through ``request_replacement``.
- ``verify_live`` (实人认证): a live burst matched against the authority photo. On
  success its capture becomes an additional, dated ``live_verified`` reference; the
  authority photo is never replaced. A copy of the authority photo is refused
  (``reference_replayed``). On failure the driver sends a photo holding their ID
  (``POST /v1/me/identity-review`` without a session) and a reviewer's approval records
  an ``id_photo_approved`` verification (``apply_id_photo_decision``).
- ``request_replacement`` / ``decide_replacement``: a staff member with a reason asks,
  a *different* staff member approves; both audited; at most ``replacement_limit``
  requests per driver in ``replacement_window``. The superseded photo's crop stays
  readable to reviewers (in the driver's reference bucket) for ``superseded_keep``,
  then the retention purge deletes it.

Only templates (sealed) and face crops (encrypted evidence) are kept, never a photo.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.decision.capture import (
    CaptureContext,
    CaptureMeasurements,
    LivenessMeasure,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.errors import ProctorError
from proctor.liveness.outcome import BurstChecker, BurstJudge
from proctor.liveness.reference_replay import (
    mirrored_fingerprints,
    nearest_hamming_bits,
)
from proctor.liveness.replay import Fingerprint
from proctor.matching.decision import template_distance
from proctor.ports import FaceVerifier
from proctor.services.common import NotFound, new_id
from proctor.services.ports import NotificationEvent, RetentionClass
from proctor.services.records import ConsentService, reference_bucket
from proctor.services.reference_ports import (
    DatedTemplate,
    ReferenceKind,
    ReferenceRecord,
    ReferenceStatus,
    ReferenceUnitOfWork,
)
from proctor.services.template_keys import live_key, mirror_key, pending_key, pending_mirror_key
from proctor.session.adjudication import SameHumanTwice
from proctor.types import Template

# The action a 实人认证 burst shows (12123's own check asks for a blink).
LIVE_ACTIONS: tuple[str, ...] = ("blink",)
NEXT_ID_PHOTO = "identity_review"  # what a driver does after a failed 实人认证


class ReferenceExists(ProctorError):
    """The first reference is set once; replacing it needs two staff members."""

    code = "reference_exists"


class ReferenceRefused(ProctorError):
    code = "reference_refused"


class ReplacementRateLimited(ProctorError):
    code = "replacement_rate_limited"


class NoAuthorityReference(ProctorError):
    code = "no_authority_reference"


@dataclass(frozen=True, slots=True)
class VerificationView:
    """A driver's reference situation (no biometrics)."""

    authority_reference: bool
    verified: bool
    kind: str | None
    verified_at: datetime | None
    valid_until: datetime | None
    references: tuple[tuple[str, str, datetime], ...]  # (kind, status, created_at)


@dataclass(frozen=True, slots=True)
class LiveVerificationResult:
    passed: bool
    reasons: tuple[str, ...]
    distance: float | None
    threshold: float | None
    next_step: str | None
    view: VerificationView


class ReferenceService:
    def __init__(
        self,
        uow: Callable[[], ReferenceUnitOfWork],
        verifier: FaceVerifier,
        consent: ConsentService,
        clock: Clock,
        enroll: Callable[[str, Sequence[bytes], str], str],
        mirror: Callable[[bytes], Template | None],
        *,
        burst_judge: BurstJudge | None = None,
        burst_check: BurstChecker | None = None,
        policy: OperatingPolicy | Callable[[], OperatingPolicy],
        live_valid: timedelta = timedelta(days=365),
        replacement_limit: int = 2,
        replacement_window: timedelta = timedelta(days=30),
        superseded_keep: timedelta = timedelta(days=3 * 365),
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._verifier, self._consent, self._clock = uow, verifier, consent, clock
        self._enroll = enroll  # SessionService.enroll: template + replay fingerprints
        self._mirror = mirror  # SessionService.mirror_template
        self._burst = burst_judge
        # decodes a burst before anything is judged: an unusable upload costs nothing
        self._burst_check = burst_check
        # the operating policy every capture is decided with (a callable names the live
        # s-norm cohort, as for a session's captures)
        self._policy = policy if callable(policy) else (lambda: policy)
        self._live_valid = live_valid
        self._limit, self._window = replacement_limit, replacement_window
        self._superseded_keep = superseded_keep
        self._rng = rng or default_rng()

    # ---- authority photo ------------------------------------------------------------------
    def set_authority(
        self, driver_id: str, photo: bytes, operator_id: str, display_name: str = ""
    ) -> ReferenceRecord:
        """The first reference of a driver, from the authority (consent first).

        Also the authority's photo sent again after a face-model change: a reference whose
        template another model made is never compared (``reference_model_outdated``), so
        the operator path enrols it again with the model in service, audited as such. A
        reference of the model in service is replaced only by two staff members."""
        self._consent.require(driver_id)
        model = getattr(self._verifier, "model_id", None)
        outdated: str | None = None
        with self._uow() as uow:
            sk = uow.drivers.subject_key(driver_id)
            current = uow.templates.get(sk) if sk is not None else None
            if current is not None:
                if model is None or current.model_id == model:
                    raise ReferenceExists(
                        "this driver has a reference; a replacement needs two staff members",
                        details={"driver_id": driver_id},
                    )
                outdated = current.model_id
        sk = self._enroll(driver_id, [photo], display_name)
        now = self._clock.now()
        with self._uow() as uow:
            template = uow.templates.get(sk)
            assert template is not None  # enroll just stored it
        crop = self._verifier.measure(template, photo).face_crop_jpeg
        with self._uow() as uow:
            evidence_id = self._keep_crop(uow, sk, crop, RetentionClass.REFERENCE, now)
            for old in uow.references.for_subject(sk):  # an earlier one erased with consent
                if old.kind is ReferenceKind.AUTHORITY and old.status is ReferenceStatus.ACTIVE:
                    old.status, old.decided_at = ReferenceStatus.SUPERSEDED, now
                    uow.references.save(old)
            record = ReferenceRecord(
                id=new_id(self._rng),
                subject_key=sk,
                kind=ReferenceKind.AUTHORITY,
                status=ReferenceStatus.ACTIVE,
                created_at=now,
                requested_by=operator_id,
                template_key=sk,
                evidence_id=evidence_id,
            )
            uow.references.add(record)
            details: dict[str, object] = {"reference_id": record.id, "model_id": template.model_id}
            if outdated is not None:
                details["replaces_model_id"] = outdated
            uow.audit.append(
                actor=operator_id,
                action="authority_reference_set"
                if outdated is None
                else "authority_reference_reenrolled",
                subject=driver_id,
                details=details,
                at=now,
            )
            uow.commit()
        return record

    # ---- 实人认证 -----------------------------------------------------------------------------
    def verify_live(
        self, driver_id: str, upload: Sequence[bytes] | bytes
    ) -> LiveVerificationResult:
        """A live burst (blink) against the authority photo; success adds a dated
        ``live_verified`` reference, failure points to the ID-holding photo."""
        if self._burst is None:
            raise NotFound("no burst judge is configured")
        self._consent.require(driver_id)
        decoded = self._burst_check.check_burst(upload) if self._burst_check else None
        sk, authority = self._comparable_authority(driver_id)
        judgement = self._burst.judge_burst(authority, upload, LIVE_ACTIONS, decoded)
        r = judgement.verification
        live = LivenessMeasure(judgement.liveness.passed, judgement.liveness.reasons)
        if r is None:
            measured = CaptureMeasurements.of_face(
                None, liveness=live, continuity=judgement.continuity
            )
        else:
            hashes, mirror = self._replay_refs(sk)
            md = None
            if mirror is not None and r.probe is not None:
                md = template_distance(r.probe, mirror)
            measured = CaptureMeasurements.of_face(
                r,
                liveness=live,
                reference_hash_bits=nearest_hamming_bits(r.perceptual_hash, hashes),
                reference_mirror_l2=md,
                continuity=judgement.continuity,  # no challenge id: no light code (issue 20)
            )
        # the same single decision as a session's entry capture (zones, copies, liveness);
        # an uncertain comparison is not a verification: the ID-photo path decides it
        decision = decide_capture(measured, CaptureContext(), self._policy())
        reasons: list[str] = [] if decision.passed else list(decision.reasons)
        now = self._clock.now()
        with self._uow() as uow:
            if reasons or r is None or r.probe is None:
                uow.audit.append(
                    actor=driver_id,
                    action="real_person_verification_failed",
                    subject=driver_id,
                    details={"reasons": reasons},
                    at=now,
                )
                uow.commit()
                passed = False
            else:
                self._store_live(uow, sk, r.probe, r.face_crop_jpeg, driver_id, now)
                uow.commit()
                passed = True
        view = self.verification(driver_id)
        return LiveVerificationResult(
            passed,
            tuple(dict.fromkeys(reasons)),
            decision.distance,
            decision.threshold,
            None if passed else NEXT_ID_PHOTO,
            view,
        )

    def _store_live(
        self,
        uow: ReferenceUnitOfWork,
        sk: str,
        probe: Template,
        crop: bytes | None,
        driver_id: str,
        now: datetime,
    ) -> None:
        for old in uow.references.for_subject(sk):
            if old.kind is ReferenceKind.LIVE_VERIFIED and old.status is ReferenceStatus.ACTIVE:
                old.status, old.decided_at = ReferenceStatus.SUPERSEDED, now
                uow.references.save(old)
                if old.evidence_id:
                    keep = now + self._superseded_keep
                    uow.evidence.set_retention([old.evidence_id], RetentionClass.REFERENCE, keep)
        uow.templates.put(live_key(sk), probe, now)
        record = ReferenceRecord(
            id=new_id(self._rng),
            subject_key=sk,
            kind=ReferenceKind.LIVE_VERIFIED,
            status=ReferenceStatus.ACTIVE,
            created_at=now,
            requested_by=driver_id,
            template_key=live_key(sk),
            evidence_id=self._keep_crop(uow, sk, crop, RetentionClass.REFERENCE, now),
            valid_until=now + self._live_valid,
        )
        uow.references.add(record)
        uow.audit.append(
            actor=driver_id,
            action="real_person_verified",
            subject=driver_id,
            details={"reference_id": record.id, "kind": record.kind.value},
            at=now,
        )

    def apply_id_photo_decision(
        self, uow: ReferenceUnitOfWork, driver_id: str, approved: bool, reviewer_id: str
    ) -> bool:
        """A reviewer's decision on an ID-holding photo sent without a session (the
        fallback after a failed 实人认证), inside the caller's transaction."""
        sk = uow.drivers.subject_key(driver_id)
        if sk is None or not approved:
            return False
        now = self._clock.now()
        record = ReferenceRecord(
            id=new_id(self._rng),
            subject_key=sk,
            kind=ReferenceKind.ID_PHOTO_APPROVED,
            status=ReferenceStatus.ACTIVE,
            created_at=now,
            requested_by=driver_id,
            decided_by=reviewer_id,
            decided_at=now,
            valid_until=now + self._live_valid,
        )
        uow.references.add(record)
        uow.audit.append(
            actor=reviewer_id,
            action="real_person_verified",
            subject=driver_id,
            details={"reference_id": record.id, "kind": record.kind.value},
            at=now,
        )
        return True

    def verification(self, driver_id: str) -> VerificationView:
        """Whether the driver has an authority photo and a valid real-person verification."""
        now = self._clock.now()
        with self._uow() as uow:
            sk = uow.drivers.subject_key(driver_id)
            records = uow.references.for_subject(sk) if sk else []
            has_authority = sk is not None and uow.templates.get(sk) is not None
            has_live = sk is not None and uow.templates.get(live_key(sk)) is not None
        # a verification counts against the authority photo in force when it was made:
        # a replaced (or erased and set again) photo needs a new one
        since = max(
            (
                r.created_at
                for r in records
                if r.kind is ReferenceKind.AUTHORITY and r.status is ReferenceStatus.ACTIVE
            ),
            default=None,
        )
        valid = [
            r
            for r in records
            if r.status is ReferenceStatus.ACTIVE
            and r.kind in (ReferenceKind.LIVE_VERIFIED, ReferenceKind.ID_PHOTO_APPROVED)
            and (r.valid_until is None or r.valid_until > now)
            and (r.kind is ReferenceKind.ID_PHOTO_APPROVED or has_live)
            and since is not None
            and r.created_at >= since
        ]
        newest = valid[-1] if valid and has_authority else None
        return VerificationView(
            authority_reference=has_authority,
            verified=newest is not None,
            kind=None if newest is None else newest.kind.value,
            verified_at=None if newest is None else newest.created_at,
            valid_until=None if newest is None else newest.valid_until,
            references=tuple((r.kind.value, r.status.value, r.created_at) for r in records),
        )

    def templates_for(self, driver_id: str) -> list[DatedTemplate]:
        """:class:`ReferenceTemplates` port: authority first, then the live-verified one."""
        now = self._clock.now()
        with self._uow() as uow:
            sk = uow.drivers.subject_key(driver_id)
            if sk is None:
                return []
            out: list[DatedTemplate] = []
            for r in reversed(uow.references.for_subject(sk)):
                if r.status is not ReferenceStatus.ACTIVE or r.template_key is None:
                    continue
                if r.valid_until is not None and r.valid_until <= now:
                    continue
                t = uow.templates.get(r.template_key)
                if t is not None:
                    out.append(DatedTemplate(r.kind, r.created_at, t))
        return sorted(out, key=lambda d: d.kind is not ReferenceKind.AUTHORITY)

    # ---- replacement by two staff members ---------------------------------------------------
    def request_replacement(
        self, driver_id: str, photo: bytes, staff_id: str, reason: str
    ) -> ReferenceRecord:
        if not reason.strip():
            raise ReferenceRefused("a replacement needs a reason", details={"reason": "no_reason"})
        self._consent.require(driver_id)
        now = self._clock.now()
        sk, _ = self._authority(driver_id)
        with self._uow() as uow:
            asked = [
                r
                for r in uow.references.for_subject(sk)
                if r.kind is ReferenceKind.AUTHORITY and r.reason
            ]
        if any(r.status is ReferenceStatus.PENDING for r in asked):
            raise ReferenceRefused(
                "a replacement for this driver is waiting for approval",
                details={"reason": "pending"},
            )
        recent = [r for r in asked if r.created_at > now - self._window]
        if len(recent) >= self._limit:
            raise ReplacementRateLimited(
                "too many reference replacements for this driver",
                details={"limit": self._limit, "window_days": self._window.days},
            )
        template = self._verifier.enroll([photo])
        mirrored = self._mirror(photo)
        check = self._verifier.measure(template, photo)
        fps = [Fingerprint(check.pixel_sha256, check.perceptual_hash)]
        record = ReferenceRecord(
            id=new_id(self._rng),
            subject_key=sk,
            kind=ReferenceKind.AUTHORITY,
            status=ReferenceStatus.PENDING,
            created_at=now,
            requested_by=staff_id,
            reason=reason,
        )
        with self._uow() as uow:
            record.template_key = pending_key(record.id)
            uow.templates.put(record.template_key, template, now)
            if mirrored is not None:
                uow.templates.put(pending_mirror_key(record.id), mirrored, now)
            # a copy of the new photo is a replay too, from now on
            for fp in fps + mirrored_fingerprints(template, fps):
                uow.fingerprints.add(sk, fp, now, reference=True)
            # held for the second staff member's decision
            record.evidence_id = self._keep_crop(
                uow, sk, check.face_crop_jpeg, RetentionClass.REVIEW_HELD, now
            )
            uow.references.add(record)
            uow.audit.append(
                actor=staff_id,
                action="reference_replacement_requested",
                subject=driver_id,
                details={"request_id": record.id, "reason": reason},
                at=now,
            )
            uow.commit()
        return record

    def decide_replacement(
        self, driver_id: str, request_id: str, staff_id: str, approve: bool, note: str = ""
    ) -> ReferenceRecord:
        now = self._clock.now()
        # consent withdrawn meanwhile: the request ends rejected, its template erased
        consented = self._consent.current(driver_id) is not None
        with self._uow() as uow:
            record = uow.references.get(request_id)
            sk = uow.drivers.subject_key(driver_id)
            if (
                record is None
                or record.subject_key != sk
                or record.status is not ReferenceStatus.PENDING
            ):
                raise NotFound(details={"request_id": request_id})
            if staff_id == record.requested_by:
                raise SameHumanTwice(
                    "a replacement is approved by a second staff member",
                    details={"request_id": request_id},
                )
            assert record.template_key is not None
            new = uow.templates.get(record.template_key)
            new_mirror = uow.templates.get(pending_mirror_key(record.id))
            uow.templates.delete(record.template_key)
            uow.templates.delete(pending_mirror_key(record.id))
            record.decided_by, record.decided_at = staff_id, now
            if approve and consented and new is not None:
                for old in uow.references.for_subject(record.subject_key):
                    if old.kind is ReferenceKind.AUTHORITY and old.status is ReferenceStatus.ACTIVE:
                        old.status, old.decided_at = ReferenceStatus.SUPERSEDED, now
                        uow.references.save(old)
                        if old.evidence_id:  # readable to reviewers until its retention ends
                            keep = now + self._superseded_keep
                            uow.evidence.set_retention(
                                [old.evidence_id], RetentionClass.REFERENCE, keep
                            )
                uow.templates.put(record.subject_key, new, now)
                uow.templates.delete(mirror_key(record.subject_key))
                if new_mirror is not None:
                    uow.templates.put(mirror_key(record.subject_key), new_mirror, now)
                record.status, record.template_key = ReferenceStatus.ACTIVE, record.subject_key
                if record.evidence_id:
                    uow.evidence.set_retention([record.evidence_id], RetentionClass.REFERENCE, None)
            else:
                record.status, record.template_key = ReferenceStatus.REJECTED, None
                if record.evidence_id:
                    keep = now + timedelta(hours=24)
                    uow.evidence.set_retention([record.evidence_id], RetentionClass.FAILED, keep)
            uow.references.save(record)
            uow.audit.append(
                actor=staff_id,
                action="reference_replacement_decided",
                subject=driver_id,
                details={
                    "request_id": record.id,
                    "approved": record.status is ReferenceStatus.ACTIVE,
                    "consent": consented,
                    "note": note,
                },
                at=now,
            )
            if record.status is ReferenceStatus.ACTIVE:
                uow.outbox.emit(
                    NotificationEvent(
                        "reference_replaced", driver_id, now, {"request_id": record.id}
                    )
                )
            uow.commit()
        return record

    # ---- internals ------------------------------------------------------------------------
    def _authority(self, driver_id: str) -> tuple[str, Template]:
        with self._uow() as uow:
            sk = uow.drivers.subject_key(driver_id)
            template = uow.templates.get(sk) if sk else None
        if sk is None or template is None:
            raise NoAuthorityReference(
                "no real-name photo from the authority for this driver",
                details={"driver_id": driver_id},
            )
        return sk, template

    def _comparable_authority(self, driver_id: str) -> tuple[str, Template]:
        """The authority template, refused when another face model made it: it is never
        compared (a replacement, which enrols it again, still reads it)."""
        sk, template = self._authority(driver_id)
        model = getattr(self._verifier, "model_id", None)
        if model is not None and template.model_id != model:
            # enrolled with another face model: never compared; the authority photo is
            # enrolled again (cards/dlib_resnet_v1_q8.md, "templates")
            raise NoAuthorityReference(
                "the real-name photo was enrolled with another face model: enrol it again",
                details={
                    "driver_id": driver_id,
                    "reason": "reference_model_outdated",
                    "reference_model": template.model_id,
                    "model": model,
                },
            )
        return sk, template

    def _replay_refs(self, sk: str) -> tuple[list[int], Template | None]:
        with self._uow() as uow:
            hashes = [fp.perceptual_hash for fp in uow.fingerprints.references(sk)]
            return hashes, uow.templates.get(mirror_key(sk))

    @staticmethod
    def _keep_crop(
        uow: ReferenceUnitOfWork,
        sk: str,
        crop: bytes | None,
        retention: RetentionClass,
        now: datetime,
    ) -> str | None:
        if not crop:
            return None
        return uow.evidence.put(
            crop, subject_key=sk, session_id=reference_bucket(sk), retention=retention, at=now
        )
