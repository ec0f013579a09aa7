"""`vault jobs run|status`: the scheduled jobs (docs/operations.md, "Scheduled jobs").

`vault jobs run` is what the compose file's `scheduler` service calls on a
timer; any number of machines may call it, one run does the work (vault/jobs/lock.py).
One line per job, counts only: the output ends up in container logs.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from vault.cli.common import fail
from vault.core.db import db_session
from vault.core.extensions import get_settings, get_store
from vault.jobs import runner


@click.group("jobs", help="Scheduled jobs: retention, expired keys and codes, storage clean-up.")
def jobs_group() -> None:
    pass


@jobs_group.command("run", help="Run every job that is due (one run at a time across machines).")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(runner.job_names()),
    help="Run only this job (repeatable).",
)
@with_appcontext
def jobs_run(only: tuple[str, ...]) -> None:
    settings = get_settings()
    try:
        report = runner.run_due(
            db_session(),
            get_store(),
            instance_path=settings.instance_path,
            retention_years=settings.retention_years,
            only=only,
        )
    except SQLAlchemyError as e:
        raise fail(f"jobs run: FAILED: database: {type(e).__name__}") from None
    if report.locked_out:
        click.echo("jobs run: skipped: another run holds the lock (nothing done)")
        return
    for result in report.results:
        click.echo(f"{result.job}: {result.outcome} ({result.summary})")
    if report.failed:
        failed = [r.job for r in report.results if r.outcome == "failed"]
        raise fail(f"jobs run: FAILED: {', '.join(failed)}")
    click.echo(f"jobs run: OK ({len(report.results)} job(s))")


@jobs_group.command("status", help="Each job's last run.")
@with_appcontext
def jobs_status() -> None:
    try:
        runs = runner.last_runs(db_session())
    except SQLAlchemyError as e:
        raise fail(f"jobs status: FAILED: database: {type(e).__name__}") from None
    for name in (*runner.job_names(), runner.ALL):
        run = runs.get(name)
        if run is None:
            if name != runner.ALL:
                click.echo(f"{name}: never run")
            continue
        when = run.started_at.isoformat(timespec="seconds")
        click.echo(f"{name}: {run.outcome} at {when}, {run.items} item(s) ({run.summary})")


commands: list[click.Command] = [jobs_group]
