"""CPU work off the event loop, bounded: a fixed number of workers and a bounded queue.

When every worker is busy and the queue is full, ``run_cpu`` refuses at once
with ``overloaded`` (503 + Retry-After) instead of queueing without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from api.errors import ApiError

P = ParamSpec("P")
T = TypeVar("T")


class CpuPool:
    def __init__(self, workers: int, queue: int, retry_after_s: int = 2) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self._limiter = anyio.CapacityLimiter(workers)
        self._admitted = 0
        self._lock = threading.Lock()
        self.shed = 0

    @property
    def in_flight(self) -> int:
        return self._admitted

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            if self._admitted >= self.capacity:
                self.shed += 1
                raise ApiError(
                    "overloaded",
                    "the matching service is at capacity; retry shortly",
                    details={"retry_after_s": self.retry_after_s},
                    headers={"Retry-After": str(self.retry_after_s)},
                )
            self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(
                lambda: fn(*args, **kwargs), limiter=self._limiter
            )
        finally:
            with self._lock:
                self._admitted -= 1
