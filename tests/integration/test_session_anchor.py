"""Session anchoring with the real pipeline and real SQLite storage (issue 9).

The capture that first passes against the reference anchors the session; later
captures must match the anchor (tightly) and the reference (loosely). The test
policy's anchor threshold is deliberately tight so that two different photos of
the same man count as a swap, which the reference alone would have accepted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from proctor.clock import FakeClock
from proctor.decision.policy import AnchorPolicy
from proctor.pipeline import Pipeline
from proctor.services.sessions import SessionService, anchor_key
from proctor.session.states import SessionKind
from proctor.storage.uow import Storage, open_storage
from proctor.testing.real import registry_policy

pytestmark = [pytest.mark.model, pytest.mark.db]


def _svc(
    pipeline: Pipeline, tmp_path: Path, anchor: AnchorPolicy | None
) -> tuple[SessionService, Storage, FakeClock]:
    storage = open_storage(
        f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path, master_key=bytes(range(32))
    )
    clock = FakeClock()
    policy = replace(registry_policy(pipeline.model_id), anchor=anchor)
    return SessionService(storage.uow, pipeline, clock, policy=policy), storage, clock


def _next_random(svc: SessionService, storage: Storage, clock: FakeClock, sid: str, i: int) -> str:
    with storage.uow() as uow:
        s = uow.sessions.get(sid)
        assert s is not None
        clock.set(s.opened_at + timedelta(seconds=s.study_offsets_s[i] + 1))
    hb = svc.heartbeat(sid, "obama")
    assert hb.challenge is not None
    return hb.challenge.id


def test_anchor_catches_a_swap_the_reference_would_accept(
    pipeline: Pipeline, portraits: Path, tmp_path: Path
) -> None:
    photos = {
        n: (portraits / n).read_bytes()
        for n in ("obama.jpg", "obama2.jpg", "obama3.jpg", "32bit.png")
    }
    svc, storage, clock = _svc(
        pipeline, tmp_path, AnchorPolicy(anchor_l2=0.2, reference_loose_l2=0.5)
    )
    svc.enroll("obama", [photos["obama.jpg"]])
    study = svc.open_session("obama", SessionKind.STUDY)
    assert study.challenge is not None
    entry = svc.submit_snapshot(study.session_id, "obama", study.challenge.id, photos["obama2.jpg"])
    assert entry.passed
    with storage.uow() as uow:
        assert uow.templates.get(anchor_key(study.session_id)) is not None

    # 32bit.png is the same photograph as obama2 (anchor distance ~0.03): passes
    cid = _next_random(svc, storage, clock, study.session_id, 0)
    same = svc.submit_snapshot(study.session_id, "obama", cid, photos["32bit.png"])
    assert same.passed, same

    # obama3 matches the reference (distance ~0.33 < 0.43) but not this anchor
    cid = _next_random(svc, storage, clock, study.session_id, 1)
    swap = svc.submit_snapshot(study.session_id, "obama", cid, photos["obama3.jpg"])
    assert not swap.passed
    assert swap.reasons == ("face_mismatch",)
    assert "proxy_face" in swap.flags
    # decided by the anchor: the distance and threshold reported are the anchor's
    assert swap.verdict == "no_match" and swap.threshold == 0.2
    assert swap.distance is not None and swap.distance > 0.2
    assert swap.thresholds == {"anchor_l2": 0.2, "reference_loose_l2": 0.5}
    with storage.uow() as uow:
        flag = uow.flags.open_for_session(study.session_id)
        assert flag is not None and "proxy_face" in flag.reasons
    assert storage.verify_audit().ok


def test_without_a_policy_nothing_is_anchored(
    pipeline: Pipeline, portraits: Path, tmp_path: Path
) -> None:
    svc, storage, clock = _svc(pipeline, tmp_path, None)
    svc.enroll("obama", [(portraits / "obama.jpg").read_bytes()])
    study = svc.open_session("obama", SessionKind.STUDY)
    assert study.challenge is not None
    svc.submit_snapshot(
        study.session_id, "obama", study.challenge.id, (portraits / "obama2.jpg").read_bytes()
    )
    with storage.uow() as uow:
        assert uow.templates.get(anchor_key(study.session_id)) is None
    cid = _next_random(svc, storage, clock, study.session_id, 0)
    later = svc.submit_snapshot(
        study.session_id, "obama", cid, (portraits / "obama3.jpg").read_bytes()
    )
    assert later.passed


def test_the_anchor_is_deleted_when_the_session_ends(
    pipeline: Pipeline, portraits: Path, tmp_path: Path
) -> None:
    svc, storage, clock = _svc(
        pipeline, tmp_path, AnchorPolicy(anchor_l2=0.2, reference_loose_l2=0.5)
    )
    svc.enroll("obama", [(portraits / "obama.jpg").read_bytes()])
    study = svc.open_session("obama", SessionKind.STUDY)
    assert study.challenge is not None
    svc.submit_snapshot(
        study.session_id, "obama", study.challenge.id, (portraits / "obama2.jpg").read_bytes()
    )
    biden = (portraits / "biden.jpg").read_bytes()
    for i in range(3):  # three swaps in a row end the session
        cid = _next_random(svc, storage, clock, study.session_id, 0) if i == 0 else None
        if cid is None:
            hb = svc.heartbeat(study.session_id, "obama")
            assert hb.challenge is not None
            cid = hb.challenge.id
        last = svc.submit_snapshot(study.session_id, "obama", cid, biden)
    assert last.session.state == "terminated_invalid"
    with storage.uow() as uow:
        assert uow.templates.get(anchor_key(study.session_id)) is None
        assert uow.templates.get(uow.drivers.subject_key("obama") or "") is not None
