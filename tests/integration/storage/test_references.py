"""Issue 17: the reference records on SQLite and PostgreSQL (fake verifier: the logic and
the storage, not the models; the real models run in tests/e2e/test_real_person_flow.py).

The authority photo is set once; a replacement needs a second staff member; the old crop
stays readable until its retention ends; an approved ID photo is a verification; consent
withdrawal erases every template of the driver and the verification with it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from proctor.clock import FakeClock
from proctor.services.records import ConsentService, reference_bucket
from proctor.services.reference_ports import ReferenceKind, ReferenceStatus
from proctor.services.references import (
    NoAuthorityReference,
    ReferenceExists,
    ReferenceRefused,
    ReferenceService,
    ReplacementRateLimited,
)
from proctor.services.sessions import SessionService
from proctor.services.template_keys import live_key
from proctor.session.adjudication import SameHumanTwice
from proctor.storage.records import SqlAlchemyRecordsUnitOfWork, records_uow_factory
from proctor.storage.tables import AuditRow
from proctor.storage.uow import Storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy


def _service(
    storage: Storage, clock: FakeClock, model_id: str = "fake-v1", burst_judge: object = None
) -> tuple[ReferenceService, ConsentService]:
    verifier = FakeVerifier(model_id)

    def uow() -> SqlAlchemyRecordsUnitOfWork:
        return records_uow_factory(storage)

    sessions = SessionService(uow, verifier, clock, policy=fake_policy())
    consent = ConsentService(uow, clock, "v1")
    refs = ReferenceService(
        uow,
        verifier,
        consent,
        clock,
        sessions.enroll,
        sessions.mirror_template,
        policy=fake_policy(),
        burst_judge=burst_judge,  # type: ignore[arg-type]
    )
    return refs, consent


def _consented(consent: ConsentService, driver: str) -> None:
    consent.give(driver, consent.text[2], "test")


def test_authority_once_then_replacement_by_a_second_staff_member(storage: Storage) -> None:
    clock = FakeClock()
    refs, consent = _service(storage, clock)
    _consented(consent, "d1")
    first = refs.set_authority("d1", fake_image("alice", 0), "ops-1")
    assert first.kind is ReferenceKind.AUTHORITY and first.evidence_id
    with pytest.raises(ReferenceExists):
        refs.set_authority("d1", fake_image("mallory", 0), "ops-1")
    with pytest.raises(ReferenceRefused):
        refs.request_replacement("d1", fake_image("alice", 1), "ops-1", "  ")
    clock.advance(60)
    req = refs.request_replacement("d1", fake_image("alice", 1), "ops-1", "new ID card")
    assert req.status is ReferenceStatus.PENDING
    with pytest.raises(ReferenceRefused):  # one pending request at a time
        refs.request_replacement("d1", fake_image("alice", 2), "ops-1", "again")
    with pytest.raises(SameHumanTwice):
        refs.decide_replacement("d1", req.id, "ops-1", approve=True)
    done = refs.decide_replacement("d1", req.id, "ops-2", approve=True)
    assert done.status is ReferenceStatus.ACTIVE and done.decided_by == "ops-2"
    with storage.uow() as uow:
        sk = uow.drivers.subject_key("d1")
        assert sk is not None
        # the superseded crop stays readable to reviewers until its retention ends
        kept = uow.evidence.retention_of(first.evidence_id)
        assert kept is not None and kept[1] is not None
        assert kept[1] > clock.now() + timedelta(days=365)
        assert first.evidence_id in uow.evidence.for_session(reference_bucket(sk))
        assert uow.evidence.read(first.evidence_id)
        actions = [a for (a,) in uow.db.execute(_audit_actions())]
    assert "reference_replacement_requested" in actions
    assert "reference_replacement_decided" in actions
    history = [(r[0], r[1]) for r in refs.verification("d1").references]
    assert history == [("authority", "superseded"), ("authority", "active")]
    # a second request within the window, rejected; the third is rate-limited
    second = refs.request_replacement("d1", fake_image("alice", 2), "ops-1", "typo")
    refs.decide_replacement("d1", second.id, "ops-2", approve=False)
    with pytest.raises(ReplacementRateLimited):
        refs.request_replacement("d1", fake_image("alice", 3), "ops-1", "third")
    clock.advance(31 * 24 * 3600)  # the window has passed
    refs.request_replacement("d1", fake_image("alice", 3), "ops-1", "a month later")


def test_id_photo_approval_is_a_verification_until_consent_is_withdrawn(
    storage: Storage,
) -> None:
    clock = FakeClock()
    refs, consent = _service(storage, clock)
    _consented(consent, "d2")
    refs.set_authority("d2", fake_image("bob", 0), "ops-1")
    assert not refs.verification("d2").verified
    with records_uow_factory(storage) as uow:
        assert refs.apply_id_photo_decision(uow, "d2", True, "rev-1")
        uow.commit()
    v = refs.verification("d2")
    assert v.verified and v.kind == ReferenceKind.ID_PHOTO_APPROVED.value
    assert [t.kind for t in refs.templates_for("d2")] == [ReferenceKind.AUTHORITY]
    consent.withdraw("d2")
    after = refs.verification("d2")
    assert not after.authority_reference and not after.verified
    with storage.uow() as uow:
        sk = uow.drivers.subject_key("d2")
        assert sk is not None
        assert uow.templates.get(sk) is None and uow.templates.get(live_key(sk)) is None
    # consent again, the operator sets the photo again: the old approval does not carry over
    _consented(consent, "d2")
    clock.advance(60)
    refs.set_authority("d2", fake_image("bob", 0), "ops-1")
    again = refs.verification("d2")
    assert again.authority_reference and not again.verified


def _audit_actions():  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from proctor.storage.tables import AuditRow

    return select(AuditRow.action)


def test_cohort_sampling_sees_references_only(storage: Storage) -> None:
    """The cohort is sampled from reference templates: the mirrored photo's, the live
    capture's and a pending replacement's templates are not other drivers' references."""
    import numpy as np

    from proctor.services.template_keys import mirror_key, pending_key
    from proctor.types import Template

    clock = FakeClock()
    t = Template("fake-v1", np.ones(16) / 4.0)
    with storage.uow() as uow:
        for key in ("abc123", mirror_key("abc123"), live_key("abc123"), pending_key("r1")):
            uow.templates.put(key, t, clock.now())
        uow.commit()
    with storage.uow() as uow:
        assert uow.templates.reference_keys("fake-v1") == ["abc123"]


