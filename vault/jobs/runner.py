"""`vault jobs run`: every job once, under the jobs lock, each journaled in `job_runs`.

A job that fails (database or blob store unreachable, or a bug) is rolled
back and recorded as failed with its error's class name; the others still
run, and the command ends with status 1. A run that finds the lock taken (another
machine is running the jobs) records one "skipped" row and does nothing.
This module commits: like `vault keys rotate`, it is the command's body,
kept out of vault/cli so the tests and the overview call the same code.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import storage
from vault.core import metrics
from vault.jobs import lock
from vault.jobs.steps import JOBS, Context, Done
from vault.models import JobOutcome, JobRun
from vault.models.base import utcnow

log = logging.getLogger(__name__)

# The row a run writes when another run held the lock.
ALL = "all"


@dataclass(frozen=True)
class Result:
    job: str
    outcome: JobOutcome
    items: int
    summary: str


@dataclass(frozen=True)
class Report:
    run_id: uuid.UUID
    locked_out: bool
    results: tuple[Result, ...]

    @property
    def failed(self) -> bool:
        return any(r.outcome == JobOutcome.FAILED for r in self.results)


def job_names() -> tuple[str, ...]:
    return tuple(job.name for job in JOBS)


def run_due(
    db: Session,
    store: storage.BlobStore,
    *,
    instance_path: Path,
    retention_years: int,
    only: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Report:
    """Run every job (or those named in `only`) if no other run holds the lock."""
    run_id = uuid.uuid4()
    with lock.held(db, instance_path) as taken:
        if not taken:
            at = utcnow()
            _record(db, run_id, Result(ALL, JobOutcome.SKIPPED, 0, "another run held the lock"), at)
            return Report(run_id, True, ())
        results = []
        for job in JOBS:
            if only and job.name not in only:
                continue
            context = Context(db, store, now or utcnow(), retention_years)
            started, clock = utcnow(), time.monotonic()
            try:
                done = job.run(context)
                result = Result(job.name, JobOutcome.OK, done.items, done.summary)
            except Exception as e:  # any failure is recorded, and the next job runs
                db.rollback()
                if not isinstance(e, SQLAlchemyError | storage.StorageError):
                    # Not an outage: a bug, with its traceback (the log filter redacts it).
                    log.exception("job %s failed", job.name)
                done = Done(0, "")
                result = Result(job.name, JobOutcome.FAILED, 0, f"failed: {type(e).__name__}")
            metrics.JOB_DURATION.labels(job.name).observe(time.monotonic() - clock)
            metrics.JOB_ITEMS.labels(job.name).inc(done.items)
            _record(db, run_id, result, started)
            results.append(result)
        return Report(run_id, False, tuple(results))


def _record(db: Session, run_id: uuid.UUID, result: Result, started: datetime) -> None:
    metrics.JOB_RUNS.labels(result.job, result.outcome.value).inc()
    db.add(
        JobRun(
            run_id=run_id,
            job=result.job,
            started_at=started,
            finished_at=utcnow(),
            outcome=result.outcome,
            items=result.items,
            summary=result.summary[:200],
        )
    )
    db.commit()


def last_runs(db: Session) -> dict[str, JobRun]:
    """Each job's latest row (a skipped run is the job "all"), for the administrator's overview."""
    latest = (
        select(JobRun.job, func.max(JobRun.started_at).label("at")).group_by(JobRun.job).subquery()
    )
    rows = db.execute(
        select(JobRun)
        .join(latest, (JobRun.job == latest.c.job) & (JobRun.started_at == latest.c.at))
        .order_by(JobRun.job)
    ).scalars()
    return {row.job: row for row in rows}
