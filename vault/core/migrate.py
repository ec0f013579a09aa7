"""Alembic, driven from code: `vault db upgrade` and the tests use these.

No alembic.ini: the script location and the connection come from here, so the
migrations always run against the app's own configured database.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from vault.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Any constant shared by every process of the deployment will do.
MIGRATION_LOCK_ID = 0x7661756C74  # "vault"


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Upgrade the database behind `bind` to `revision` (default: head).

    On PostgreSQL, replicas starting together serialise on an advisory lock
    held until the migration transaction ends: the second one then finds the
    schema current and does nothing.
    """
    if isinstance(bind, Connection):
        _upgrade_locked(bind, revision)
        return
    with bind.begin() as connection:
        _upgrade_locked(connection, revision)


def _upgrade_locked(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Downgrade the database behind `connection` to `revision` ("base": empty)."""
    command.downgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def pending_model_changes(connection: Connection) -> list[Any]:
    """Differences between the migrated schema and the models (empty when in sync)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect an expression index; the only ones are
        # PostgreSQL's (Index.ddl_if), absent there by design and compared on
        # PostgreSQL.
        if connection.dialect.name != "postgresql":
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        return list(compare_metadata(context, Base.metadata))