def test_a_pending_replacement_dies_with_the_consent(storage: Storage) -> None:
    clock = FakeClock()
    refs, consent = _service(storage, clock)
    _consented(consent, "d3")
    refs.set_authority("d3", fake_image("carol", 0), "ops-1")
    req = refs.request_replacement("d3", fake_image("carol", 1), "ops-1", "new card")
    consent.withdraw("d3")
    done = refs.decide_replacement("d3", req.id, "ops-2", approve=True)
    assert done.status is ReferenceStatus.REJECTED
    with storage.uow() as uow:
        assert req.template_key is not None and uow.templates.get(req.template_key) is None
        sk = uow.drivers.subject_key("d3")
        assert sk is not None and uow.templates.get(sk) is None  # nothing came back


class _NeverJudged:
    def judge_burst(self, *args: object) -> None:
        raise AssertionError("a reference of another model must not be compared")


def test_authority_of_another_model_is_not_compared_but_can_be_replaced(
    storage: Storage,
) -> None:
    """A model change (issue 19): 实人认证 against an authority template of another model
    is refused with a stable reason; the two-person replacement enrols it again."""
    clock = FakeClock()
    old, consent = _service(storage, clock, model_id="old-model")
    _consented(consent, "d1")
    old.set_authority("d1", fake_image("alice", 0), "ops-1")
    refs, _ = _service(storage, clock, burst_judge=_NeverJudged())
    with pytest.raises(NoAuthorityReference) as exc:
        refs.verify_live("d1", [fake_image("alice", 1)])
    assert exc.value.details["reason"] == "reference_model_outdated"
    clock.advance(60)
    # two staff members can replace it ...
    req = refs.request_replacement("d1", fake_image("alice", 2), "ops-1", "face model change")
    refs.decide_replacement("d1", req.id, "ops-2", approve=True)
    with storage.uow() as uow:
        sk = uow.drivers.subject_key("d1")
        assert sk is not None
        t = uow.templates.get(sk)
        assert t is not None and t.model_id == "fake-v1"
    # ... and the operator path (the authority's photo sent again) re-enrols an outdated
    # reference on its own, audited as such; a current one still needs two staff members
    _consented(consent, "d2")
    old.set_authority("d2", fake_image("bob", 0), "ops-1")
    with pytest.raises(ReferenceExists):
        old.set_authority("d2", fake_image("mallory", 0), "ops-1")
    again = refs.set_authority("d2", fake_image("bob", 1), "ops-sync")
    assert again.status is ReferenceStatus.ACTIVE
    with pytest.raises(ReferenceExists):
        refs.set_authority("d2", fake_image("mallory", 0), "ops-sync")
    with storage.uow() as uow:
        sk2 = uow.drivers.subject_key("d2")
        assert sk2 is not None
        t2 = uow.templates.get(sk2)
        assert t2 is not None and t2.model_id == "fake-v1"
        reenrolled = uow.db.execute(
            select(func.count())
            .select_from(AuditRow)
            .where(AuditRow.action == "authority_reference_reenrolled")
        ).scalar_one()
    with records_uow_factory(storage) as ruow:
        records = ruow.references.for_subject(sk2)
    assert reenrolled == 1
    active = [r for r in records if r.kind is ReferenceKind.AUTHORITY]
    assert [r.status for r in active].count(ReferenceStatus.ACTIVE) == 1
