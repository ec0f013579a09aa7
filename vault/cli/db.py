"""`vault db upgrade`: the database schema migrated to the latest revision."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from vault.cli.common import fail, first_line
from vault.core.db import get_database


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Migrate the database to the latest schema.")
@with_appcontext
def db_upgrade() -> None:
    database = get_database()
    try:
        # Alembic is loaded here only: app processes never need it.
        from vault.core import migrate

        migrate.upgrade(database.engine)
        with database.engine.connect() as connection:
            revision = migrate.current_revision(connection)
    except SQLAlchemyError as e:
        raise fail(f"db upgrade: FAILED: {type(e).__name__}: {first_line(e)}") from None
    click.echo(f"db upgrade: OK (revision {revision})")


commands: list[click.Command] = [db_group]
