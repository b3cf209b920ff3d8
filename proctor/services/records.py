"""Consent, enrolment with consent, and 学法减分 applications (use cases for the HTTP service).

A separate biometric consent (PIPL Art. 29) must be on record before enrolment,
before a session opens and before every capture. Enrolment keeps the template
(through ``SessionService.enroll``) and the reference *face crop*, encrypted,
so that a reviewer can compare crops; never the full photo. Applications run
the rules module's eligibility check on the driver's record from the
traffic-management source and persist the resulting state and reason codes.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from proctor.capture.schedule import default_rng
from proctor.clock import Clock
from proctor.errors import ProctorError
from proctor.ports import FaceVerifier
from proctor.rules import (
    Application,
    ApplicationState,
    RulesPolicy,
    WorkdayCalendar,
    check_eligibility,
)
from proctor.rules.driver import DriverRecord, ReductionRecord
from proctor.rules.states import ACTIVE
from proctor.rules.timeutil import require_aware
from proctor.services.applications import Lifecycle
from proctor.services.common import NotFound, new_id
from proctor.services.ports import (
    ApplicationRecord,
    ConsentRecord,
    RecordsUnitOfWork,
    RetentionClass,
)
from proctor.services.session_gate import end_open_sessions
from proctor.services.sessions import SessionService, anchor_key
from proctor.services.template_keys import extra_keys

CONSENT_TEXT = (
    "本人同意：为核验本人在本次学法减分学习/考试中在场，系统采集并通过互联网传输本人人脸图像，"
    "与实名认证照片比对。比对通过的抓拍在会话结束24小时后删除；被标记的证据按复核与申诉期限保存；"
    "人脸模板在同意有效期间保存，撤回同意后24小时内删除。如不同意，可前往车管所窗口现场学习。"
)


class ConsentRequired(ProctorError):
    code = "consent_required"


class DriverRecordMissing(ProctorError):
    code = "driver_record_missing"


class InvalidDriverRecord(ProctorError):
    """A field of the traffic-management record is not usable (details: ``field``)."""

    code = "invalid_driver_record"


# Evidence classes under a legal hold (PIPL Art. 47(2)): kept, not processed, after withdrawal.
HELD_CLASSES = frozenset(
    {RetentionClass.FLAGGED, RetentionClass.PROXY_CONFIRMED, RetentionClass.REVIEW_HELD}
)


class ConsentErasure(Protocol):
    """What consent withdrawal deletes, and what it must keep (SECURITY.md c.5)."""

    def sessions_of(self, driver_id: str) -> list[str]: ...

    def held_sessions(self, driver_id: str) -> set[str]:
        """Sessions whose evidence an open flag, case or manual review still needs."""
        ...

    def evidence_of(self, subject_key: str) -> list[tuple[str, str, RetentionClass]]:
        """(evidence id, session id, retention class) of every evidence object."""
        ...

    def delete_evidence(self, evidence_ids: Sequence[str]) -> int: ...

    def delete_fingerprints(self, subject_key: str) -> int: ...


class ErasureUnitOfWork(RecordsUnitOfWork, Protocol):
    @property
    def erasure(self) -> ConsentErasure: ...

    def __enter__(self) -> ErasureUnitOfWork: ...


def reference_bucket(subject_key: str) -> str:
    """The evidence 'session' under which a driver's reference crop is kept."""
    return f"ref-{subject_key}"[:64]


