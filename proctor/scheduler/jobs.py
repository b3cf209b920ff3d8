"""The ``Job`` port and the record of one run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

JobSummary = Mapping[str, Any]  # counts and ids only: it is logged and audited

MAX_LISTED = 50


def plain_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A summary as JSON scalars: numbers, strings, booleans, short lists of those, nested
    mappings the same way; anything else as its ``str`` (so it can be stored and audited)."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        out[str(k)] = _plain(v)
    return out


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, Mapping):
        return plain_summary(v)
    if isinstance(v, list | tuple | set | frozenset):
        return [_plain(x) for x in list(v)[:MAX_LISTED]]
    return str(v)[:200]


class Job(Protocol):
    """A periodic job. ``run`` must be safe to repeat: a crashed tick is not re-run, the
    next tick catches up (everything due up to ``now``)."""

    @property
    def name(self) -> str: ...

    def run(self, now: datetime) -> JobSummary: ...


@dataclass(frozen=True, slots=True)
class FunctionJob:
    """A job from a name and a function of ``now``."""

    name: str
    fn: Callable[[datetime], JobSummary]

    def run(self, now: datetime) -> JobSummary:
        return self.fn(now)


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of one job on this replica. ``status``: ok, error or lease_lost (the run
    finished after its lease had been taken over: its finish was not recorded)."""

    job: str
    tick: int
    holder: str
    token: int
    started_at: datetime
    finished_at: datetime
    status: str
    summary: JobSummary = field(default_factory=dict)

    @property
    def did_work(self) -> bool:
        """Anything other than an ok run whose counts are all zero (observations such as
        ``examined`` do not count: a tick that looked at rows and changed none did no work)."""
        return self.status != "ok" or _nonzero(self.summary)


OBSERVATION_KEYS = frozenset({"examined", "pending", "pending_calendar"})


def _nonzero(summary: Mapping[str, Any]) -> bool:
    for k, v in summary.items():
        if k in OBSERVATION_KEYS or isinstance(v, bool):
            continue
        if isinstance(v, Mapping) and _nonzero(v):
            return True
        if isinstance(v, int | float) and v:
            return True
    return False
