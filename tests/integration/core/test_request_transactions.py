"""How a request's transaction ends (vault.core.db.finish, D-206).

On an app whose sessions are not bound to a test transaction: what each
request commits here is really committed, so each test's rows have a key of
their own and are removed at the end whatever happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, select, text

from vault.core import migrate
from vault.core.db import db_session, get_database, make_engine
from vault.models import Setting
from vault.models.base import utcnow


@pytest.fixture
def key(database_url: str) -> Iterator[str]:
    """A settings key of this test's own, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(delete(Setting).where(Setting.key == name))
    finally:
        engine.dispose()


def _rows(app: Flask, key: str) -> int:
    with app.app_context():
        return (
            db_session()
            .execute(select(func.count()).select_from(Setting).where(Setting.key == key))
            .scalar_one()
        )


def test_what_a_request_flushed_and_did_not_commit_is_rolled_back(
    make_app: Callable[..., Flask], database_url: str, key: str
) -> None:
    app = make_app(database_url=database_url)
    with app.app_context():
        db = db_session()
        db.add(Setting(key=key, value="[]", updated_at=utcnow()))
        db.flush()
        # A read after the write: the request still wrote.
        db.execute(select(Setting).where(Setting.key == key)).all()
    assert _rows(app, key) == 0


def test_a_write_outside_the_orm_is_rolled_back(
    make_app: Callable[..., Flask], database_url: str, key: str
) -> None:
    app = make_app(database_url=database_url)
    with app.app_context():
        db_session().execute(insert(Setting).values(key=key, value="[]", updated_at=utcnow()))
    assert _rows(app, key) == 0


def test_objects_added_and_never_flushed_are_not_written(
    make_app: Callable[..., Flask], database_url: str, key: str
) -> None:
    """The transaction only read, but committing would flush what was added."""
    app = make_app(database_url=database_url)
    with app.app_context():
        db = db_session()
        db.execute(select(Setting).where(Setting.key == key)).all()
        db.add(Setting(key=key, value="[]", updated_at=utcnow()))
    assert _rows(app, key) == 0


def test_a_request_that_failed_commits_nothing(
    make_app: Callable[..., Flask], database_url: str, key: str
) -> None:
    app = make_app(database_url=database_url)
    with pytest.raises(RuntimeError), app.app_context():
        db = db_session()
        db.execute(select(Setting).where(Setting.key == key)).all()
        db.add(Setting(key=key, value="[]", updated_at=utcnow()))
        raise RuntimeError("the view failed")
    assert _rows(app, key) == 0


def test_requests_that_only_read_keep_the_connections_prepared_statements(
    make_app: Callable[..., Flask], postgresql_url: str
) -> None:
    """psycopg prepares a statement run five times, and forgets them all on ROLLBACK.

    Requests that ended with a ROLLBACK had every statement parsed and
    planned again (docs/benchmarks.md); one that only read now ends with a
    COMMIT, and the pool's connection keeps them.
    """
    engine = make_engine(postgresql_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    app = make_app(database_url=postgresql_url)
    for _ in range(8):
        with app.app_context():
            db_session().execute(select(Setting).where(Setting.key == "absent")).all()
    # Requests one after the other used one connection; this is it again.
    with get_database(app).engine.connect() as connection:
        prepared = connection.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%settings%'")
        ).scalar_one()
    assert prepared == 1
