"""Dispatcher over the in-memory queue: delivered once, retried with backoff, parked."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from proctor.notifications import (
    DeliveryFailed,
    Dispatcher,
    InMemoryDeliveryQueue,
    Notification,
    RetryPolicy,
)
from proctor.notifications.retry import (
    PARK_EXHAUSTED,
    PARK_NO_TEMPLATE,
    PARK_PERMANENT,
    PARK_STALE,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base_delay_s=10.0, max_delay_s=60.0, jitter=0.2)


class Recording:
    name = "recording"

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[Notification] = []
        self.fail = fail
        self.calls = 0
        self._lock = threading.Lock()

    def send(self, message: Notification) -> None:
        with self._lock:
            self.calls += 1
            if self.fail is not None:
                raise self.fail
            self.sent.append(message)


def _queue(*kinds: str, payload: Mapping[str, Any] | None = None) -> InMemoryDeliveryQueue:
    q = InMemoryDeliveryQueue()
    for i, kind in enumerate(kinds):
        q.add(kind, f"d{i}", T0, payload or {"application_id": f"a{i}", "passed": "true"})
    return q


# ---- backoff ------------------------------------------------------------------------------------


def test_backoff_doubles_is_capped_and_jitter_stays_within_bounds() -> None:
    for attempt, base in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0), (9, 60.0), (200, 60.0)]:
        for key in ("k1", "k2", "k3"):
            d = POLICY.delay_s(attempt, key)
            assert base <= d <= base * 1.2, (attempt, key, d)
    assert POLICY.delay_s(2, "k1") == POLICY.delay_s(2, "k1")  # deterministic per key
    assert len({POLICY.delay_s(1, f"k{i}") for i in range(20)}) > 1  # spread between keys


def test_after_failure_retries_then_parks() -> None:
    nxt = POLICY.after_failure(1, T0, "k", retryable=True)
    assert isinstance(nxt, datetime) and nxt >= T0 + timedelta(seconds=10)
    assert POLICY.after_failure(3, T0, "k", retryable=True) == PARK_EXHAUSTED
    assert POLICY.after_failure(1, T0, "k", retryable=False) == PARK_PERMANENT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_s": 0},
        {"base_delay_s": 10, "max_delay_s": 5},
        {"jitter": 1},
    ],
)
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# ---- dispatcher ---------------------------------------------------------------------------------


def test_each_message_is_delivered_once_across_runs() -> None:
    q, sender = _queue("exam_result", "points_reduced", "blacklist_created"), Recording()
    d = Dispatcher(q, sender, "h1", POLICY)
    assert d.dispatch(T0).summary()["delivered"] == 3
    assert d.dispatch(T0 + timedelta(hours=1)).summary()["delivered"] == 0
    assert sorted(m.outbox_id for m in sender.sent) == [1, 2, 3]
    assert len({m.message_id for m in sender.sent}) == 3


def test_retryable_failure_waits_for_backoff_then_parks_after_max_attempts() -> None:
    q, sender = _queue("exam_result"), Recording(DeliveryFailed("http_503", retryable=True))
    d = Dispatcher(q, sender, "h1", POLICY)
    now = T0
    assert d.dispatch(now).retried == [1]
    row = q.state(1)
    assert row.attempts == 1 and row.last_error == "http_503"
    assert row.next_attempt_at is not None and row.next_attempt_at > now
    assert not any(d.dispatch(now).summary().values())  # not due: nothing claimed
    assert sender.calls == 1
    now = row.next_attempt_at
    assert d.dispatch(now).retried == [1]
    now = q.state(1).next_attempt_at or now
    report = d.dispatch(now)
    assert report.parked == [1] and sender.calls == 3
    assert q.state(1).parked_reason == PARK_EXHAUSTED
    assert d.dispatch(now + timedelta(days=1)).summary()["parked"] == 0  # never tried again
    assert sender.calls == 3


def test_permanent_failure_parks_at_once() -> None:
    q, sender = _queue("exam_result"), Recording(DeliveryFailed("http_400", retryable=False))
    report = Dispatcher(q, sender, "h1", POLICY).dispatch(T0)
    assert report.parked == [1] and sender.calls == 1
    assert q.state(1).parked_reason == PARK_PERMANENT and q.state(1).last_error == "http_400"


def test_an_adapter_bug_is_retried_not_lost() -> None:
    q, sender = _queue("exam_result"), Recording(RuntimeError("boom"))
    report = Dispatcher(q, sender, "h1", POLICY).dispatch(T0)
    assert report.retried == [1] and q.state(1).last_error == "RuntimeError"


def test_unknown_kind_and_stale_message_are_parked_unsent() -> None:
    q = InMemoryDeliveryQueue()
    q.add("brand_new_kind", "d1", T0, {})
    q.add("exam_result", "d2", T0 - timedelta(days=8), {"passed": "true"})
    sender = Recording()
    report = Dispatcher(q, sender, "h1", RetryPolicy(max_age_s=7 * 86400)).dispatch(T0)
    assert sorted(report.parked) == [1, 2] and sender.calls == 0
    assert q.state(1).parked_reason == PARK_NO_TEMPLATE
    assert q.state(2).parked_reason == PARK_STALE


def test_internal_kinds_are_marked_without_sending() -> None:
    q, sender = _queue("flag_reviewed"), Recording()
    report = Dispatcher(q, sender, "h1", POLICY).dispatch(T0)
    assert report.skipped == [1] and sender.calls == 0 and q.state(1).delivered_at == T0


def test_claim_lease_expires_and_the_stale_holder_cannot_reschedule() -> None:
    q = _queue("exam_result")
    first = q.claim("crashed", 10, T0, lease_s=60)
    assert [c.attempt for c in first] == [1]
    assert q.claim("other", 10, T0 + timedelta(seconds=30), lease_s=60) == []
    second = q.claim("other", 10, T0 + timedelta(seconds=61), lease_s=60)
    assert [c.attempt for c in second] == [2]
    # the crashed holder wakes up: its marks carry attempt 1 and change nothing
    assert not q.retry_later(first[0], T0, T0 + timedelta(hours=1), "late")
    assert not q.park(first[0], T0, "late", "late")
    assert q.delivered(second[0], T0 + timedelta(seconds=62))
    assert not q.delivered(second[0], T0 + timedelta(seconds=63))  # once


def test_two_dispatchers_racing_send_each_message_once() -> None:
    q = InMemoryDeliveryQueue()
    for i in range(200):
        q.add("exam_result", f"d{i}", T0, {"passed": "false", "retakes_left": "1"})
    sender = Recording()
    a = Dispatcher(q, sender, "a", POLICY, batch_size=7)
    b = Dispatcher(q, sender, "b", POLICY, batch_size=7)
    barrier = threading.Barrier(2)

    def run(d: Dispatcher) -> None:
        barrier.wait()
        d.dispatch(T0)

    threads = [threading.Thread(target=run, args=(d,)) for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.outbox_id for m in sender.sent]
    assert sorted(ids) == list(range(1, 201))


def test_a_down_gateway_stops_the_run_and_hands_the_rest_back_unsent() -> None:
    q = _queue(*["exam_result"] * 10)
    sender = Recording(DeliveryFailed("timeout", retryable=True))
    report = Dispatcher(q, sender, "h1", POLICY, max_consecutive_failures=3).dispatch(T0)
    assert sender.calls == 3 and report.retried == [1, 2, 3]
    assert report.deferred == list(range(4, 11))
    for i in range(4, 11):  # not charged an attempt, due again after the base delay
        row = q.state(i)
        assert row.attempts == 0 and row.next_attempt_at == T0 + timedelta(seconds=10)
    # permanent failures are the message's fault, not the gateway's: no breaker
    q = _queue(*["exam_result"] * 5)
    sender = Recording(DeliveryFailed("http_400", retryable=False))
    report = Dispatcher(q, sender, "h1", POLICY, max_consecutive_failures=3).dispatch(T0)
    assert sender.calls == 5 and report.parked == [1, 2, 3, 4, 5] and report.deferred == []


def test_a_run_stops_at_half_its_lease() -> None:
    q = _queue(*["exam_result"] * 6)
    ticks = iter(range(100))
    d = Dispatcher(q, Recording(), "h1", POLICY, lease_s=6, elapsed=lambda: float(next(ticks)))
    report = d.dispatch(T0)  # one "second" per message: after 3 the budget (3 s) is spent
    assert report.delivered == [1, 2, 3] and report.deferred == [4, 5, 6]
    assert [c.attempt for c in q.claim("h2", 10, T0 + timedelta(seconds=10), 60)] == [1, 1, 1]
