"""What vault.core.db.make_engine sets on every PostgreSQL connection of the app."""

from __future__ import annotations

from sqlalchemy import make_url, text

from vault.core.db import make_engine


def test_the_apps_postgresql_connections_run_without_jit(postgresql_url: str) -> None:
    """Compiling a plan costs more than the app's statements (docs/benchmarks.md).

    And the URL's own options stay: the tests' URL names its schema in them.
    """
    schema = make_url(postgresql_url).query["options"]
    assert isinstance(schema, str) and schema.startswith("-csearch_path=")
    engine = make_engine(postgresql_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar_one() == "off"
            path = connection.execute(text("SHOW search_path")).scalar_one()
            assert path == schema.removeprefix("-csearch_path=")
    finally:
        engine.dispose()
