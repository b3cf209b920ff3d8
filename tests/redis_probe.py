"""The machine's Redis for tests (PROCTOR_TEST_REDIS_URL, default db 15 on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

REDIS_URL = os.environ.get("PROCTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_up() -> bool:
    u = urlparse(REDIS_URL)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_up(), reason=f"no Redis at {REDIS_URL}")
