"""Outbox delivery on real SQLite and PostgreSQL: once through the file sender, a failing
webhook (a local HTTP server) retried then parked, two dispatchers racing, signatures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from proctor.clock import FakeClock
from proctor.notifications import (
    Dispatcher,
    FileSender,
    Notification,
    RetryPolicy,
    WebhookSender,
    verify_signature,
)
from proctor.notifications.retry import PARK_EXHAUSTED, PARK_PERMANENT
from proctor.services.ports import NotificationEvent
from proctor.storage.outbox_repo import SqlDeliveryQueue
from proctor.storage.tables import OutboxRow
from proctor.storage.uow import Storage
from tests.integration.storage.replicas import open_replica

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def replica(storage: Storage, tmp_path: Path) -> Iterator[Storage]:
    yield from open_replica(storage, tmp_path)


SECRET = b"webhook-secret-0123456789"
EVENTS = [
    ("application_approved", {"application_id": "a1", "study_deadline": "2026-12-04"}),
    ("exam_result", {"application_id": "a1", "passed": "true"}),
    ("points_reduced", {"status": "applied", "removed_points": 1, "points_after": 5}),
    ("blacklist_created", {"blacklist_id": "b1", "platform_until": "2029-12-01T00:00:00+00:00"}),
    ("deadline_near", {"date": "2027-03-01", "days_left": "30"}),
]


def emit(storage: Storage, events: list[tuple[str, dict[str, Any]]], at: datetime = T0) -> None:
    with storage.uow() as uow:
        for i, (kind, payload) in enumerate(events):
            uow.outbox.emit(NotificationEvent(kind, f"driver-{i}", at, payload))
        uow.commit()


def rows(storage: Storage) -> list[OutboxRow]:
    with storage.sessionmaker() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_outbox_rows_are_delivered_once_through_the_file_sender(
    storage: Storage, tmp_path: Path
) -> None:
    emit(storage, EVENTS)
    path = tmp_path / "notifications.jsonl"
    queue = SqlDeliveryQueue(storage)
    d = Dispatcher(queue, FileSender(path), "replica-a", RetryPolicy(), lease_s=60)
    assert d.dispatch(T0).summary()["delivered"] == len(EVENTS)
    assert d.dispatch(T0 + timedelta(minutes=5)).summary()["delivered"] == 0
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["kind"] for x in lines] == [k for k, _ in EVENTS]
    assert len({x["message_id"] for x in lines}) == len(EVENTS)
    assert all(r.delivered_at == T0 and r.attempts == 1 for r in rows(storage))
    assert queue.counts() == {"parked": 0, "pending": 0}


def test_a_crash_between_send_and_mark_does_not_write_twice(
    storage: Storage, replica: Storage, tmp_path: Path
) -> None:
    emit(storage, EVENTS[:1])
    path = tmp_path / "notifications.jsonl"
    queue = SqlDeliveryQueue(storage)
    # replica A claims and sends, then dies before marking the row delivered
    from proctor.notifications import render

    (claimed,) = queue.claim("replica-a", 10, T0, lease_s=60)
    FileSender(path).send(
        render(claimed.outbox_id, claimed.kind, claimed.driver_id, claimed.at, claimed.payload)
    )
    b = Dispatcher(SqlDeliveryQueue(replica), FileSender(path), "replica-b")
    assert b.dispatch(T0 + timedelta(seconds=30)).summary()["delivered"] == 0  # A's lease holds
    assert b.dispatch(T0 + timedelta(seconds=61)).summary()["delivered"] == 1
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1  # same key: not again
    (row,) = rows(storage)
    assert row.attempts == 2 and row.delivered_at is not None
    assert not queue.retry_later(claimed, T0, T0, "late")  # A's token is spent


class Gateway:
    """A local HTTP receiver: answers with the next scripted status, checks signatures."""

    def __init__(self, statuses: list[int], delay_s: float = 0.0) -> None:
        self.statuses = statuses
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify_signature(
                    SECRET,
                    self.headers["X-Proctor-Timestamp"],
                    body,
                    self.headers["X-Proctor-Signature"],
                    now_s=T0.timestamp(),
                )
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                gateway.requests.append(
                    {
                        "signed": ok,
                        "key": self.headers["Idempotency-Key"],
                        "body": json.loads(body),
                        "status": status,
                    }
                )
                if gateway.delay_s:
                    time.sleep(gateway.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway_factory() -> Iterator[Any]:
    made: list[Gateway] = []

    def make(statuses: list[int], delay_s: float = 0.0) -> Gateway:
        made.append(Gateway(statuses, delay_s))
        return made[-1]

    yield make
    for g in made:
        g.close()


def test_failing_webhook_is_retried_with_backoff_then_parked_and_requeued(
    storage: Storage, gateway_factory: Any
) -> None:
    emit(storage, EVENTS[1:2])
    gw = gateway_factory([503, 500, 502])
    queue = SqlDeliveryQueue(storage)
    policy = RetryPolicy(max_attempts=3, base_delay_s=30, max_delay_s=600)
    d = Dispatcher(queue, WebhookSender(gw.url, SECRET, FakeClock(T0), timeout_s=5), "a", policy)
    now = T0
    assert d.dispatch(now).retried == [1]
    assert not any(d.dispatch(now + timedelta(seconds=29)).summary().values())  # backing off
    for _ in range(2):
        (row,) = rows(storage)
        assert row.next_attempt_at is not None and row.next_attempt_at >= now
        now = row.next_attempt_at
        report = d.dispatch(now)
    assert report.parked == [1]
    (row,) = rows(storage)
    assert (row.parked_reason, row.last_error, row.attempts) == (PARK_EXHAUSTED, "http_502", 3)
    assert [r["status"] for r in gw.requests] == [503, 500, 502]
    assert all(r["signed"] for r in gw.requests)
    assert len({r["key"] for r in gw.requests}) == 1  # one idempotency key for every attempt
    assert gw.requests[0]["body"]["text"].startswith("【学法减分】")
    parked = queue.parked()
    assert [(p.outbox_id, p.reason) for p in parked] == [(1, PARK_EXHAUSTED)]
    assert queue.counts() == {"parked": 1, "pending": 0}
    # an operator fixes the gateway and requeues: delivered once more, not twice
    assert queue.requeue(1, now)
    assert d.dispatch(now).delivered == [1]
    assert gw.requests[-1]["status"] == 200 and len(gw.requests) == 4
    assert not queue.requeue(1, now)  # delivered: nothing to requeue


def test_webhook_4xx_is_parked_without_retry_and_timeouts_are_retried(
    storage: Storage, gateway_factory: Any
) -> None:
    emit(storage, EVENTS[:1])
    gw = gateway_factory([400])
    queue = SqlDeliveryQueue(storage)
    d = Dispatcher(queue, WebhookSender(gw.url, SECRET, FakeClock(T0)), "a")
    assert d.dispatch(T0).parked == [1]
    assert rows(storage)[0].parked_reason == PARK_PERMANENT and len(gw.requests) == 1

    emit(storage, EVENTS[1:2])
    slow = gateway_factory([200], delay_s=2.0)
    d = Dispatcher(queue, WebhookSender(slow.url, SECRET, FakeClock(T0), timeout_s=0.2), "a")
    assert d.dispatch(T0).retried == [2]
    assert rows(storage)[1].last_error == "timeout"


def test_two_dispatchers_racing_deliver_each_message_once(
    storage: Storage, replica: Storage
) -> None:
    n = 60
    emit(storage, [("exam_result", {"passed": "false", "retakes_left": "1"})] * n)
    sent: list[int] = []
    lock = threading.Lock()

    class Recording:
        name = "recording"

        def send(self, message: Notification) -> None:
            time.sleep(0.002)  # let the other replica interleave
            with lock:
                sent.append(message.outbox_id)

    dispatchers = [
        Dispatcher(SqlDeliveryQueue(st), Recording(), name, batch_size=4)
        for st, name in ((storage, "replica-a"), (replica, "replica-b"))
    ]
    barrier = threading.Barrier(2)
    reports = []

    def run(d: Dispatcher) -> None:
        barrier.wait()
        reports.append(d.dispatch(T0))

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == [r.id for r in rows(storage)]  # every row once, none twice
    assert len(sent) == n and all(r.delivered_at is not None for r in rows(storage))
    assert sum(len(r.delivered) for r in reports) == n


def test_a_down_gateway_costs_three_requests_per_run(
    storage: Storage, gateway_factory: Any
) -> None:
    emit(storage, EVENTS)
    gw = gateway_factory([503] * 100)
    d = Dispatcher(SqlDeliveryQueue(storage), WebhookSender(gw.url, SECRET, FakeClock(T0)), "a")
    report = d.dispatch(T0)
    assert len(gw.requests) == 3 and report.retried == [1, 2, 3] and report.deferred == [4, 5]
    assert [r.attempts for r in rows(storage)] == [1, 1, 1, 0, 0]
    assert all(r.claimed_until is None for r in rows(storage))
