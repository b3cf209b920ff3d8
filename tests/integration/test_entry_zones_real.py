"""Three zones at entry with the real pipeline, real SQLite and the service wiring (issue 9).

The shipped zones come from models/operating_points.toml (match at FMR 0.1%, no match
beyond the FMR 1% threshold, East-Asian dev). The test picks, from the shared East-Asian
dev pairs, a genuine pair whose real distance the shipped zones call *uncertain*: the
entry check then sends the driver to a manual ID-photo review instead of a strike, and
the reviewer's decision resumes the session (anchored on that entry capture) or ends it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from proctor.bootstrap import Container, build_container
from proctor.clock import FakeClock
from proctor.config import ProctorSettings
from proctor.pipeline import Pipeline
from proctor.services.ports import RetentionClass
from proctor.services.sessions import anchor_key
from proctor.session.states import IdentityReviewPending, SessionKind
from proctor.storage.tables import AuditRow
from tests.zone_pairs import uncertain_pair as find_uncertain_pair

pytestmark = [pytest.mark.model, pytest.mark.db]

DRIVER = "driver-1"


@pytest.fixture(scope="module")
def uncertain_pair(face_data: Path, pipeline: Pipeline) -> tuple[bytes, bytes, bytes]:
    """(reference, entry capture, ID-holding stand-in): one person, the pair uncertain."""
    return find_uncertain_pair(face_data, pipeline)


@pytest.fixture()
def container(pipeline: Pipeline, tmp_path: Path) -> Iterator[Container]:
    s = ProctorSettings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        liveness_bursts=False,  # the entry zones are judged on one snapshot here
        application_gate=False,  # the face checks alone (the loop: tests/e2e)
    )
    c = build_container(s, pipeline=pipeline, clock=FakeClock())
    yield c
    c.close()


def _enter_uncertain(c: Container, pair: tuple[bytes, bytes, bytes]) -> str:
    reference, entry, _ = pair
    c.consent.give(DRIVER, c.consent.text[2], "test")  # no session without consent
    c.sessions.enroll(DRIVER, [reference])
    view = c.sessions.open_session(DRIVER, SessionKind.STUDY)
    assert view.challenge is not None
    r = c.sessions.submit_snapshot(view.session_id, DRIVER, view.challenge.id, entry)
    assert not r.passed and r.reasons == ("identity_uncertain",)
    assert r.session.state == "identity_review"
    assert r.session.consecutive_failures == 0  # not a strike
    assert r.session.challenge is None
    assert c.policy is not None
    zones = c.policy.reference
    assert r.threshold == zones.match_l2 and r.verdict == "uncertain"
    assert r.thresholds == zones.thresholds() and r.policy_id == c.policy.policy_id
    return view.session_id


def _decide(c: Container, pair: tuple[bytes, bytes, bytes], sid: str, approve: bool) -> None:
    m = c.review.request_manual_id(DRIVER, pair[2], sid)
    assert m.subject_id == sid
    with c.sessions._uow() as uow:
        entry_evidence = uow.evidence.for_session(sid)
    assert entry_evidence and set(entry_evidence) <= set(m.evidence_ids)
    assert len(m.evidence_ids) > len(entry_evidence)  # the ID-photo crop as well
    assert c.review.claim("reviewer-1") == m.id
    with c.sessions._uow() as uow:  # held for the human until the decision
        assert all(uow.evidence.retention_of(e) == (RetentionClass.FLAGGED, None)
                   for e in m.evidence_ids)  # fmt: skip
    c.review.decide_manual(m.id, "reviewer-1", approve)
    # then kept like a passed / failed capture: 24 h from the decision, never forever
    kept = RetentionClass.PASSED if approve else RetentionClass.FAILED
    until = c.clock.now() + timedelta(hours=24)
    with c.sessions._uow() as uow:
        for e in m.evidence_ids:
            held = uow.evidence.retention_of(e)
            assert held is not None and held[0] is kept and held[1] is not None
            assert held[1] <= until


def test_uncertain_entry_goes_to_id_review_and_approval_resumes(
    container: Container, uncertain_pair: tuple[bytes, bytes, bytes]
) -> None:
    c = container
    sid = _enter_uncertain(c, uncertain_pair)
    with c.sessions._uow() as uow:
        (evidence_id,) = uow.evidence.for_session(sid)
        held = uow.evidence.retention_of(evidence_id)
        assert held is not None and held[0] is RetentionClass.FLAGGED  # held for the human
        assert uow.templates.get(anchor_key(sid)) is not None  # pending anchor, sealed
    with pytest.raises(IdentityReviewPending):
        c.sessions.complete_study(sid, DRIVER)
    _decide(c, uncertain_pair, sid, approve=True)
    view = c.sessions.heartbeat(sid, DRIVER)
    assert view.state == "active"
    assert isinstance(c.clock, FakeClock)
    with c.sessions._uow() as uow:
        s = uow.sessions.get(sid)
        assert s is not None and s.identity_verified_at == c.clock.now()
        # the random captures keep their spacing from the approval, not from the opening
        first_due = s.opened_at + timedelta(seconds=s.study_offsets_s[s.next_scheduled])
    gap = (first_due - c.clock.now()).total_seconds()
    assert gap > 0
    c.clock.advance(gap / 2)
    done = c.sessions.complete_study(sid, DRIVER)
    assert done.state == "completed" and done.credited_s == pytest.approx(gap / 2, abs=1)
    with c.sessions._uow() as uow:
        actions = uow.db.execute(select(AuditRow.action, AuditRow.subject)).all()
    assert ("identity_review_applied", sid) in [tuple(a) for a in actions]


def test_rejected_id_review_ends_the_session_and_drops_the_anchor(
    container: Container, uncertain_pair: tuple[bytes, bytes, bytes]
) -> None:
    c = container
    sid = _enter_uncertain(c, uncertain_pair)
    _decide(c, uncertain_pair, sid, approve=False)
    view = c.sessions.heartbeat(sid, DRIVER)
    assert view.state == "terminated_invalid"
    with c.sessions._uow() as uow:
        assert uow.templates.get(anchor_key(sid)) is None
        s = uow.sessions.get(sid)
        assert s is not None and s.termination_reason == "identity_review_rejected"


def test_an_id_review_decided_after_its_timeout_leaves_the_session_expired(
    container: Container, uncertain_pair: tuple[bytes, bytes, bytes]
) -> None:
    c = container
    sid = _enter_uncertain(c, uncertain_pair)
    assert isinstance(c.clock, FakeClock)
    c.clock.advance(24 * 3600 + 1)  # nobody decided within the policy's 24 h
    # the reviewer's case view already shows the expiry; that read saves nothing
    assert c.review.session_state(sid) == ("terminated_invalid", "identity_review_expired")
    with c.sessions._uow() as uow:
        waiting = uow.sessions.get(sid)
        assert waiting is not None and waiting.state.value == "identity_review"
    _decide(c, uncertain_pair, sid, approve=True)  # the decision is still recorded
    view = c.sessions.heartbeat(sid, DRIVER)
    assert view.state == "terminated_invalid"
    assert view.termination_reason == "identity_review_expired"
    assert view.consecutive_failures == 0  # waiting for a human is never a strike
    with c.sessions._uow() as uow:
        assert uow.templates.get(anchor_key(sid)) is None  # the pending anchor is gone
        s = uow.sessions.get(sid)
        assert s is not None and s.closed_at is not None
        actions = [tuple(a) for a in uow.db.execute(select(AuditRow.action, AuditRow.subject))]
    assert ("session_terminated", sid) in actions
    assert ("identity_review_applied", sid) not in actions
