"""Migrations: `upgrade head` gives exactly the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from vault import migrate


def test_upgrade_head_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
        assert migrate.pending_model_changes(connection) == []


def test_downgrade_and_upgrade_round_trip(engine: Engine) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, "base")
            assert migrate.current_revision(connection) is None
            migrate.upgrade(connection)
            assert migrate.pending_model_changes(connection) == []
        finally:
            transaction.rollback()
