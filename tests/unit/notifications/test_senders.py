"""Webhook signing and the file sender's one-line-per-key guarantee."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proctor.clock import FakeClock
from proctor.notifications import (
    FileSender,
    LoggingSender,
    WebhookSender,
    render,
    sign,
    verify_signature,
)

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SECRET = b"0123456789abcdef-secret"


def test_signature_verifies_and_rejects_tampering_replay_and_wrong_keys() -> None:
    body = b'{"kind":"exam_result"}'
    ts = 1_700_000_000
    sig = sign(SECRET, ts, body)
    assert verify_signature(SECRET, str(ts), body, sig, now_s=ts + 10)
    assert not verify_signature(SECRET, str(ts), body + b" ", sig, now_s=ts)
    assert not verify_signature(SECRET, str(ts + 1), body, sig, now_s=ts)
    assert not verify_signature(b"another-secret-of-16+", str(ts), body, sig, now_s=ts)
    assert not verify_signature(SECRET, str(ts), body, sig, now_s=ts + 301)  # stale: replay
    assert not verify_signature(SECRET, "not-a-number", body, sig, now_s=ts)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://gateway.example.com/hook", SECRET),  # cleartext off the machine
        ("ftp://127.0.0.1/hook", SECRET),
        ("https://gateway.example.com/hook", b"short"),
    ],
)
def test_webhook_refuses_unsafe_configuration(url: str, secret: bytes) -> None:
    with pytest.raises(ValueError):
        WebhookSender(url, secret, FakeClock())


def test_file_sender_writes_each_key_once_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "out" / "notifications.jsonl"
    m1 = render(1, "exam_result", "d1", AT, {"passed": "true"})
    m2 = render(2, "points_reduced", "d1", AT, {"removed_points": 1, "points_after": 5})
    a, b = FileSender(path), FileSender(path)
    a.send(m1)
    a.send(m1)  # resend after a crash between send and mark
    b.send(m1)  # another replica resending the same key
    b.send(m2)
    a.send(m2)
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["outbox_id"] for x in lines] == [1, 2]
    assert lines[0]["text"] == m1.text and lines[0]["message_id"] == m1.message_id
    path.write_text("", encoding="utf-8")  # rotated by an operator
    m3 = render(3, "exam_result", "d2", AT, {"passed": "false"})
    a.send(m3)
    b.send(m3)
    assert [json.loads(x)["outbox_id"] for x in path.read_text().splitlines()] == [3]


def test_log_sender_logs_kind_and_ids_but_not_text_or_driver(
    caplog: pytest.LogCaptureFixture,
) -> None:
    m = render(5, "blacklist_created", "driver-secret-id", AT, {"blacklist_id": "bl-9"})
    with caplog.at_level(logging.INFO, logger="proctor.notifications"):
        LoggingSender().send(m)
    text = caplog.text
    assert "blacklist_created" in text and m.message_id in text and "outbox=5" in text
    assert "driver-secret-id" not in text and "黑名单" not in text
