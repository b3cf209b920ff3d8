"""The in-process job runner of ``proctor serve``: periodic jobs under a database lease.

Each job runs once per *tick* (``floor(unix_time / interval_s)``) across all replicas: a
replica runs a tick only if it moves the job's ``last_tick`` forward in one atomic UPDATE
that also requires the job's lease to be free or expired (:class:`LeaseStore`). The lease
carries a fencing token; a holder that dies leaves a lease that expires after
``lease_s`` and is then taken over by the next replica to poll.
"""

from __future__ import annotations

from proctor.scheduler.jobs import FunctionJob, Job, JobRun, JobSummary
from proctor.scheduler.lease import Acquired, LeaseStore
from proctor.scheduler.runner import Scheduler

__all__ = [
    "Acquired",
    "FunctionJob",
    "Job",
    "JobRun",
    "JobSummary",
    "LeaseStore",
    "Scheduler",
]
