"""`vault` commands for the recovery area (registered by vault/cli/__init__.py).

`vault recovery list` shows the escrow recovery requests for the operator who
holds the escrow secret: which are ready for `vault escrow recover`, which
still wait for a second officer. `vault recovery create-officer` opens a
recovery officer's account: the operator's command is the only way, so that
no administrator can open two officers and be both. The commands that use the
secret are in the `escrow` group (vault/cli/escrow.py), reachable before the app is
configured.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError
from vault.cli.common import print_activation
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.models import User
from vault.recovery import service as recovery

NAME_MAX = 100


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


def _name(value: str, option: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > NAME_MAX:
        click.echo(
            f"recovery create-officer: FAILED: {option} must have 1 to {NAME_MAX} characters",
            err=True,
        )
        raise click.exceptions.Exit(1)
    return name


@recovery_group.command(
    "create-officer", help="Open a recovery officer's account and print its activation code."
)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@with_appcontext
def recovery_create_officer(first_name: str, last_name: str) -> None:
    first = _name(first_name, "--first-name")
    last = _name(last_name, "--last-name")
    db = db_session()
    try:
        new = recovery.open_officer(
            db,
            get_keyring(),
            get_escrow_key(),
            first_name=first,
            last_name=last,
            activation_days=get_settings().activation_days,
        )
        db.commit()
    except (SQLAlchemyError, CryptoError) as e:
        db.rollback()
        click.echo(f"recovery create-officer: FAILED: {type(e).__name__}", err=True)
        raise click.exceptions.Exit(1) from None
    print_activation(
        f"Recovery officer account opened for {new.user.display_name}",
        new.user,
        new.activation_code,
    )
    click.echo("Hand the code to the officer in person. Each officer must be a different person.")


commands: list[click.Command] = [recovery_group]
