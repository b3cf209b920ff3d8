"""Test doubles: ``FakeVerifier`` and an in-memory unit of work.

``FakeVerifier`` understands synthetic "images" made by ``fake_image``: plain
bytes naming a person, a variant, the number of faces and quality reasons. The
same person matches (distance 0.3), anyone else does not (distance 0.95); the
pixel hash depends on (person, variant) and the perceptual hash can be made a
near duplicate of another variant. Anything else raises ``CorruptImage``.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import numpy as np

from proctor.decision.policy import OperatingPolicy
from proctor.errors import CorruptImage, EnrollmentRejected
from proctor.liveness.replay import Fingerprint
from proctor.services.ports import IdempotencyRecord, NotificationEvent, RetentionClass
from proctor.session.adjudication import Appeal, BlacklistEntry, Flag, FlagStatus
from proctor.session.session import ProctorSession
from proctor.session.states import SessionState
from proctor.types import DecodedImage, FaceMeasurement, Template

_MAGIC = b"FAKEIMG|"


def fake_image(
    person: str,
    variant: int = 0,
    *,
    faces: int = 1,
    quality: Sequence[str] = (),
    near_of: int | None = None,
) -> bytes:
    """Synthetic image bytes for ``FakeVerifier``; ``near_of`` copies that variant's phash."""
    near = "" if near_of is None else str(near_of)
    return _MAGIC + f"{person}|{variant}|{faces}|{','.join(quality)}|{near}".encode()


def _phash(person: str, variant: int) -> int:
    return int.from_bytes(hashlib.sha256(f"p:{person}:{variant}".encode()).digest()[:8], "big")


def _vector(person: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    raw = hashlib.sha256(person.encode()).digest()
    return np.frombuffer(raw, dtype=np.uint8).astype(np.float64)[:16] / 255.0


@dataclass(frozen=True, slots=True)
class _Parsed:
    person: str
    variant: int
    faces: int
    quality: tuple[str, ...]
    near_of: int | None


def _parse(data: bytes) -> _Parsed:
    if not data.startswith(_MAGIC):
        raise CorruptImage("not a fake image")
    try:
        person, variant, faces, quality, near = data[len(_MAGIC) :].decode().split("|")
        return _Parsed(
            person,
            int(variant),
            int(faces),
            tuple(q for q in quality.split(",") if q),
            int(near) if near else None,
        )
    except ValueError as exc:
        raise CorruptImage("malformed fake image") from exc


class FakeVerifier:
    """A deterministic ``FaceVerifier`` for unit tests."""

    def __init__(self, model_id: str = "fake-v1", threshold: float = 0.6) -> None:
        self.model_id = model_id
        self.threshold = threshold
        self.calls = 0

    def enroll(self, photos: Sequence[bytes]) -> Template:
        if not photos:
            raise EnrollmentRejected("no photos")
        people = {_parse(p).person for p in photos}
        if len(people) != 1:
            raise EnrollmentRejected("photos show different people")
        return Template(self.model_id, _vector(people.pop()), source_count=len(photos))

    def measure(self, reference: Template, probe: bytes | DecodedImage) -> FaceMeasurement:
        self.calls += 1
        p = _parse(probe.source if isinstance(probe, DecodedImage) else probe)
        sha = hashlib.sha256(f"px:{p.person}:{p.variant}".encode()).hexdigest()
        phash = (
            _phash(p.person, p.near_of) ^ 1
            if p.near_of is not None
            else _phash(p.person, p.variant)
        )
        common: dict[str, Any] = {
            "model_id": self.model_id,
            "face_count": p.faces,
            "pixel_sha256": sha,
            "perceptual_hash": phash,
            "timings_ms": {"total": 1.0},
        }
        if p.faces == 0:
            return FaceMeasurement(quality_reasons=("no_face",), **common)
        crop = b"\xff\xd8crop:" + sha[:16].encode()
        if p.faces > 1:
            return FaceMeasurement(
                quality_reasons=("multiple_faces",), face_crop_jpeg=crop, **common
            )
        if p.quality:
            return FaceMeasurement(quality_reasons=p.quality, **common)
        same = bool(np.array_equal(reference.vector, _vector(p.person)))
        distance = 0.3 if same else 0.95
        return FaceMeasurement(reference_l2=distance, face_crop_jpeg=crop, **common)


def fake_policy(model_id: str = "fake-v1", threshold: float = 0.6) -> OperatingPolicy:
    """The operating policy unit tests decide with: one reference threshold (the fake's
    0.3 same-person / 0.95 other-person distances fall either side of it)."""
    return OperatingPolicy.single_threshold(model_id, threshold)


# ---- in-memory persistence --------------------------------------------------------------


@dataclass(slots=True)
class _Evidence:
    data: bytes
    subject_key: str
    session_id: str
    retention: RetentionClass
    delete_after: datetime | None


@dataclass(slots=True)
class InMemoryState:
    sessions: dict[str, ProctorSession] = field(default_factory=dict)
    drivers: dict[str, tuple[str, str]] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    fingerprints: dict[str, list[tuple[Fingerprint, bool]]] = field(default_factory=dict)
    flags: dict[str, Flag] = field(default_factory=dict)
    blacklist: dict[str, BlacklistEntry] = field(default_factory=dict)
    appeals: dict[str, Appeal] = field(default_factory=dict)
    voided: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)
    evidence: dict[str, _Evidence] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[NotificationEvent] = field(default_factory=list)
    answers: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    commits: int = 0


