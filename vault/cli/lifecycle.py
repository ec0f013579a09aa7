"""`vault` commands for the lifecycle area (registered by vault/cli/__init__.py).

`vault retention run` does what the retention rule asks today (run it daily,
e.g. from cron): record notices at least 3 months before a deletion, cancel
those the person answered by signing in, delete vaults whose notice ran out,
and end counsellors' access after the grace period. One line per action, then
a summary; `--dry-run` prints the same lines and changes nothing.

People are named by account id, never by name: the output often ends up in
cron mail and logs.
"""

from __future__ import annotations

from collections import Counter

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from vault.cli.common import fail
from vault.core.db import db_session
from vault.core.extensions import get_settings, get_store
from vault.documents import service as documents
from vault.lifecycle import retention
from vault.lifecycle.retention import Action
from vault.models.base import utcnow


@click.group("retention", help="How long vaults are kept after release.")
def retention_group() -> None:
    pass


def _line(action: Action, dry_run: bool, documents_deleted: int | None = None) -> str:
    day = action.day.isoformat() if action.day else ""
    texts = {
        "notice": ("would notify", "notified", f"deletion on {day}"),
        "cancel": ("would cancel notice", "cancelled notice", "signed in or detained again"),
        "delete": (
            "would delete",
            "deleted",
            f"notice ran out on {day}"
            + ("" if documents_deleted is None else f", {documents_deleted} document(s)"),
        ),
        "end_access": (
            "would end counsellor access",
            "ended counsellor access",
            f"grace period over on {day}",
        ),
    }
    would, did, why = texts[action.kind]
    return f"{would if dry_run else did} {action.user_id}: {why}"


@retention_group.command("run", help="Send due notices, delete vaults whose notice ran out.")
@click.option("--dry-run", is_flag=True, help="Only print what would be done; change nothing.")
@with_appcontext
def retention_run(dry_run: bool) -> None:
    settings = get_settings()
    db = db_session()
    today = utcnow().date()
    try:
        actions = retention.plan(db, today=today, years=settings.retention_years)
    except SQLAlchemyError as e:
        raise fail(f"retention run: FAILED: database: {type(e).__name__}") from None
    done: Counter[str] = Counter()
    if dry_run:
        db.rollback()
        for action in actions:
            click.echo(_line(action, dry_run=True))
            done[action.kind] += 1
    else:
        store = get_store()
        for action in actions:
            try:
                outcome = retention.apply(db, action, today=today, years=settings.retention_years)
                db.commit()
            except SQLAlchemyError as e:
                db.rollback()
                raise fail(
                    f"retention run: FAILED on {action.kind} {action.user_id}: database: "
                    f"{type(e).__name__}; {sum(done.values())} action(s) done before"
                ) from None
            if not outcome.applied:
                click.echo(f"skipped {action.user_id}: no longer due (signed in meanwhile?)")
                continue
            closed = outcome.closed
            if closed is not None:
                # After the commit, like any deletion; what fails is an orphan for
                # `vault storage gc`, never a row without its blob.
                documents.delete_blobs(store, closed.blobs)
            click.echo(_line(action, False, closed.documents if closed else None))
            done[action.kind] += 1
    summary = (
        f"{done['notice']} notice(s), {done['cancel']} cancelled, "
        f"{done['delete']} vault(s) deleted, {done['end_access']} counsellor access ended"
    )
    mode = "dry run, nothing changed" if dry_run else "OK"
    click.echo(
        f"retention run: {mode} ({summary}; kept {settings.retention_years} year(s) "
        "after the last sign-in)"
    )


commands: list[click.Command] = [retention_group]
