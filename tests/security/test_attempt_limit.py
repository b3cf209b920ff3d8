"""SECURITY.md L1 at the service level: after three consecutive failed matches the session
is terminated and invalid, and a fourth submission is refused with a stable code, on the
last challenge and on any other id, without recording an attempt or a strike."""

from __future__ import annotations

import random

import pytest

from proctor.clock import FakeClock
from proctor.errors import ProctorError
from proctor.services.sessions import SessionService
from proctor.session.states import SessionKind, SessionState
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy, in_memory_uow_factory

from .artifacts import write_table


def test_a_fourth_attempt_after_termination_is_refused() -> None:
    clock = FakeClock()
    _, factory = in_memory_uow_factory()
    svc = SessionService(factory, FakeVerifier(), clock, policy=fake_policy(), rng=random.Random(4))
    svc.enroll("d1", [fake_image("alice", 0)])
    view = svc.open_session("d1", SessionKind.STUDY)
    last = ""
    for i in range(3):
        hb = svc.heartbeat(view.session_id, "d1")
        assert hb.challenge is not None, i
        last = hb.challenge.id
        r = svc.submit_snapshot(view.session_id, "d1", last, fake_image("mallory", i))
        assert not r.passed
    assert r.session.state == SessionState.TERMINATED_INVALID.value
    assert r.session.challenge is None
    rows: list[list[object]] = []
    for label, challenge in (("last challenge", last), ("made-up id", "no-such-challenge")):
        with pytest.raises(ProctorError) as caught:
            svc.submit_snapshot(view.session_id, "d1", challenge, fake_image("alice", 9))
        rows.append(["service", label, caught.value.code])
    after = svc.heartbeat(view.session_id, "d1")
    assert after.state == SessionState.TERMINATED_INVALID.value
    assert after.attempts == 3 and after.challenge is None
    # the answered challenge cannot be answered again; an invented one does not exist
    assert rows[0][2] in {"challenge_reused", "session_closed", "challenge_refused"}, rows
    assert rows[1][2] == "challenge_unknown", rows
    write_table("attempt_limit_service.md", "L1: a 4th submission after termination",
                ["level", "challenge", "code"], rows)  # fmt: skip