class _Sessions:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(self, session: ProctorSession) -> None:
        self.st.sessions[session.id] = copy.deepcopy(session)

    def get(self, session_id: str) -> ProctorSession | None:
        s = self.st.sessions.get(session_id)
        return copy.deepcopy(s) if s is not None else None

    def save(self, session: ProctorSession) -> None:
        self.st.sessions[session.id] = copy.deepcopy(session)

    def session_of_challenge(self, challenge_id: str) -> str | None:
        for s in self.st.sessions.values():
            if challenge_id in s.challenges:
                return s.id
        return None

    def completed_for_driver(self, driver_id: str) -> list[str]:
        return [
            s.id
            for s in self.st.sessions.values()
            if s.driver_id == driver_id and s.state is SessionState.COMPLETED
        ]


class _Drivers:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(self, driver_id: str, subject_key: str, display_name: str, at: datetime) -> None:
        self.st.drivers[driver_id] = (subject_key, display_name)

    def subject_key(self, driver_id: str) -> str | None:
        row = self.st.drivers.get(driver_id)
        return row[0] if row else None


class _Templates:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def put(self, subject_key: str, template: Template, at: datetime) -> None:
        self.st.templates[subject_key] = template

    def get(self, subject_key: str) -> Template | None:
        return self.st.templates.get(subject_key)

    def delete(self, subject_key: str) -> None:
        self.st.templates.pop(subject_key, None)


class _Fingerprints:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(
        self, subject_key: str, fp: Fingerprint, at: datetime, *, reference: bool = False
    ) -> None:
        self.st.fingerprints.setdefault(subject_key, []).append((fp, reference))

    def snapshots(self, subject_key: str) -> list[Fingerprint]:
        return [fp for fp, ref in self.st.fingerprints.get(subject_key, []) if not ref]

    def references(self, subject_key: str) -> list[Fingerprint]:
        return [fp for fp, ref in self.st.fingerprints.get(subject_key, []) if ref]


class _Flags:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(self, flag: Flag) -> None:
        self.st.flags[flag.id] = copy.deepcopy(flag)

    def get(self, flag_id: str) -> Flag | None:
        f = self.st.flags.get(flag_id)
        return copy.deepcopy(f) if f else None

    def open_for_session(self, session_id: str) -> Flag | None:
        for f in self.st.flags.values():
            if f.session_id == session_id and f.status is FlagStatus.OPEN:
                return copy.deepcopy(f)
        return None

    def save(self, flag: Flag) -> None:
        self.st.flags[flag.id] = copy.deepcopy(flag)


class _Blacklist:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(self, entry: BlacklistEntry) -> None:
        self.st.blacklist[entry.id] = copy.deepcopy(entry)

    def get(self, entry_id: str) -> BlacklistEntry | None:
        e = self.st.blacklist.get(entry_id)
        return copy.deepcopy(e) if e else None

    def for_driver(self, driver_id: str) -> list[BlacklistEntry]:
        return [copy.deepcopy(e) for e in self.st.blacklist.values() if e.driver_id == driver_id]

    def save(self, entry: BlacklistEntry) -> None:
        self.st.blacklist[entry.id] = copy.deepcopy(entry)


