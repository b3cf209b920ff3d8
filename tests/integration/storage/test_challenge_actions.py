"""Challenge actions (issue 10) survive SQL storage: migration 0003, save and load.

Runs on SQLite, and on PostgreSQL when ``PROCTOR_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import random

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import select

from proctor.capture.challenge import BurstRequired
from proctor.capture.policy import CapturePolicy
from proctor.clock import FakeClock
from proctor.liveness.actions import Action
from proctor.liveness.fakes import FakeBurstJudge
from proctor.services.sessions import SessionService
from proctor.session.states import SessionKind
from proctor.storage.db import MIGRATIONS, downgrade, migrate
from proctor.storage.tables import ChallengeRow
from proctor.storage.uow import Storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy

LIVE = CapturePolicy(liveness_bursts=True, liveness_random_share=1.0, liveness_max_actions=2)


def service(storage: Storage, judge_reasons: tuple[str, ...] = ()) -> SessionService:
    verifier = FakeVerifier()
    return SessionService(
        storage.uow,
        verifier,
        FakeClock(),
        policy=fake_policy(),
        rng=random.Random(5),
        capture_policy=LIVE,
        burst_judge=FakeBurstJudge(verifier, judge_reasons),
    )


def test_migrations_have_exactly_one_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads


def test_challenge_actions_survive_save_and_load(storage: Storage) -> None:
    svc = service(storage)
    svc.enroll("d1", [fake_image("alice", 0)])
    view = svc.open_session("d1", SessionKind.STUDY)
    assert view.challenge is not None
    asked = view.challenge.actions
    assert 1 <= len(asked) <= 2 and all(Action(a) for a in asked)

    with storage.uow() as uow:
        row = uow.db.execute(
            select(ChallengeRow).where(ChallengeRow.id == view.challenge.id)
        ).scalar_one()
        assert list(row.actions) == list(asked)  # stored as a JSON list, in order
        s = uow.sessions.get(view.session_id)
        assert s is not None
        loaded = s.challenges[view.challenge.id]
        assert loaded.actions == asked
        assert s.policy.liveness_bursts and s.policy.liveness_random_share == 1.0

    # The reloaded challenge still asks for a burst: a snapshot is refused ...
    with pytest.raises(BurstRequired):
        svc.submit_snapshot(view.session_id, "d1", view.challenge.id, fake_image("alice", 1))
    # ... and a burst is judged against the persisted actions, in order.
    r = svc.submit_burst(
        view.session_id, "d1", view.challenge.id, [fake_image("alice", 2 + i) for i in range(8)]
    )
    assert r.passed, r.reasons


def test_challenge_without_actions_loads_empty(storage: Storage) -> None:
    verifier = FakeVerifier()
    svc = SessionService(
        storage.uow, verifier, FakeClock(), policy=fake_policy(), rng=random.Random(1)
    )
    svc.enroll("d2", [fake_image("bob", 0)])
    view = svc.open_session("d2", SessionKind.STUDY)
    assert view.challenge is not None and view.challenge.actions == ()
    with storage.uow() as uow:
        s = uow.sessions.get(view.session_id)
        assert s is not None and s.challenges[view.challenge.id].actions == ()


def test_downgrade_to_0002_and_back_keeps_challenges(storage: Storage) -> None:
    svc = service(storage)
    svc.enroll("d3", [fake_image("carol", 0)])
    view = svc.open_session("d3", SessionKind.EXAM)
    assert view.challenge is not None and view.challenge.actions
    downgrade(storage.engine, "0002")
    migrate(storage.engine)
    with storage.uow() as uow:
        s = uow.sessions.get(view.session_id)
        assert s is not None
        # Rows written before 0003 read back as "no actions" (the server default).
        assert s.challenges[view.challenge.id].actions == ()
