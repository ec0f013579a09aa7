"""`vault` commands for the recovery area (see vault/commands/__init__.py).

`vault recovery list` shows the escrow recovery requests for the operator who
holds the escrow secret: which are ready for `vault escrow recover`, which
still wait for a second officer. The commands that use the secret are in the
`escrow` group (vault/cli.py), reachable before the app is configured.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from vault.db import db_session
from vault.models import User
from vault.services import recovery


@click.group("recovery", help="Recovery requests (kit and escrow).")
def recovery_group() -> None:
    pass


@recovery_group.command("list", help="Escrow recovery requests in progress, oldest first.")
@with_appcontext
def recovery_list() -> None:
    db = db_session()
    try:
        requests = recovery.open_escrow_requests(db)
        lines = []
        for request in requests:
            person = db.get(User, request.user_id)
            ready = request.status == recovery.APPROVED
            lines.append(
                f"{request.id}  {request.created_at:%Y-%m-%d}  "
                f"{person.username if person else '?':<20}  "
                + ("ready (two officers)" if ready else "waiting for a second officer")
            )
    except SQLAlchemyError as e:
        click.echo(f"recovery list: FAILED: database: {type(e).__name__}", err=True)
        raise click.exceptions.Exit(1) from None
    for line in lines:
        click.echo(line)
    click.echo(f"recovery list: {len(lines)} escrow request(s) in progress")


commands: list[click.Command] = [recovery_group]