class _Appeals:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def add(self, appeal: Appeal) -> None:
        self.st.appeals[appeal.id] = copy.deepcopy(appeal)

    def get(self, appeal_id: str) -> Appeal | None:
        a = self.st.appeals.get(appeal_id)
        return copy.deepcopy(a) if a else None

    def save(self, appeal: Appeal) -> None:
        self.st.appeals[appeal.id] = copy.deepcopy(appeal)

    def for_blacklist(self, blacklist_id: str) -> list[Appeal]:
        return [
            copy.deepcopy(a) for a in self.st.appeals.values() if a.blacklist_id == blacklist_id
        ]


class _Voided:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def void(self, session_id: str, blacklist_id: str, at: datetime) -> None:
        self.st.voided[session_id] = (blacklist_id, None)

    def restore(self, blacklist_id: str, at: datetime) -> list[str]:
        out = [sid for sid, (bid, r) in self.st.voided.items() if bid == blacklist_id and r is None]
        for sid in out:
            self.st.voided[sid] = (blacklist_id, at)
        return out

    def is_void(self, session_id: str) -> bool:
        row = self.st.voided.get(session_id)
        return row is not None and row[1] is None


class _Evidence_:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st
        self.n = len(st.evidence)

    def put(
        self,
        data: bytes,
        *,
        subject_key: str,
        session_id: str,
        retention: RetentionClass,
        at: datetime,
    ) -> str:
        evidence_id = f"ev{len(self.st.evidence) + 1:06d}-{session_id[:8]}"
        self.st.evidence[evidence_id] = _Evidence(data, subject_key, session_id, retention, None)
        return evidence_id

    def read(self, evidence_id: str) -> bytes:
        return self.st.evidence[evidence_id].data

    def for_session(self, session_id: str) -> list[str]:
        return [k for k, v in self.st.evidence.items() if v.session_id == session_id]

    def set_retention(
        self, evidence_ids: Sequence[str], retention: RetentionClass, delete_after: datetime | None
    ) -> None:
        for evidence_id in evidence_ids:
            ev = self.st.evidence.get(evidence_id)
            if ev is not None:
                ev.retention = retention
                ev.delete_after = delete_after

    def retention_of(self, evidence_id: str) -> tuple[RetentionClass, datetime | None] | None:
        ev = self.st.evidence.get(evidence_id)
        return (ev.retention, ev.delete_after) if ev else None

    def purge(self, now: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for k, v in list(self.st.evidence.items()):
            if v.delete_after is not None and v.delete_after <= now:
                del self.st.evidence[k]
                counts[v.retention.value] = counts.get(v.retention.value, 0) + 1
        return counts


class _Audit:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any], at: datetime
    ) -> int:
        self.st.audit.append(
            {"actor": actor, "action": action, "subject": subject, "details": dict(details)}
        )
        return len(self.st.audit)


class _Outbox:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def emit(self, event: NotificationEvent) -> None:
        self.st.outbox.append(event)


class _Answers:
    def __init__(self, st: InMemoryState) -> None:
        self.st = st

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.st.answers.get((scope, key))

    def put(self, record: IdempotencyRecord) -> None:
        self.st.answers[(record.scope, record.key)] = record

    def delete(self, scope: str, key: str) -> None:
        self.st.answers.pop((scope, key), None)


class InMemoryUnitOfWork:
    """Works on a private copy of the shared state; ``commit`` publishes it atomically."""

    def __init__(self, state: InMemoryState) -> None:
        self._shared = state
        self._work = state

    def __enter__(self) -> InMemoryUnitOfWork:
        self._work = copy.deepcopy(self._shared)
        st = self._work
        self.sessions = _Sessions(st)
        self.drivers = _Drivers(st)
        self.templates = _Templates(st)
        self.fingerprints = _Fingerprints(st)
        self.flags = _Flags(st)
        self.blacklist = _Blacklist(st)
        self.appeals = _Appeals(st)
        self.voided = _Voided(st)
        self.evidence = _Evidence_(st)
        self.audit = _Audit(st)
        self.outbox = _Outbox(st)
        self.idempotency = _Answers(st)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = self._shared

    def commit(self) -> None:
        self._work.commits += 1
        for name in InMemoryState.__slots__:
            setattr(self._shared, name, copy.deepcopy(getattr(self._work, name)))


def in_memory_uow_factory(state: InMemoryState | None = None) -> tuple[InMemoryState, Any]:
    """Returns the shared state and a factory producing units of work over it."""
    st = state or InMemoryState()
    return st, lambda: InMemoryUnitOfWork(st)
