"""Outbox, dispatcher and the rule-event mapping: every message is delivered exactly once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.clock import FakeClock
from proctor.notifications import (
    Channel,
    Dispatcher,
    DuplicateMessage,
    InMemoryOutbox,
    LoggingSender,
    OutboxMessage,
    Status,
    Topic,
    make_message_id,
    messages_for_event,
)
from proctor.rules.application import Application
from proctor.rules.calendar import ChineseWorkdayCalendar
from proctor.rules.driver import DriverRecord
from proctor.rules.events import EventKind, RuleEvent
from proctor.rules.policy import load_policy

T0 = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)


def _msg(i: int, channel: Channel = Channel.SMS) -> OutboxMessage:
    return OutboxMessage(make_message_id(str(i)), "d1", channel, Topic.APPROVAL, T0, {"n": str(i)})


class RecordingSender:
    def __init__(self, fail_ids: set[str] | None = None) -> None:
        self.sent: list[str] = []
        self.fail_ids = set(fail_ids or ())
        self._lock = threading.Lock()

    def send(self, message: OutboxMessage) -> None:
        if message.message_id in self.fail_ids:
            raise ConnectionError("gateway down")
        with self._lock:
            self.sent.append(message.message_id)


def test_add_is_idempotent_on_message_id() -> None:
    outbox = InMemoryOutbox()
    assert outbox.add(_msg(1))
    assert not outbox.add(_msg(1))
    assert len(outbox) == 1
    clash = OutboxMessage(_msg(1).message_id, "d2", Channel.APP, Topic.BLACKLIST, T0)
    with pytest.raises(DuplicateMessage):
        outbox.add(clash)


def test_dispatch_delivers_once_even_when_run_again() -> None:
    outbox, sender = InMemoryOutbox(), RecordingSender()
    for i in range(3):
        outbox.add(_msg(i))
    dispatcher = Dispatcher(outbox, sender, FakeClock(T0))
    first = dispatcher.dispatch()
    second = dispatcher.dispatch()
    assert len(first.delivered) == 3 and second.delivered == ()
    assert sorted(sender.sent) == sorted(_msg(i).message_id for i in range(3))
    outbox.add(_msg(1))  # re-enqueueing a delivered message does not resend it
    assert dispatcher.dispatch().delivered == ()
    assert outbox.status(_msg(1).message_id) is Status.DELIVERED


def test_failed_send_stays_pending_and_is_retried() -> None:
    outbox = InMemoryOutbox()
    outbox.add(_msg(1))
    outbox.add(_msg(2))
    sender = RecordingSender(fail_ids={_msg(1).message_id})
    dispatcher = Dispatcher(outbox, sender, FakeClock(T0))
    report = dispatcher.dispatch()
    assert report.failed == (_msg(1).message_id,)
    assert outbox.status(_msg(1).message_id) is Status.PENDING
    sender.fail_ids.clear()
    assert dispatcher.dispatch().delivered == (_msg(1).message_id,)
    assert outbox.attempts(_msg(1).message_id) == 2
    assert sender.sent.count(_msg(1).message_id) == 1


def test_concurrent_dispatchers_never_double_send() -> None:
    outbox, sender = InMemoryOutbox(), RecordingSender()
    for i in range(200):
        outbox.add(_msg(i))
    dispatchers = [Dispatcher(outbox, sender, FakeClock(T0), batch_size=7) for _ in range(4)]

    def drain(d: Dispatcher) -> None:
        while d.dispatch().delivered:
            pass

    threads = [threading.Thread(target=drain, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sender.sent) == 200 == len(set(sender.sent))


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(0, 30), max_size=60),
    failing=st.sets(st.integers(0, 30), max_size=5),
    rounds=st.integers(1, 4),
)
def test_each_message_is_sent_at_most_once_and_all_eventually(
    ids: list[int], failing: set[int], rounds: int
) -> None:
    outbox = InMemoryOutbox()
    for i in ids:
        outbox.add(_msg(i))
    sender = RecordingSender(fail_ids={_msg(i).message_id for i in failing})
    dispatcher = Dispatcher(outbox, sender, FakeClock(T0), batch_size=5)
    for _ in range(rounds * 20):
        dispatcher.dispatch()
    sender.fail_ids.clear()
    while dispatcher.dispatch().delivered:
        pass
    assert sorted(sender.sent) == sorted({_msg(i).message_id for i in ids})


def test_logging_sender_logs_one_record(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="proctor.notifications"):
        LoggingSender().send(_msg(5, Channel.APP))
    assert len(caplog.records) == 1
    assert "approval via app to d1" in caplog.records[0].getMessage()


def test_messages_need_aware_time_and_an_id() -> None:
    with pytest.raises(ValueError, match="aware"):
        OutboxMessage("x", "d1", Channel.SMS, Topic.APPROVAL, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="message_id"):
        OutboxMessage("", "d1", Channel.SMS, Topic.APPROVAL, T0)


def test_every_topic_is_reachable_from_rule_events() -> None:
    from proctor.notifications.from_rules import TOPIC_BY_EVENT

    assert set(TOPIC_BY_EVENT.values()) == set(Topic)


def test_rule_events_become_idempotent_outbox_messages() -> None:
    policy = load_policy()
    driver = DriverRecord("driver-9", date(2015, 3, 10), cycle_points=3)
    app = Application.submit("a1", driver, T0, policy, ChineseWorkdayCalendar())
    app.approve(T0)
    outbox = InMemoryOutbox()
    messages = [m for e in app.events for m in messages_for_event(e)]
    assert {m.channel for m in messages} == {Channel.SMS, Channel.APP}
    assert all(m.topic is Topic.APPROVAL and m.recipient_id == "driver-9" for m in messages)
    assert all(outbox.add(m) for m in messages)
    again = [m for e in app.events for m in messages_for_event(e)]
    assert not any(outbox.add(m) for m in again)
    sender = RecordingSender()
    Dispatcher(outbox, sender, FakeClock(T0)).dispatch()
    assert len(sender.sent) == len(messages)


def test_events_the_driver_need_not_hear_make_no_message() -> None:
    event = RuleEvent(EventKind.STUDY_COMPLETED, "a1", "d1", T0)
    assert messages_for_event(event) == []
