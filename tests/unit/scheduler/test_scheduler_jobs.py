"""Job-run bookkeeping: which runs count as work (audited), summaries made storable, ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proctor.scheduler.jobs import JobRun, plain_summary
from proctor.scheduler.runner import tick_of

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _run(status: str = "ok", **summary: object) -> JobRun:
    return JobRun("j", 1, "h", 1, T0, T0, status, summary)


@pytest.mark.parametrize(
    ("run", "work"),
    [
        (_run(delivered=0, parked=0), False),
        (_run(delivered=2), True),
        (_run(examined=40, transitions={}, pending_calendar=3), False),  # looked, changed nothing
        (_run(examined=40, transitions={"voided": 1}), True),
        (_run(ok=True), False),
        (_run("error", error="OperationalError"), True),
        (_run("lease_lost"), True),
    ],
)
def test_did_work(run: JobRun, work: bool) -> None:
    assert run.did_work is work


def test_plain_summary_keeps_scalars_and_stringifies_the_rest() -> None:
    out = plain_summary({"n": 1, "at": T0, "ids": list(range(80)), "by": {"x": T0}, "b": b"x"})
    assert out["n"] == 1 and out["at"] == str(T0) and out["by"] == {"x": str(T0)}
    assert len(out["ids"]) == 50 and out["b"] == "b'x'"


def test_ticks_split_time_by_interval() -> None:
    base = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a whole minute
    assert tick_of(base, 60) == tick_of(base + timedelta(seconds=59.9), 60)
    assert tick_of(base + timedelta(seconds=60), 60) == tick_of(base, 60) + 1
