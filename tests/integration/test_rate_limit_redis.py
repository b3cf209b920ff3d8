"""Per-driver rate limits shared by replicas through Redis (issue 5), against the
machine's real Redis (PROCTOR_TEST_REDIS_URL, default redis://127.0.0.1:6379/15).
Skipped with the reason when no Redis answers; the in-process limiter is tested too."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from api.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from tests.redis_probe import REDIS_URL, needs_redis

T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh event loop in its own thread: a session-wide Playwright
    fixture keeps an event loop running in the main thread, where asyncio.run refuses."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _prefix() -> str:
    return f"test:{secrets.token_hex(6)}:"  # every test its own buckets


async def _takes(limiter: RateLimiter, subject: str, n: int) -> list[float]:
    return [await limiter.take(subject) for _ in range(n)]


@needs_redis
def test_replicas_share_one_bucket_per_driver() -> None:
    async def run() -> tuple[list[float], list[float], float]:
        prefix = _prefix()
        a = RedisRateLimiter(REDIS_URL, per_min=60.0, burst=3, prefix=prefix)
        b = RedisRateLimiter(REDIS_URL, per_min=60.0, burst=3, prefix=prefix)
        try:
            first = await _takes(a, "driver-1", 2) + await _takes(b, "driver-1", 1)
            over = await _takes(b, "driver-1", 1) + await _takes(a, "driver-1", 1)
            other = await b.take("driver-2")  # another driver has a bucket of its own
        finally:
            await a.close()
            await b.close()
        return first, over, other

    first, over, other = run_async(run)
    assert first == [0.0, 0.0, 0.0]  # the burst of 3, spread over two replicas
    assert all(0.5 < w <= 1.0 for w in over), over  # 1 token per second refill
    assert other == 0.0


@needs_redis
def test_the_bucket_refills_at_its_rate() -> None:
    async def run() -> tuple[float, float, float]:
        limiter = RedisRateLimiter(REDIS_URL, per_min=600.0, burst=1, prefix=_prefix())
        try:
            assert await limiter.take("d") == 0.0
            wait = await limiter.take("d")
            await asyncio.sleep(wait + 0.05)
            after = await limiter.take("d")
            again = await limiter.take("d")
        finally:
            await limiter.close()
        return wait, after, again

    wait, after, again = run_async(run)
    assert 0.0 < wait <= 0.1  # 10 tokens per second
    assert after == 0.0
    assert again > 0.0


def test_an_unreachable_store_lets_requests_through_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def run() -> list[float]:
        limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", per_min=1.0, burst=1)
        try:
            return await _takes(limiter, "d", 3)
        finally:
            await limiter.close()

    with caplog.at_level(logging.WARNING, logger="proctor.api.ratelimit"):
        t = time.monotonic()
        waits = run_async(run)
        took = time.monotonic() - t
    assert waits == [0.0, 0.0, 0.0]
    assert took < 5.0  # connection refused fails fast, requests are not held up
    assert sum("rate limit store unreachable" in r.getMessage() for r in caplog.records) == 1


def test_the_local_limiter_has_the_same_contract() -> None:
    async def run() -> list[float]:
        limiter = LocalRateLimiter(per_min=60.0, burst=2)
        return await _takes(limiter, "d", 3) + [await limiter.take("e")]

    waits = run_async(run)
    assert waits[:2] == [0.0, 0.0] and 0.5 < waits[2] <= 1.0 and waits[3] == 0.0
