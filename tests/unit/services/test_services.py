"""Use cases over the in-memory unit of work and the fake verifier."""

from __future__ import annotations

import random

import pytest

from proctor.capture.challenge import ChallengeUnknown
from proctor.clock import FakeClock
from proctor.errors import IllegalTransition
from proctor.services.adjudication import AdjudicationService
from proctor.services.common import Blacklisted, NotEnrolled, NotFound
from proctor.services.retention import purge_evidence
from proctor.services.sessions import SessionService
from proctor.session.adjudication import AppealRefused, SameHumanTwice
from proctor.session.states import SessionKind
from proctor.testing.fakes import (
    FakeVerifier,
    InMemoryState,
    fake_image,
    fake_policy,
    in_memory_uow_factory,
)


@pytest.fixture
def env() -> tuple[InMemoryState, SessionService, AdjudicationService, FakeClock]:
    clock = FakeClock()
    state, factory = in_memory_uow_factory()
    rng = random.Random(5)
    svc = SessionService(factory, FakeVerifier(), clock, policy=fake_policy(), rng=rng)
    adj = AdjudicationService(factory, clock, rng=rng)
    svc.enroll("d1", [fake_image("alice", 0)])
    svc.enroll("d2", [fake_image("bob", 0)])
    return state, svc, adj, clock


def terminate_with_flag(svc: SessionService, driver: str) -> str:
    view = svc.open_session(driver, SessionKind.STUDY)
    for i in range(3):
        hb = svc.heartbeat(view.session_id, driver)
        assert hb.challenge is not None
        svc.submit_snapshot(view.session_id, driver, hb.challenge.id, fake_image("mallory", i))
    return view.session_id


def test_unenrolled_driver_cannot_open(env) -> None:  # type: ignore[no-untyped-def]
    _, svc, _, _ = env
    with pytest.raises(NotEnrolled):
        svc.open_session("nobody", SessionKind.STUDY)


def test_foreign_and_unknown_challenges(env) -> None:  # type: ignore[no-untyped-def]
    _, svc, _, _ = env
    a = svc.open_session("d1", SessionKind.STUDY)
    b = svc.open_session("d2", SessionKind.STUDY)
    assert a.challenge and b.challenge
    # someone else's challenge is answered like an unknown one (issue 17)
    with pytest.raises(ChallengeUnknown):
        svc.submit_snapshot(a.session_id, "d1", b.challenge.id, fake_image("alice", 1))
    with pytest.raises(ChallengeUnknown):  # d1 naming d2's session
        svc.submit_snapshot(b.session_id, "d1", b.challenge.id, fake_image("alice", 1))
    with pytest.raises(ChallengeUnknown):
        svc.submit_snapshot("no-such-session", "d1", "no-such-challenge", b"x")
    with pytest.raises(NotFound):
        svc.heartbeat(a.session_id, "d2")


def test_garbage_bytes_are_a_failed_attempt(env) -> None:  # type: ignore[no-untyped-def]
    _, svc, _, _ = env
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge
    res = svc.submit_snapshot(view.session_id, "d1", view.challenge.id, b"\x00not an image")
    assert not res.passed and res.reasons == ("corrupt_image",)
    assert res.session.challenge is not None and res.session.challenge.kind == "retry"


def test_flag_needs_review_and_two_humans(env) -> None:  # type: ignore[no-untyped-def]
    state, svc, adj, _ = env
    sid = terminate_with_flag(svc, "d1")
    flag = next(f for f in state.flags.values() if f.session_id == sid)
    assert set(flag.reasons) == {"proxy_face"} and len(flag.attempt_nos) == 3
    assert not state.blacklist
    with pytest.raises(IllegalTransition):
        adj.decide_flag(flag.id, "adj", uphold=True)
    adj.review_flag(flag.id, "rev", "uphold")
    with pytest.raises(SameHumanTwice):
        adj.decide_flag(flag.id, "rev", uphold=True)
    assert not state.blacklist
    entry = adj.decide_flag(flag.id, "adj", uphold=True)
    assert entry is not None and entry.legal_bar_scoring_cycles == 3
    with pytest.raises(Blacklisted):
        svc.open_session("d1", SessionKind.STUDY)
    kinds = [e.kind for e in state.outbox]
    assert {"session_terminated", "flag_raised", "flag_reviewed", "blacklist_created"} <= set(kinds)


