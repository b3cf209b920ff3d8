"""Where the per-snapshot review work runs: a local process pool or a Ray cluster.

Both engines run the same ``ReviewAnalyzer`` on the same bytes and return results
in task order, so a job's output does not depend on the engine. Workers build
their models once (pool initializer / Ray actor constructor). Only crop bytes and
measurements cross process boundaries; nothing is logged.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from proctor.review.ports import Analysed, Engine, Task
from proctor.review.profile import ReviewAnalyzer, ReviewProfile

_ANALYZER: ReviewAnalyzer | None = None


def _init(profile: ReviewProfile) -> None:
    global _ANALYZER
    _ANALYZER = ReviewAnalyzer(profile)


def _analyse(task: Task) -> Analysed:
    assert _ANALYZER is not None
    return _ANALYZER.analyse(task[0], task[1])


class LocalEngine:
    """A ``forkserver`` process pool: workers never inherit the parent's DB handles."""

    name = "local"

    def __init__(self, profile: ReviewProfile, workers: int = 2) -> None:
        self.workers = max(1, workers)
        ctx = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init, initargs=(profile,)
        )

    def run(self, tasks: Sequence[Task]) -> list[Analysed]:
        return list(self._pool.map(_analyse, tasks, chunksize=1))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayWorker:
    def __init__(self, profile: ReviewProfile) -> None:
        self._a = ReviewAnalyzer(profile)

    def analyse(self, evidence_id: str, data: bytes) -> Analysed:
        return self._a.analyse(evidence_id, data)


class RayEngine:
    """One actor per worker on an existing cluster (``address``); ``ray`` is an optional extra."""

    name = "ray"

    def __init__(self, profile: ReviewProfile, address: str, workers: int = 2) -> None:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise RuntimeError("the ray engine needs `pip install proctor[ray]`") from exc
        self._ray: Any = ray
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        self.workers = max(1, workers)
        actor = ray.remote(num_cpus=1)(_RayWorker)
        self._actors: list[Any] = [actor.remote(profile) for _ in range(self.workers)]

    def run(self, tasks: Sequence[Task]) -> list[Analysed]:
        n = len(self._actors)
        refs = [
            self._actors[i % n].analyse.remote(eid, data) for i, (eid, data) in enumerate(tasks)
        ]
        return list(self._ray.get(refs))

    def close(self) -> None:
        for a in self._actors:
            self._ray.kill(a)
        self._ray.shutdown()


def make_engine(
    name: str, profile: ReviewProfile, workers: int, address: str | None = None
) -> Engine:
    if name == "local":
        return LocalEngine(profile, workers)
    if name == "ray":
        if not address:
            raise ValueError("--engine ray needs --address")
        return RayEngine(profile, address, workers)
    raise ValueError(f"unknown engine {name!r}: use local or ray")