class ConsentService:
    """Separate biometric consent; withdrawing it deletes the driver's biometric data.

    Withdrawal, in one transaction with its audit entry: the reference template and the
    anchors of the driver's sessions, the replay fingerprints (pixel and perceptual
    hashes), and every evidence crop that is not under a hold. Kept: crops in a held
    class (flagged, proxy confirmed, review held) and crops of sessions that an open flag or manual
    review (复核, ID review) still needs; their retention runs as before.
    """

    def __init__(
        self,
        uow: Callable[[], ErasureUnitOfWork],
        clock: Clock,
        text_version: str,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._clock, self._version = uow, clock, text_version
        self._rng = rng or default_rng()

    @property
    def text(self) -> tuple[str, str, str]:
        """(version, text, sha256 of the text)."""
        return self._version, CONSENT_TEXT, hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()

    def give(self, driver_id: str, text_sha256: str, channel: str) -> ConsentRecord:
        version, _, digest = self.text
        if text_sha256 != digest:
            raise ConsentRequired(
                "the consent must name the current text", details={"text_sha256": digest}
            )
        now = self._clock.now()
        record = ConsentRecord(new_id(self._rng), driver_id, version, digest, channel, now)
        with self._uow() as uow:
            uow.consents.add(record)
            uow.audit.append(
                actor=driver_id,
                action="consent_given",
                subject=record.id,
                details={"text_version": version, "channel": channel},
                at=now,
            )
            uow.commit()
        return record

    def withdraw(self, driver_id: str) -> int:
        now = self._clock.now()
        with self._uow() as uow:
            n = uow.consents.withdraw(driver_id, now)
            ended = end_open_sessions(uow, driver_id, now)
            erased = self._erase(uow, driver_id)
            uow.audit.append(
                actor=driver_id,
                action="consent_withdrawn",
                subject=driver_id,
                details={"records": n, "erased": erased, "sessions_ended": ended},
                at=now,
            )
            uow.commit()
        return n

    @staticmethod
    def _erase(uow: ErasureUnitOfWork, driver_id: str) -> dict[str, int]:
        """Delete templates, fingerprints and unheld evidence; counts only, for the audit."""
        subject_key = uow.drivers.subject_key(driver_id)
        if subject_key is None:
            return {}
        sessions = uow.erasure.sessions_of(driver_id)
        held = uow.erasure.held_sessions(driver_id)
        kept, doomed = 0, []
        for evidence_id, session_id, retention in uow.erasure.evidence_of(subject_key):
            if retention in HELD_CLASSES or session_id in held:
                kept += 1
            else:
                doomed.append(evidence_id)
        had_template = uow.templates.get(subject_key) is not None
        uow.templates.delete(subject_key)
        for key in extra_keys(subject_key):  # mirrored reference, 实人认证 capture
            uow.templates.delete(key)
        for session_id in sessions:
            uow.templates.delete(anchor_key(session_id))
        return {
            "templates": int(had_template),
            "fingerprints": uow.erasure.delete_fingerprints(subject_key),
            "evidence_deleted": uow.erasure.delete_evidence(doomed),
            "evidence_held": kept,
        }

    def current(self, driver_id: str) -> ConsentRecord | None:
        with self._uow() as uow:
            return uow.consents.current(driver_id)

    def require(self, driver_id: str) -> None:
        if self.current(driver_id) is None:
            raise ConsentRequired("a separate biometric consent is required first")


class EnrollmentService:
    def __init__(
        self,
        uow: Callable[[], RecordsUnitOfWork],
        sessions: SessionService,
        verifier: FaceVerifier,
        consent: ConsentService,
        clock: Clock,
    ) -> None:
        self._uow, self._sessions, self._verifier = uow, sessions, verifier
        self._consent, self._clock = consent, clock

    def enroll(self, driver_id: str, photos: Sequence[bytes], display_name: str = "") -> str:
        """Enrol (consent first); keep the reference face crop for reviewers."""
        self._consent.require(driver_id)
        subject_key = self._sessions.enroll(driver_id, photos, display_name)
        with self._uow() as uow:
            template = uow.templates.get(subject_key)
        if template is None:  # pragma: no cover - enroll just stored it
            raise NotFound(details={"driver_id": driver_id})
        crop = self._verifier.measure(template, photos[0]).face_crop_jpeg
        if crop:
            now = self._clock.now()
            with self._uow() as uow:
                uow.evidence.put(
                    crop,
                    subject_key=subject_key,
                    session_id=reference_bucket(subject_key),
                    retention=RetentionClass.REFERENCE,
                    at=now,
                )
                uow.commit()
        return subject_key


def driver_record_from_json(driver_id: str, body: Mapping[str, Any]) -> DriverRecord:
    """The traffic-management record as stored (ISO dates) → :class:`DriverRecord`.

    A bad value raises ``invalid_driver_record`` naming the field (422 at the API): a date that
    does not parse, a naive ``last_violation_processed_at``, a negative count."""

    def field(name: str, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(body.get(name))
        except (TypeError, ValueError, KeyError) as exc:
            raise InvalidDriverRecord(
                f"{name}: {exc}", details={"field": name, "driver_id": driver_id}
            ) from None

    def d(v: Any) -> date | None:
        return date.fromisoformat(v) if v else None

    def ds(v: Any) -> tuple[date, ...]:
        return tuple(date.fromisoformat(x) for x in (v or ()))

    def instant(v: Any) -> datetime | None:
        if v is None:
            return None
        at = datetime.fromisoformat(v) if isinstance(v, str) else v
        if not isinstance(at, datetime):
            raise TypeError("expected an ISO 8601 instant")
        return require_aware(at, "last_violation_processed_at")

    first = field("first_licence_date", d)
    if first is None:
        raise DriverRecordMissing(details={"driver_id": driver_id})
    try:
        return _driver_record(driver_id, first, field, d, ds, instant, body)
    except ValueError as exc:  # DriverRecord's own checks start with the field's name
        name = str(exc).split(" ", 1)[0]
        raise InvalidDriverRecord(
            str(exc), details={"field": name, "driver_id": driver_id}
        ) from None


def _driver_record(
    driver_id: str,
    first: date,
    field: Callable[[str, Callable[[Any], Any]], Any],
    d: Callable[[Any], date | None],
    ds: Callable[[Any], tuple[date, ...]],
    instant: Callable[[Any], datetime | None],
    body: Mapping[str, Any],
) -> DriverRecord:
    return DriverRecord(
        driver_id=driver_id,
        first_licence_date=first,
        cycle_points=field("cycle_points", lambda v: int(v or 0)),
        carried_over_points=field("carried_over_points", lambda v: int(v or 0)),
        reductions=field(
            "reductions",
            lambda v: tuple(
                ReductionRecord(date.fromisoformat(r["on"]), int(r["points"])) for r in (v or ())
            ),
        ),
        pending_violation_count=field("pending_violation_count", lambda v: int(v or 0)),
        temporary_permit_date=field("temporary_permit_date", d),
        licence_grant_dates=field("licence_grant_dates", ds),
        licence_review_overdue=bool(body.get("licence_review_overdue", False)),
        licence_detained=bool(body.get("licence_detained", False)),
        vehicle_inspection_overdue=bool(body.get("vehicle_inspection_overdue", False)),
        vehicle_not_deregistered=bool(body.get("vehicle_not_deregistered", False)),
        full_score_education_dates=field("full_score_education_dates", ds),
        serious_offence_dates=field("serious_offence_dates", ds),
        fraud_record_dates=field("fraud_record_dates", ds),
        platform_blacklist_until=field("platform_blacklist_until", d),
        last_violation_processed_at=field("last_violation_processed_at", instant),
    )


@dataclass(frozen=True, slots=True)
class EligibilityView:
    eligible: bool
    reasons: tuple[str, ...]
    cycle_start: date
    clearing_date: date
    has_open_application: bool


class ApplicationService:
    def __init__(
        self,
        uow: Callable[[], RecordsUnitOfWork],
        clock: Clock,
        policy: RulesPolicy,
        calendar: WorkdayCalendar,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._clock, self._policy, self._calendar = uow, clock, policy, calendar
        self._rng = rng or default_rng()

    def _record(self, uow: RecordsUnitOfWork, driver_id: str) -> DriverRecord:
        body = uow.driver_records.get(driver_id)
        if body is None:
            raise DriverRecordMissing(details={"driver_id": driver_id})
        return driver_record_from_json(driver_id, body)

    @staticmethod
    def _open(uow: RecordsUnitOfWork, driver_id: str) -> bool:
        # active, not merely non-terminal: a reduced application (revocable) is settled
        return any(
            ApplicationState(a.state) in ACTIVE for a in uow.applications.for_driver(driver_id)
        )

    def eligibility(self, driver_id: str) -> EligibilityView:
        now = self._clock.now()
        with self._uow() as uow:
            record, has_open = self._record(uow, driver_id), self._open(uow, driver_id)
        verdict = check_eligibility(record, now, self._policy, has_open_application=has_open)
        return EligibilityView(
            verdict.eligible,
            tuple(r.value for r in verdict.reasons),
            verdict.cycle.start,
            verdict.cycle.clearing_date,
            has_open,
        )

    def apply(self, driver_id: str) -> ApplicationRecord:
        """Apply, then the automatic system review: approved (study window from tomorrow),
        refused with every reason, or held while a just-processed violation syncs (24 h)."""
        now = self._clock.now()
        lifecycle = Lifecycle(self._policy, self._calendar)
        with self._uow() as uow:
            record, has_open = self._record(uow, driver_id), self._open(uow, driver_id)
            app = Application.submit(
                new_id(self._rng),
                record,
                now,
                self._policy,
                self._calendar,
                has_open_application=has_open,
            )
            item = lifecycle.new(uow, app, now)
            lifecycle.auto_review(uow, item, now)
            lifecycle.save(uow, item, driver_id, now)
            stored = item.record
            uow.audit.append(
                actor=driver_id,
                action="application_submitted",
                subject=stored.id,
                details={"state": stored.state, "reasons": list(stored.reasons)},
                at=now,
            )
            uow.commit()
        return stored

    def put_record(self, driver_id: str, body: Mapping[str, Any]) -> None:
        """Store the traffic-management record of a driver (sync job, demo seed, tests)."""
        driver_record_from_json(driver_id, body)  # validate before storing
        with self._uow() as uow:
            uow.driver_records.put(driver_id, body)
            uow.commit()
