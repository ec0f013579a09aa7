"""Migrations: `upgrade head` gives exactly the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

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


def test_concurrent_upgrades_serialise_on_postgresql(engine: Engine) -> None:
    """Two replicas migrating at once: the second waits, then finds nothing to do."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time by construction")

    with engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": migrate.MIGRATION_LOCK_ID})
        finished = threading.Event()

        def second_replica() -> None:
            migrate.upgrade(engine)
            finished.set()

        thread = threading.Thread(target=second_replica)
        thread.start()
        assert not finished.wait(1.0), "the second upgrade did not wait for the lock"
        holder.rollback()
    thread.join(timeout=30)
    assert finished.is_set()
