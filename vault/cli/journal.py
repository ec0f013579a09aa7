"""`vault journal verify`: every vault's hash chain and sealed head checked."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from vault.cli.common import fail
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.journal import service as journal


@click.group("journal", help="The hash-chained journal.")
def journal_group() -> None:
    pass


@journal_group.command("verify", help="Check every vault's journal chain.")
@with_appcontext
def journal_verify() -> None:
    try:
        count, problems = journal.verify(db_session(), ring=get_keyring())
    except SQLAlchemyError as e:
        raise fail(f"journal verify: FAILED: database: {type(e).__name__}") from None
    if problems:
        click.echo(f"journal verify: FAILED: {len(problems)} problem(s)", err=True)
        for problem in problems:
            click.echo(f"  vault {problem.vault_id} seq {problem.seq}: {problem.problem}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"journal verify: OK ({count} events)")


commands: list[click.Command] = [journal_group]
