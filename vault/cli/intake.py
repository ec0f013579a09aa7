"""`vault intake import FILE.csv`: arrivals, transfers and releases from an establishment's list.

The same plan and the same services as the administrators' page
(vault.intake.service, docs/intake.md). One line per refused line, then a
summary; `--dry-run` checks everything and changes nothing. People are named
by line number and account id, never by name: the output often ends up in
cron mail and logs.

Exit status: 0 every line applied (or unchanged); 3 some lines refused, the
others applied; 1 the file could not be read or the database failed.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from vault.accounts import sheets
from vault.accounts.users import find_user
from vault.cli.common import create_private, fail
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.intake import keysource, messages
from vault.intake import service as intake
from vault.intake.csvfile import MAX_BYTES, FileRefused
from vault.intake.service import LineReport, Outcome
from vault.models import AccountStatus, Role, User
from vault.models.base import utcnow

# Committed every this many lines: a long import keeps its transaction and its
# memory small; the file imported again finishes what a crash interrupted.
BATCH = 200
EXIT_REFUSED = 3


@click.group("intake", help="Accounts, transfers and releases from an establishment's list.")
def intake_group() -> None:
    pass


def _administrator(username: str | None) -> User | None:
    if username is None:
        return None
    user = find_user(db_session(), username)
    if user is None or user.role != Role.ADMINISTRATOR or user.status != AccountStatus.ACTIVE:
        raise fail(f"intake import: FAILED: --by {username}: no active administrator has this name")
    return user


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        raise fail(f"intake import: FAILED: cannot read {path}: {e.strerror}") from None


def _line(report: LineReport) -> str:
    return f"line {report.number}: refused: {messages.report_text(report)}"


@intake_group.command("import", help="Import an intake file (CSV, docs/intake.md).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every line; change nothing.")
@click.option(
    "--sheets",
    "sheets_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new accounts' activation sheets to this new PDF (one page per person).",
)
@click.option(
    "--base-url",
    help="The vault's address printed on the sheets, e.g. https://coffre.example.fr.",
)
@click.option("--by", "by_username", help="The administrator in whose name the import is made.")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes for the keys (default: cores)."
)
@with_appcontext
def intake_import(
    file: Path,
    dry_run: bool,
    sheets_out: Path | None,
    base_url: str | None,
    by_username: str | None,
    workers: int | None,
) -> None:
    settings = get_settings()
    db = db_session()
    today = utcnow().date()
    data = _read(file)
    by = _administrator(by_username)
    try:
        the_plan = intake.plan(db, data, today=today)
    except FileRefused as e:
        raise fail(f"intake import: FAILED: {messages.file_error_text(e)}") from None
    except SQLAlchemyError as e:
        raise fail(f"intake import: FAILED: database: {type(e).__name__}") from None
    activation_url = ""
    if the_plan.new_accounts and not dry_run:
        # Without the sheets, the new accounts' codes would be lost: checked
        # before anything is written.
        if sheets_out is None or base_url is None:
            raise fail(
                f"intake import: FAILED: {the_plan.new_accounts} account(s) to open: "
                "give --sheets OUT.pdf and --base-url for their activation sheets"
            )
        if sheets_out.exists():
            raise fail(f"intake import: FAILED: {sheets_out} exists; refusing to overwrite it")
        try:
            activation_url = sheets.activation_url_at(base_url)
        except ValueError:
            raise fail(
                "intake import: FAILED: --base-url must look like https://coffre.example.fr"
            ) from None
    ctx = intake.Context(
        get_keyring(),
        get_escrow_key(),
        by,
        settings.activation_days,
        settings.counsellor_grace_days,
        today,
    )
    if dry_run:
        reports = the_plan.reports()
        db.rollback()
    else:
        reports = _apply(the_plan, ctx, workers)
    for report in reports:
        if report.outcome == Outcome.REFUSED:
            click.echo(_line(report))
    counts = intake.summary(reports)
    if not dry_run:
        intake.journal_import(db, ctx, counts, dry_run=False)
        db.commit()
    new = [(r.user_id, r.activation_code) for r in reports if r.activation_code and r.user_id]
    if new and sheets_out is not None:
        users = {
            u.id: u
            for u in db.execute(select(User).where(User.id.in_([i for i, _ in new]))).scalars()
        }
        pdf = sheets.activation_sheets([(users[i], code) for i, code in new], activation_url)
        create_private(sheets_out, pdf, "intake import")
    mode = "dry run, nothing changed" if dry_run else ("OK" if not counts["refused"] else "DONE")
    click.echo(
        f"intake import: {mode} ({counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['refused']} refused)"
        + (f"; {len(new)} activation sheet(s) in {sheets_out}" if new else "")
    )
    if counts["refused"]:
        raise click.exceptions.Exit(EXIT_REFUSED)


def _apply(the_plan: intake.Plan, ctx: intake.Context, workers: int | None) -> list[LineReport]:
    db = db_session()
    reports = list(the_plan.refused)
    done = 0
    with keysource.pool(the_plan.new_accounts, workers) as keys:
        try:
            for report in intake.apply(db, the_plan, ctx, keys):
                reports.append(report)
                done += 1
                if done % BATCH == 0:
                    db.commit()
            db.commit()
        except SQLAlchemyError as e:
            db.rollback()
            raise fail(
                f"intake import: FAILED: database: {type(e).__name__}; lines before the "
                f"last {BATCH} are saved: import the same file again to finish"
            ) from None
    return sorted(reports, key=lambda r: r.number)


commands: list[click.Command] = [intake_group]
