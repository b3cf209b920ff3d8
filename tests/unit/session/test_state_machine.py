"""Stateful property test over the session use cases (issue 3, SECURITY.md S1).

Hypothesis drives heartbeats, challenges, snapshots (pass, fail, timeout, replay,
garbage), refused challenges (unknown, reused, expired, foreign), exam questions
and answers, time passing, and the human steps (review, decision, appeal).
Invariants:

- exactly three consecutive failures terminate a session;
- no counter moves on a refused challenge;
- the exam clock is frozen while a comparison is pending;
- a terminal session never changes again;
- no blacklist exists without a human decision.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from proctor.capture.challenge import ChallengeRefused, ChallengeState
from proctor.clock import FakeClock
from proctor.errors import IllegalTransition
from proctor.services.adjudication import AdjudicationService
from proctor.services.common import Blacklisted
from proctor.services.sessions import SessionService
from proctor.session.adjudication import AppealRefused, FlagStatus, SameHumanTwice
from proctor.session.session import ProctorSession
from proctor.session.states import SessionKind, SessionRefused, SessionState
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy, in_memory_uow_factory

MAX_FAILURES = 3
DRIVERS = {"alice": "alice-face", "bob": "bob-face"}


def summary(s: ProctorSession) -> Any:
    """Everything observable about a session, for the 'terminal never changes' check."""
    return (
        s.state,
        s.closed_at,
        s.consecutive_failures,
        [(a.attempt_no, a.passed, a.reasons) for a in s.attempts],
        [(c.id, c.state, c.closed_at) for c in s.challenges.values()],
        None
        if s.exam_clock is None
        else (
            [(p.challenge_id, p.started_at, p.ended_at) for p in s.exam_clock.pauses],
            [(q.index, q.answered_at, q.counted) for q in s.exam_clock.questions],
        ),
        s.credited_s,
    )


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.rng = random.Random(0)
        self.state, factory = in_memory_uow_factory()
        self.service = SessionService(
            factory, FakeVerifier(), self.clock, policy=fake_policy(), rng=self.rng
        )
        self.adjudication = AdjudicationService(factory, self.clock, rng=self.rng)
        for driver, person in DRIVERS.items():
            self.service.enroll(driver, [fake_image(person, 0)])
        self.current: dict[str, str] = {}
        self.sent: dict[str, list[bytes]] = {d: [] for d in DRIVERS}
        self.variant = 100
        self.terminal_seen: dict[str, Any] = {}
        self.human_upheld: set[str] = set()
        self.appealed: dict[str, int] = {}  # blacklist id -> appeals filed
        for driver in DRIVERS:
            self._open(driver, SessionKind.EXAM if driver == "alice" else SessionKind.STUDY)

    # ---- helpers ------------------------------------------------------------------------
    def _open(self, driver: str, kind: SessionKind) -> None:
        try:
            view = self.service.open_session(driver, kind, question_count=4)
        except Blacklisted:
            return
        self.current[driver] = view.session_id

    def _session(self, driver: str) -> ProctorSession:
        return self.state.sessions[self.current[driver]]

    def _counters(self, driver: str) -> Any:
        s = self._session(driver)
        return (
            s.state,
            s.consecutive_failures,
            len(s.attempts),
            len(self.state.flags),
            len(self.state.blacklist),
        )

    def _image(self, driver: str, kind: str) -> bytes:
        self.variant += 1
        if kind == "pass":
            return fake_image(DRIVERS[driver], self.variant)
        if kind == "mismatch":
            return fake_image("mallory", self.variant)
        if kind == "no_face":
            return fake_image(DRIVERS[driver], self.variant, faces=0)
        if kind == "two_faces":
            return fake_image(DRIVERS[driver], self.variant, faces=2)
        if kind == "blurry":
            return fake_image(DRIVERS[driver], self.variant, quality=("blurry",))
        if kind == "replay" and self.sent[driver]:
            return self.sent[driver][0]
        if kind == "garbage":
            return b"\x00garbage"
        return fake_image(DRIVERS[driver], self.variant)

    # ---- rules --------------------------------------------------------------------------
    @rule(seconds=st.sampled_from([0.5, 5, 30, 59, 61, 89, 91, 200, 400, 1000]))
    def time_passes(self, seconds: float) -> None:
        s = copy.deepcopy(self._session("alice"))
        s.advance(self.clock.now())
        pending = s.comparison_pending and s.exam_clock is not None and not s.terminal
        current = s.exam_clock.current if s.exam_clock is not None else None
        before = (
            s.exam_clock.effective_elapsed_s(current.index, self.clock.now())
            if pending and current is not None and s.exam_clock is not None
            else None
        )
        self.clock.advance(seconds)
        if before is not None and current is not None and s.exam_clock is not None:
            event("clock checked while pending")
            # Frozen while the comparison is pending: no time has counted yet.
            assert s.exam_clock.effective_elapsed_s(current.index, self.clock.now()) == before
            s.advance(self.clock.now())
            if not s.terminal:
                assert s.exam_clock.effective_elapsed_s(current.index, self.clock.now()) == before

    @rule(driver=st.sampled_from(sorted(DRIVERS)))
    def heartbeat(self, driver: str) -> None:
        self.service.heartbeat(self.current[driver], driver)

    @rule(
        driver=st.sampled_from(sorted(DRIVERS)),
        kind=st.sampled_from(
            ["pass", "pass", "mismatch", "no_face", "two_faces", "blurry", "replay", "garbage"]
        ),
    )
    def submit(self, driver: str, kind: str) -> None:
        view = self.service.heartbeat(self.current[driver], driver)
        if view.challenge is None:
            return
        image = self._image(driver, kind)
        before = self._session(driver)
        failures_before = before.consecutive_failures
        result = self.service.submit_snapshot(
            self.current[driver], driver, view.challenge.id, image
        )
        if kind in ("mismatch", "no_face", "two_faces", "blurry", "garbage"):
            assert not result.passed
        if kind == "replay" and self.sent[driver] and image == self.sent[driver][0]:
            assert not result.passed and "replay" in result.reasons
        if result.passed:
            assert result.session.consecutive_failures == 0
        else:
            assert result.session.consecutive_failures == failures_before + 1
            if failures_before + 1 >= MAX_FAILURES:
                event("terminated by three failures")
                assert result.session.state == SessionState.TERMINATED_INVALID.value
            else:
                assert result.session.challenge is not None
                assert result.session.challenge.kind == "retry"
                assert result.session.challenge.guidance == "请正对摄像头"
        if kind == "pass" and not self.sent[driver]:
            self.sent[driver].append(image)

    @rule(
        driver=st.sampled_from(sorted(DRIVERS)),
        kinds=st.lists(st.sampled_from(["mismatch", "two_faces", "replay", "pass"]), max_size=3),
    )
    def burst(self, driver: str, kinds: list[str]) -> None:
        for kind in kinds:
            self.submit(driver, kind)

    def _refused(self, driver: str, session_id: str, challenge_id: str, code: str) -> None:
        self.service.heartbeat(self.current[driver], driver)  # apply time first
        before = self._counters(driver)
        try:
            self.service.submit_snapshot(
                session_id, driver, challenge_id, fake_image(DRIVERS[driver], 1)
            )
        except ChallengeRefused as refused:
            assert refused.code == code, (refused.code, code)
        else:
            raise AssertionError(f"expected refusal {code}")
        assert self._counters(driver) == before
        event(f"refused {code}")

    @rule(driver=st.sampled_from(sorted(DRIVERS)), token=st.text("0123456789abcdef", max_size=32))
    def unknown_challenge(self, driver: str, token: str) -> None:
        self._refused(driver, self.current[driver], "z" + token, "challenge_unknown")

    @rule(driver=st.sampled_from(sorted(DRIVERS)))
    def reused_challenge(self, driver: str) -> None:
        used = [
            c
            for c in self._session(driver).challenges.values()
            if c.state in (ChallengeState.DECIDED, ChallengeState.SUBMITTED)
        ]
        if used:
            self._refused(driver, self.current[driver], used[-1].id, "challenge_reused")

    @rule(driver=st.sampled_from(sorted(DRIVERS)))
    def expired_challenge(self, driver: str) -> None:
        expired = [
            c
            for c in self._session(driver).challenges.values()
            if c.state is ChallengeState.EXPIRED
        ]
        if expired:
            self._refused(driver, self.current[driver], expired[-1].id, "challenge_expired")

    @rule()
    def foreign_challenge(self) -> None:
        other = self._session("bob").challenges
        if other:
            cid = next(iter(other))
            # someone else's challenge reads as unknown: no id is confirmed (issue 17)
            self._refused("alice", self.current["alice"], cid, "challenge_unknown")
            # bob's own session id presented by alice is foreign too
            self._refused("alice", self.current["bob"], cid, "challenge_unknown")

    @rule(answer_after=st.sampled_from([0, 10, 59, 60, 61, 120]))
    def exam_question(self, answer_after: float) -> None:
        sid = self.current["alice"]
        try:
            index, _ = self.service.show_question(sid, "alice")
        except (SessionRefused, ChallengeRefused):
            return
        self.clock.advance(answer_after)
        try:
            timing = self.service.answer(sid, "alice", index)
        except (SessionRefused, ChallengeRefused):
            return
        assert timing.counted == (timing.effective_s <= 60.0)
        event(f"answer counted={timing.counted}")
        assert timing.effective_s <= (timing.answered_at - timing.shown_at).total_seconds()  # type: ignore[operator]

    @rule()
    def show_question(self) -> None:
        with contextlib.suppress(SessionRefused, ChallengeRefused):
            self.service.show_question(self.current["alice"], "alice")

    @rule()
    def answer_current(self) -> None:
        s = self._session("alice")
        current = s.exam_clock.current if s.exam_clock is not None else None
        if current is None:
            return
        try:
            timing = self.service.answer(self.current["alice"], "alice", current.index)
        except (SessionRefused, ChallengeRefused):
            return
        assert timing.counted == (timing.effective_s <= 60.0)

    @rule()
    def finish_study(self) -> None:
        with contextlib.suppress(SessionRefused, ChallengeRefused):
            self.service.complete_study(self.current["bob"], "bob")

    @rule(driver=st.sampled_from(sorted(DRIVERS)))
    def reopen(self, driver: str) -> None:
        if self._session(driver).terminal:
            self._open(driver, SessionKind.EXAM if driver == "alice" else SessionKind.STUDY)

    # ---- humans -------------------------------------------------------------------------
    @rule(uphold=st.booleans(), same_human=st.booleans(), skip_review=st.booleans())
    def adjudicate(self, uphold: bool, same_human: bool, skip_review: bool) -> None:
        open_flags = [f for f in self.state.flags.values() if f.status is FlagStatus.OPEN]
        if not open_flags:
            return
        flag = open_flags[0]
        if skip_review:
            try:
                self.adjudication.decide_flag(flag.id, "adj-1", uphold)
            except IllegalTransition:
                return
            raise AssertionError("decided without review")
        self.adjudication.review_flag(flag.id, "rev-1", "uphold" if uphold else "dismiss")
        if same_human:
            try:
                self.adjudication.decide_flag(flag.id, "rev-1", uphold)
            except SameHumanTwice:
                return
            raise AssertionError("same human decided twice")
        entry = self.adjudication.decide_flag(flag.id, "adj-1", uphold)
        if uphold:
            assert entry is not None
            self.human_upheld.add(flag.id)
            event("blacklisted by a human")
        else:
            assert entry is None

    @rule(uphold=st.booleans())
    def appeal(self, uphold: bool) -> None:
        active = [e for e in self.state.blacklist.values() if e.active_at(self.clock.now())]
        if not active:
            return
        entry = active[0]
        if self.appealed.get(entry.id, 0) >= entry.appeals_allowed:
            # one appeal per entry (issue 17): a second is refused and changes nothing
            with pytest.raises(AppealRefused):
                self.adjudication.file_appeal(entry.id, entry.driver_id, "again")
            assert self.state.blacklist[entry.id].active_at(self.clock.now())
            event("second appeal refused")
            return
        appeal = self.adjudication.file_appeal(entry.id, entry.driver_id, "it was me")
        self.appealed[entry.id] = self.appealed.get(entry.id, 0) + 1
        self.adjudication.decide_appeal(appeal.id, "adj-2", uphold)
        after = self.state.blacklist[entry.id]
        assert after.active_at(self.clock.now()) != uphold
        event("appeal upheld" if uphold else "appeal rejected")
        if uphold:
            assert not any(bid == entry.id and r is None for bid, r in self.state.voided.values())

    # ---- invariants ---------------------------------------------------------------------
    @invariant()
    def three_consecutive_failures_terminate(self) -> None:
        for s in self.state.sessions.values():
            run = 0
            for i, a in enumerate(s.attempts):
                run = 0 if a.passed else run + 1
                if run == MAX_FAILURES:
                    assert i == len(s.attempts) - 1, "attempt recorded after termination"
            assert s.consecutive_failures == run
            assert (s.state is SessionState.TERMINATED_INVALID) == (run == MAX_FAILURES)
            assert run <= MAX_FAILURES

    @invariant()
    def terminal_sessions_never_change(self) -> None:
        for sid, s in self.state.sessions.items():
            if s.terminal:
                snap = summary(s)
                assert self.terminal_seen.setdefault(sid, snap) == snap

    @invariant()
    def at_most_one_pending_challenge(self) -> None:
        for s in self.state.sessions.values():
            assert sum(c.pending for c in s.challenges.values()) <= (0 if s.terminal else 1)

    @invariant()
    def no_blacklist_without_human_decision(self) -> None:
        for entry in self.state.blacklist.values():
            flag = self.state.flags[entry.flag_id]
            assert flag.status is FlagStatus.UPHELD
            assert flag.reviewer_id and flag.adjudicator_id
            assert flag.reviewer_id != flag.adjudicator_id
            assert entry.decided_by == flag.adjudicator_id
            assert entry.flag_id in self.human_upheld

    @invariant()
    def no_images_in_audit_or_outbox(self) -> None:
        text = repr(self.state.audit) + repr(self.state.outbox)
        assert "FAKEIMG" not in text and "crop:" not in text


SessionMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("PROCTOR_SM_EXAMPLES", "100")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSessionMachine = SessionMachine.TestCase
