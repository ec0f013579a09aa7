"""What vault.core.db.make_engine sets on every PostgreSQL connection of the app."""

from __future__ import annotations

from sqlalchemy import text

from vault.core.db import make_engine


def test_the_apps_postgresql_connections_run_without_jit(postgresql_url: str) -> None:
    """Compiling a plan costs more than the app's statements (docs/benchmarks.md)."""
    engine = make_engine(postgresql_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar_one() == "off"
    finally:
        engine.dispose()
