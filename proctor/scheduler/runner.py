"""``Scheduler``: polls every ``poll_s`` seconds and runs each registered job once per tick.

``run_due(now)`` is the whole algorithm (tests call it with their own ``now``); ``start``
runs it on a daemon thread until ``stop``. Every run is logged (job, tick, holder, token,
status, summary) and handed to ``on_run`` (the composition root audits runs that did
work or failed). A job that raises does not stop the others or the loop.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proctor.clock import Clock
from proctor.scheduler.jobs import Job, JobRun, JobSummary, plain_summary
from proctor.scheduler.lease import LeaseStore

log = logging.getLogger("proctor.scheduler")


@dataclass(frozen=True, slots=True)
class _Entry:
    job: Job
    interval_s: float


def tick_of(now: datetime, interval_s: float) -> int:
    """The tick number of ``now`` for a job run every ``interval_s`` seconds."""
    return math.floor(now.timestamp() / interval_s)


class Scheduler:
    def __init__(
        self,
        leases: LeaseStore,
        clock: Clock,
        holder: str,
        *,
        poll_s: float = 5.0,
        lease_s: float = 300.0,
        on_run: Callable[[JobRun], None] | None = None,
    ) -> None:
        if poll_s <= 0 or lease_s <= 0:
            raise ValueError("poll_s and lease_s must be positive")
        self.holder = holder
        self.poll_s = poll_s
        self.lease_s = lease_s
        self._leases = leases
        self._clock = clock
        self._on_run = on_run
        self._jobs: dict[str, _Entry] = {}
        self._known_tick: dict[str, int] = {}  # the stored last_tick, as last seen
        self.run_counts: dict[tuple[str, str], int] = {}  # (job, status) -> runs here
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- registration -----------------------------------------------------------------------

    def register(self, job: Job, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if job.name in self._jobs:
            raise ValueError(f"job {job.name!r} is already registered")
        self._jobs[job.name] = _Entry(job, interval_s)

    @property
    def jobs(self) -> dict[str, float]:
        """Registered job names and their intervals (seconds)."""
        return {name: e.interval_s for name, e in self._jobs.items()}

    def status(self) -> list[dict[str, Any]]:
        """The stored leases and last runs of every job (all replicas)."""
        return self._leases.status()

    # ---- running ----------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> list[JobRun]:
        """Run every job whose current tick no replica has run yet and whose lease we get."""
        runs: list[JobRun] = []
        for name, entry in self._jobs.items():
            at = now or self._clock.now()
            tick = tick_of(at, entry.interval_s)
            if self._known_tick.get(name, -1) >= tick:
                continue
            got = self._leases.acquire(name, self.holder, tick, at, self.lease_s)
            if got.token is None:
                self._known_tick[name] = got.last_tick
                continue
            self._known_tick[name] = tick
            runs.append(self._run(entry.job, tick, got.token, at, now))
        return runs

    def _run(self, job: Job, tick: int, token: int, at: datetime, now: datetime | None) -> JobRun:
        status, summary = "ok", {}
        try:
            summary = plain_summary(job.run(at))
        except Exception as exc:  # one failing job must not stop the others
            log.exception("scheduled job %s failed (tick %d)", job.name, tick)
            status, summary = "error", {"error": type(exc).__name__}
        finished = now or self._clock.now()
        if not self._leases.finish(job.name, self.holder, token, finished, status, summary):
            status = "lease_lost"
            log.warning(
                "scheduled job %s tick %d finished after its lease (token %d) was taken over",
                job.name,
                tick,
                token,
            )
        run = JobRun(job.name, tick, self.holder, token, at, finished, status, summary)
        self._report(run)
        return run

    def _report(self, run: JobRun) -> None:
        key = (run.job, run.status)
        self.run_counts[key] = self.run_counts.get(key, 0) + 1
        level = logging.INFO if run.did_work else logging.DEBUG
        log.log(
            level,
            "job %s tick=%d holder=%s token=%d status=%s summary=%s",
            run.job,
            run.tick,
            run.holder,
            run.token,
            run.status,
            _brief(run.summary),
        )
        if self._on_run is not None:
            try:
                self._on_run(run)
            except Exception:  # auditing a run must not kill the loop
                log.exception("recording the run of job %s failed", run.job)

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        for name in self._jobs:
            self._leases.ensure(name)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="proctor-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler %s started: %s", self.holder, self.jobs)

    def stop(self, timeout_s: float = 30.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout_s)
        log.info("scheduler %s stopped", self.holder)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # the database may be away for a while: keep polling
                log.exception("scheduler poll failed")
            self._stop.wait(self.poll_s)


def _brief(summary: JobSummary) -> dict[str, object]:
    """Counts as they are; lists as their length (logs carry no id lists)."""
    return {k: (len(v) if isinstance(v, list | tuple) else v) for k, v in summary.items()}
