"""Scheduler replicas as real processes on one database (SQLite file, PostgreSQL schema):
no tick runs twice, and when the lease holder is SIGKILLed mid-run another process takes
the job over once the lease has expired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from proctor.storage.scheduler_repo import SqlLeaseStore
from proctor.storage.uow import Storage

CHILD = Path(__file__).with_name("scheduler_child.py")
ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def _target(storage: Storage) -> tuple[str, str]:
    url = storage.engine.url.render_as_string(hide_password=False)
    schema = ""
    if storage.engine.dialect.name == "postgresql":
        with storage.engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar_one()
    return url, schema


@pytest.fixture
def spawn(storage: Storage, tmp_path: Path) -> Iterator[object]:
    url, schema = _target(storage)
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def start(holder: str, mode: str = "run") -> subprocess.Popen[bytes]:
        argv = [sys.executable, str(CHILD), url, schema, holder, str(tmp_path / "runs.log"), mode]
        procs.append(subprocess.Popen(argv, env=env))
        return procs[-1]

    yield start
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)


def lines(tmp_path: Path) -> list[tuple[str, int, str]]:
    path = tmp_path / "runs.log"
    if not path.exists():
        return []
    out = []
    for raw in path.read_text().splitlines():
        holder, tick, what = raw.split()
        out.append((holder, int(tick), what))
    return out


def wait_until(predicate: object, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_processes_never_run_a_tick_twice(spawn: object, tmp_path: Path) -> None:
    a, b = spawn("proc-a"), spawn("proc-b")  # type: ignore[operator]
    wait_until(lambda: sum(w == "done" for *_, w in lines(tmp_path)) >= 10, "10 runs")
    a.send_signal(signal.SIGKILL)
    b.send_signal(signal.SIGKILL)
    started = [t for _, t, w in lines(tmp_path) if w == "start"]
    assert len(started) == len(set(started)), lines(tmp_path)


def test_a_killed_holder_is_taken_over_after_its_lease(
    storage: Storage, spawn: object, tmp_path: Path
) -> None:
    a = spawn("proc-a", "hang")  # type: ignore[operator]
    wait_until(lambda: any(h == "proc-a" for h, *_ in lines(tmp_path)), "proc-a's run")
    b = spawn("proc-b")  # type: ignore[operator]
    a.send_signal(signal.SIGKILL)  # dies holding the lease, its run unfinished
    a.wait(timeout=30)
    wait_until(
        lambda: sum(h == "proc-b" and w == "done" for h, _, w in lines(tmp_path)) >= 3,
        "proc-b taking over",
    )
    b.send_signal(signal.SIGKILL)
    log = lines(tmp_path)
    (a_tick,) = [t for h, t, _ in log if h == "proc-a"]
    b_ticks = [t for h, t, w in log if h == "proc-b" and w == "start"]
    # nothing ran while the dead holder's lease (2 s = 4 ticks of 0.5 s) was valid, and the
    # dead run's tick is not re-run
    assert min(b_ticks) >= a_tick + 4, (a_tick, b_ticks)
    assert len(b_ticks) == len(set(b_ticks))
    (lease,) = SqlLeaseStore(storage).status()
    assert lease["holder"] == "proc-b" and lease["token"] >= 2
