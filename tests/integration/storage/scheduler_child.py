"""A scheduler replica as its own process (run by test_scheduler_processes.py).

argv: database URL, schema ("" for none), holder name, output file, "hang" or "run".
The job appends ``<holder> <tick> start`` and ``... done`` lines to the output file; with
"hang" its first run never finishes (the test kills the process there).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from proctor.clock import SystemClock
from proctor.scheduler import FunctionJob, Scheduler
from proctor.scheduler.runner import tick_of
from proctor.storage.scheduler_repo import SqlLeaseStore
from proctor.storage.uow import open_storage

INTERVAL_S = 0.5
LEASE_S = 2.0


def main() -> None:
    url, schema, holder, out, mode = sys.argv[1:6]
    path = Path(out)
    storage = open_storage(
        url,
        data_dir=path.parent,
        master_key=bytes(range(32)),
        schema=schema or None,
        run_migrations=False,
    )

    def note(text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{text}\n".encode())
        finally:
            os.close(fd)

    def run(now: datetime) -> dict[str, int]:
        tick = tick_of(now, INTERVAL_S)
        note(f"{holder} {tick} start")
        if mode == "hang":
            time.sleep(3600)  # the test kills us here, holding the lease
        note(f"{holder} {tick} done")
        return {"ran": 1}

    sched = Scheduler(SqlLeaseStore(storage), SystemClock(), holder, poll_s=0.05, lease_s=LEASE_S)
    sched.register(FunctionJob("process_job", run), INTERVAL_S)
    sched.start()
    try:
        while True:
            time.sleep(1)
    finally:
        sched.stop()


if __name__ == "__main__":
    main()
