"""Two scheduler replicas (separate engines) on one database, SQLite and PostgreSQL:
exactly one run per tick; a dead holder's lease expires and is taken over, fenced."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from proctor.clock import FakeClock, SystemClock
from proctor.scheduler import FunctionJob, JobRun, Scheduler
from proctor.storage.scheduler_repo import SqlLeaseStore
from proctor.storage.uow import Storage
from tests.integration.storage.replicas import open_replica

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
INTERVAL_S = 60.0


@pytest.fixture
def replica(storage: Storage, tmp_path: Path) -> Iterator[Storage]:
    yield from open_replica(storage, tmp_path)


class Ledger:
    """The recording job's memory: which replica ran which tick."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, datetime]] = []
        self._lock = threading.Lock()

    def job(self, holder: str) -> FunctionJob:
        def run(now: datetime) -> dict[str, int]:
            with self._lock:
                self.runs.append((holder, now))
            return {"ran": 1}

        return FunctionJob("recorder", run)


def two_schedulers(
    storage: Storage, replica: Storage, ledger: Ledger, clock: object, **kw: float
) -> list[Scheduler]:
    out = []
    for st, holder in ((storage, "replica-a"), (replica, "replica-b")):
        s = Scheduler(SqlLeaseStore(st), clock, holder, **kw)  # type: ignore[arg-type]
        s.register(ledger.job(holder), INTERVAL_S)
        out.append(s)
    return out


def test_exactly_one_replica_runs_each_tick(storage: Storage, replica: Storage) -> None:
    ledger = Ledger()
    a, b = two_schedulers(storage, replica, ledger, FakeClock(T0), lease_s=30)
    ticks = 12
    for i in range(ticks):
        now = T0 + timedelta(seconds=INTERVAL_S * i + 1)
        barrier = threading.Barrier(2)
        runs: list[list[JobRun]] = []

        def go(
            s: Scheduler,
            at: datetime = now,
            bar: threading.Barrier = barrier,
            out: list[list[JobRun]] = runs,
        ) -> None:
            bar.wait()
            out.append(s.run_due(at))

        threads = [threading.Thread(target=go, args=(s,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(len(r) for r in runs) == 1, (i, runs)
        # asking again within the same tick runs nothing, on either replica
        assert a.run_due(now + timedelta(seconds=5)) == []
        assert b.run_due(now + timedelta(seconds=5)) == []
    assert len(ledger.runs) == ticks
    assert len({at for _, at in ledger.runs}) == ticks
    (lease,) = SqlLeaseStore(storage).status()
    assert lease["token"] == ticks and lease["last_status"] == "ok"


def test_a_dead_holders_lease_expires_and_is_taken_over(storage: Storage, replica: Storage) -> None:
    ledger = Ledger()
    _, b = two_schedulers(storage, replica, ledger, FakeClock(T0), lease_s=300)
    store_a = SqlLeaseStore(storage)
    store_a.ensure("recorder")
    tick = int(T0.timestamp() // INTERVAL_S)
    got = store_a.acquire("recorder", "replica-a", tick, T0, lease_s=300)
    assert got.token == 1  # A holds the lease ... and dies without finishing
    # B polls through the next ticks: the lease is held, nothing runs
    for minutes in (1, 2, 4):
        assert b.run_due(T0 + timedelta(minutes=minutes)) == []
    assert ledger.runs == []
    # after expiry B takes over, with a larger fencing token
    (run,) = b.run_due(T0 + timedelta(seconds=301))
    assert (run.holder, run.token, run.status) == ("replica-b", 2, "ok")
    assert ledger.runs == [("replica-b", T0 + timedelta(seconds=301))]
    # A comes back and tries to record its old run: refused (fenced), B's record stays
    assert not store_a.finish("recorder", "replica-a", 1, T0 + timedelta(seconds=302), "ok", {})
    (lease,) = store_a.status()
    assert lease["holder"] == "replica-b" and lease["token"] == 2


def test_a_run_that_outlives_its_lease_is_reported_lost(storage: Storage, replica: Storage) -> None:
    clock = FakeClock(T0)
    a = Scheduler(SqlLeaseStore(storage), clock, "replica-a", lease_s=10)
    b = Scheduler(SqlLeaseStore(replica), clock, "replica-b", lease_s=10)

    def slow(now: datetime) -> dict[str, int]:
        clock.advance(INTERVAL_S + 11)  # the job takes longer than its lease...
        assert b.run_due() != []  # ...and B takes the next tick meanwhile
        return {"ran": 1}

    a.register(FunctionJob("slow", slow), INTERVAL_S)
    b.register(FunctionJob("slow", lambda now: {"ran": 1}), INTERVAL_S)
    (run,) = a.run_due()
    assert run.status == "lease_lost"
    (lease,) = SqlLeaseStore(storage).status()
    assert lease["holder"] == "replica-b"


def test_two_running_scheduler_threads_never_run_a_tick_twice(
    storage: Storage, replica: Storage
) -> None:
    """The real loop on the real clock: ticks of 0.2 s polled every 0.02 s by both."""
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    schedulers = []
    for st, holder in ((storage, "replica-a"), (replica, "replica-b")):
        s = Scheduler(SqlLeaseStore(st), SystemClock(), holder, poll_s=0.02, lease_s=5)

        def run(now: datetime, h: str = holder) -> dict[str, int]:
            with lock:
                seen.append((h, int(now.timestamp() // 0.2)))
            return {"ran": 1}

        s.register(FunctionJob("fast", run), 0.2)
        schedulers.append(s)
    for s in schedulers:
        s.start()
    deadline = time.monotonic() + 60
    while len(seen) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    for s in schedulers:
        s.stop()
    ticks = [t for _, t in seen]
    assert len(ticks) >= 8
    assert len(ticks) == len(set(ticks)), seen
    assert not any(s.running for s in schedulers)
