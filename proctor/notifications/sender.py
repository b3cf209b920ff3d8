"""The ``Sender`` port and its local adapters: the log (default) and a JSON-lines file.

A sender delivers one :class:`Notification` or raises :class:`DeliveryFailed` (``retryable``
says whether trying again can help); any other exception counts as retryable. Every
adapter receives the message's idempotency key (``message_id``), the same on every attempt:
the file sender drops a key it already wrote, and the webhook sends it as
``Idempotency-Key`` so the gateway can do the same. The webhook adapter is
:mod:`proctor.notifications.webhook`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path
from typing import BinaryIO, Protocol

from proctor.notifications.messages import Notification

logger = logging.getLogger("proctor.notifications")


class DeliveryFailed(Exception):
    """A send that did not go through; ``code`` is short and holds no message content."""

    def __init__(self, code: str, *, retryable: bool) -> None:
        super().__init__(code)
        self.code = code[:200]
        self.retryable = retryable


class Sender(Protocol):
    """Delivers one message; raises to signal failure (the message is retried or parked)."""

    name: str

    def send(self, message: Notification) -> None: ...


class LoggingSender:
    """Default: one log record per message with the event kind and ids, never the text or
    the driver's id (the text is personal data; the outbox row keeps both)."""

    name = "log"

    def __init__(self, log: logging.Logger | None = None) -> None:
        self._log = log or logger

    def send(self, message: Notification) -> None:
        self._log.info(
            "notification %s (%s) outbox=%d key=%s channels=%s",
            message.kind,
            message.topic.value,
            message.outbox_id,
            message.message_id,
            ",".join(c.value for c in message.channels),
        )


class FileSender:
    """Appends one JSON line per message (the demo's "gateway"); a key already in the file
    is not written again, across threads and processes (``flock`` on the file)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._read_upto = 0
        self._lock = threading.Lock()

    def send(self, message: Notification) -> None:
        line = json.dumps(message.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._catch_up(f)
                if message.message_id in self._seen:
                    return  # written before (a resend after a crash): exactly one line
                f.seek(0, os.SEEK_END)
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
                self._read_upto = f.tell()
                self._seen.add(message.message_id)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _catch_up(self, f: BinaryIO) -> None:
        """Read the keys of lines appended since our last look (by us or another process)."""
        if f.seek(0, os.SEEK_END) < self._read_upto:
            self._read_upto = 0  # rotated or truncated by an operator: read the new file
        f.seek(self._read_upto)
        tail: bytes = f.read()
        complete = tail[: tail.rfind(b"\n") + 1]
        for raw in complete.splitlines():
            try:
                self._seen.add(str(json.loads(raw)["message_id"]))
            except (ValueError, KeyError, TypeError):
                continue  # a foreign or damaged line names no key of ours
        self._read_upto += len(complete)