def test_dismissed_flag_releases_evidence_for_purge(env) -> None:  # type: ignore[no-untyped-def]
    state, svc, adj, clock = env
    sid = terminate_with_flag(svc, "d2")
    flag = next(f for f in state.flags.values() if f.session_id == sid)
    clock.advance(30 * 24 * 3600)
    _, factory = in_memory_uow_factory(state)
    assert purge_evidence(factory, clock) == {}
    adj.review_flag(flag.id, "rev", "dismiss")
    assert adj.decide_flag(flag.id, "adj", uphold=False) is None
    clock.advance(24 * 3600 + 1)
    _, factory = in_memory_uow_factory(state)
    assert purge_evidence(factory, clock) == {"flagged": 3}


def test_audit_and_outbox_never_hold_images(env) -> None:  # type: ignore[no-untyped-def]
    state, svc, _, _ = env
    terminate_with_flag(svc, "d1")
    text = repr(state.audit) + repr(state.outbox)
    assert "FAKEIMG" not in text and "crop:" not in text and "\\xff\\xd8" not in text


def test_one_appeal_per_entry_never_decided_by_the_flags_humans(env) -> None:  # type: ignore[no-untyped-def]
    state, svc, adj, _ = env
    sid = terminate_with_flag(svc, "d1")
    flag = next(f for f in state.flags.values() if f.session_id == sid)
    adj.review_flag(flag.id, "rev", "uphold")
    entry = adj.decide_flag(flag.id, "adj", uphold=True)
    assert entry is not None
    first = adj.file_appeal(entry.id, "d1", "it was me")
    with pytest.raises(AppealRefused):  # one pending at a time
        adj.file_appeal(entry.id, "d1", "again")
    for involved in ("rev", "adj"):  # the flag's reviewer, the flag's adjudicator
        with pytest.raises(SameHumanTwice):
            adj.decide_appeal(first.id, involved, uphold=True)
    with pytest.raises(AppealRefused):  # nothing to reopen while it is pending
        adj.reopen_appeal(entry.id, "adj-2", "new evidence")
    adj.decide_appeal(first.id, "adj-2", uphold=False)
    with pytest.raises(AppealRefused) as decided:
        adj.file_appeal(entry.id, "d1", "once more")
    assert decided.value.details["reason"] == "decided"
    with pytest.raises(IllegalTransition):
        adj.reopen_appeal(entry.id, "adj-2", " ")
    assert adj.reopen_appeal(entry.id, "adj-2", "new travel record").appeals_allowed == 2
    second = adj.file_appeal(entry.id, "d1", "the ticket")
    adj.decide_appeal(second.id, "adj-3", uphold=True)
    with pytest.raises(AppealRefused) as lifted:
        adj.file_appeal(entry.id, "d1", "after the lift")
    assert lifted.value.details["reason"] == "lifted"
    assert "appeal_reopened" in [e.kind for e in state.outbox]


def test_reference_of_another_model_is_refused_before_the_claim() -> None:
    """A model change (issue 19: the 8-bit ResNet is another model_id): a reference
    enrolled with the old model is never compared; the capture is refused with a stable
    reason before the challenge is claimed, and answered once the reference is enrolled
    again with the model in service."""
    clock = FakeClock()
    _, factory = in_memory_uow_factory()
    rng = random.Random(7)
    old = SessionService(factory, FakeVerifier("old-model"), clock, policy=fake_policy(), rng=rng)
    old.enroll("d1", [fake_image("alice", 0)])
    svc = SessionService(factory, FakeVerifier(), clock, policy=fake_policy(), rng=rng)
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    with pytest.raises(NotEnrolled) as exc:
        svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("alice", 1))
    assert exc.value.details["reason"] == "reference_model_outdated"
    assert exc.value.details["reference_model"] == "old-model"
    svc.enroll("d1", [fake_image("alice", 0)])
    res = svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("alice", 1))
    assert res.passed
