"""Bursts through SessionService: actions on challenges, liveness strikes, spoof flag."""

from __future__ import annotations

import random

import pytest

from proctor.capture.challenge import BurstRequired
from proctor.capture.policy import CapturePolicy
from proctor.clock import FakeClock
from proctor.errors import ModelUnavailable
from proctor.liveness.actions import Action
from proctor.liveness.errors import EmptyBurst
from proctor.liveness.fakes import FakeBurstJudge
from proctor.services.sessions import SessionService
from proctor.session.states import SessionKind
from proctor.testing.fakes import (
    FakeVerifier,
    InMemoryState,
    fake_image,
    fake_policy,
    in_memory_uow_factory,
)

LIVE = CapturePolicy(liveness_bursts=True, liveness_random_share=1.0)


def make(
    policy: CapturePolicy = LIVE, reasons: tuple[str, ...] = ()
) -> tuple[InMemoryState, SessionService, FakeBurstJudge]:
    state, factory = in_memory_uow_factory()
    verifier = FakeVerifier()
    judge = FakeBurstJudge(verifier, reasons)
    svc = SessionService(
        factory,
        verifier,
        FakeClock(),
        policy=fake_policy(),
        rng=random.Random(11),
        capture_policy=policy,
        burst_judge=judge,
    )
    svc.enroll("d1", [fake_image("alice", 0)])
    return state, svc, judge


def burst(person: str, start: int) -> list[bytes]:
    return [fake_image(person, start + i) for i in range(10)]


@pytest.mark.parametrize("kind", [SessionKind.STUDY, SessionKind.EXAM], ids=["entry", "exam"])
def test_entry_and_exam_start_ask_for_actions(kind: SessionKind) -> None:
    _, svc, _ = make()
    view = svc.open_session("d1", kind)
    c = view.challenge
    assert c is not None and 1 <= len(c.actions) <= 2
    assert all(Action(a) for a in c.actions)
    assert "请" in c.guidance


def test_challenges_draw_only_the_allowed_actions() -> None:
    policy = CapturePolicy(
        liveness_bursts=True,
        liveness_random_share=1.0,
        liveness_actions="blink, turn_left",
        liveness_max_actions=2,
    )
    _, svc, _ = make(policy)
    drawn: set[str] = set()
    for _ in range(30):
        c = svc.open_session("d1", SessionKind.STUDY).challenge
        assert c is not None and c.actions
        drawn.update(c.actions)
    assert drawn == {"blink", "turn_left"}  # both drawn, nothing else


@pytest.mark.parametrize(
    ("names", "max_actions"),
    [("blink,smile", 1), ("", 1), ("blink", 2)],
    ids=["unknown action", "none", "more actions asked than allowed"],
)
def test_an_impossible_action_set_is_refused(names: str, max_actions: int) -> None:
    with pytest.raises(ValueError, match="action"):
        CapturePolicy(
            liveness_bursts=True, liveness_actions=names, liveness_max_actions=max_actions
        )


def test_actions_are_off_by_default() -> None:
    _, svc, _ = make(CapturePolicy())
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None and view.challenge.actions == ()


def test_a_snapshot_cannot_answer_an_action_challenge() -> None:
    state, svc, _ = make()
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    with pytest.raises(BurstRequired):
        svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("alice", 1))
    again = svc.heartbeat(view.session_id, "d1")
    assert again.challenge is not None and again.challenge.id == view.challenge.id
    assert again.consecutive_failures == 0
    assert state.audit[-1]["details"]["code"] == "burst_required"


def test_live_burst_passes_with_the_challenge_actions() -> None:
    _, svc, judge = make()
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    res = svc.submit_burst(view.session_id, "d1", view.challenge.id, burst("alice", 1))
    assert res.passed and res.flags == ()
    assert judge.calls == [view.challenge.actions]


def test_identity_passes_but_liveness_fails_three_times() -> None:
    state, svc, _ = make(reasons=("flat_motion_suspected",))
    view = svc.open_session("d1", SessionKind.STUDY)
    for i in range(3):
        hb = svc.heartbeat(view.session_id, "d1")
        assert hb.challenge is not None and hb.challenge.actions, "retries keep asking"
        res = svc.submit_burst(view.session_id, "d1", hb.challenge.id, burst("alice", 10 * i))
        assert not res.passed
        assert res.reasons[0] == "flat_motion_suspected"
        assert "spoof_suspected" in res.flags
        assert res.distance == pytest.approx(0.3)  # the face itself matched
    assert res.session.state == "terminated_invalid"
    flag = next(f for f in state.flags.values() if f.session_id == view.session_id)
    assert "spoof_suspected" in flag.reasons and len(flag.attempt_nos) == 3
    assert not state.blacklist  # a human decides


def test_too_few_frames_is_a_strike_without_a_spoof_flag() -> None:
    _, svc, _ = make(reasons=("too_few_frames",))
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    res = svc.submit_burst(view.session_id, "d1", view.challenge.id, burst("alice", 1))
    assert not res.passed and res.reasons == ("too_few_frames",) and res.flags == ()
    assert res.session.consecutive_failures == 1


def test_unusable_burst_is_a_failed_attempt() -> None:
    _, svc, _ = make()
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    res = svc.submit_burst(view.session_id, "d1", view.challenge.id, [])
    assert not res.passed and res.reasons == ("empty_burst",)


def test_someone_else_live_is_a_mismatch() -> None:
    _, svc, _ = make()
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    res = svc.submit_burst(view.session_id, "d1", view.challenge.id, burst("mallory", 1))
    assert not res.passed and res.reasons == ("face_mismatch",)
    assert "proxy_face" in res.flags and "spoof_suspected" not in res.flags


def test_submit_burst_needs_a_judge() -> None:
    _state, factory = in_memory_uow_factory()
    svc = SessionService(
        factory, FakeVerifier(), FakeClock(), policy=fake_policy(), rng=random.Random(1)
    )
    with pytest.raises(ModelUnavailable):
        svc.submit_burst("s", "d1", "c", [])


class _RefusingCheck:
    """A burst pre-check that refuses every upload (as the real decoder refuses junk)."""

    def __init__(self) -> None:
        self.calls = 0

    def check_burst(self, upload: object) -> object:
        self.calls += 1
        raise EmptyBurst("no frames received")


def test_the_use_case_decodes_first_so_an_unusable_burst_costs_nothing() -> None:
    """The pre-check lives in the use case: a non-HTTP caller gets the same rule."""
    _, factory = in_memory_uow_factory()
    verifier = FakeVerifier()
    check = _RefusingCheck()
    svc = SessionService(
        factory,
        verifier,
        FakeClock(),
        policy=fake_policy(),
        rng=random.Random(11),
        capture_policy=LIVE,
        burst_judge=FakeBurstJudge(verifier),
        burst_check=check,  # type: ignore[arg-type]
    )
    svc.enroll("d1", [fake_image("alice", 0)])
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    with pytest.raises(EmptyBurst):
        svc.submit_burst(view.session_id, "d1", view.challenge.id, burst("alice", 1))
    assert check.calls == 1
    after = svc.heartbeat(view.session_id, "d1")
    assert after.attempts == 0 and after.challenge is not None
    assert after.challenge.id == view.challenge.id  # still open: nothing was claimed
