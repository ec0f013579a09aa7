"""`vault demo`: an empty instance filled with demo accounts and documents.

The accounts, papers and their drawing live in vault.dev.demo, imported only
when the command runs: production code paths never load them.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

import storage
from crypto import CryptoError
from vault.cli.common import fail, first_line
from vault.core.db import db_session
from vault.core.errors import ServiceError
from vault.models import Establishment


@click.command("demo", help="Fill an empty instance with demo accounts and documents.")
@with_appcontext
def demo_command() -> None:
    from vault.dev.demo import DEMO_ESTABLISHMENT, make_demo

    db = db_session()
    try:
        exists = db.execute(
            select(Establishment.id).where(Establishment.name == DEMO_ESTABLISHMENT)
        ).first()
    except SQLAlchemyError as e:
        raise fail(f"demo: FAILED: database: {type(e).__name__}") from None
    if exists:
        raise fail("demo: REFUSED: the demo establishment already exists; nothing done")
    try:
        lines = make_demo(db)
        db.commit()
    except (SQLAlchemyError, storage.StorageError, ServiceError, CryptoError, OSError) as e:
        # Nothing is committed; blobs already written have no row and
        # `vault storage gc --delete` removes them.
        db.rollback()
        raise fail(f"demo: FAILED: {type(e).__name__}: {first_line(e)}") from None
    click.echo("demo: OK")
    click.echo("")
    click.echo("!" * 72)
    click.echo("  DEMO ACCOUNTS, for trying the vault only. Their secret phrases are")
    click.echo("  printed here in clear: never put real papers in them, and never run")
    click.echo("  `vault demo` on an instance that real people use.")
    click.echo("!" * 72)
    click.echo("Sign in at /connexion with:")
    for line in lines:
        click.echo(f"  {line}")


commands: list[click.Command] = [demo_command]
