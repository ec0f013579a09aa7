"""Shared fixtures: settings, real databases (SQLite and PostgreSQL), the app.

Every database test runs twice, on SQLite and on PostgreSQL, inside a
transaction that is rolled back at the end: the app's own commits become
savepoint releases (see `Database.bind_to`).

PostgreSQL is the machine's server (127.0.0.1:5432, database `test`) unless
VAULT_TEST_DATABASE_URL names another. Each test session works in a schema of
its own, created and dropped here, so parallel runs never see each other.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crypto import Argon2Params
from tests.s3server import S3Target, s3_server, seaweedfs_factory  # noqa: F401
from tests.services import service_missing
from vault import create_app
from vault.core import migrate
from vault.core.config import Settings, dev_escrow_pair
from vault.core.db import db_session, get_database, make_engine
from vault.core.extensions import get_store

DEFAULT_TEST_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ["sqlite", "postgresql"]
# One escrow key pair for the whole run (its secret is in TEST_ESCROW["escrow_secret"]).
TEST_ESCROW = dev_escrow_pair()
# Argon2id at its minimum: a suite that opens hundreds of accounts stays fast.
# Slots record their own costs, so every code path is the production one.
FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost_kib=64, parallelism=1)


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    """Testing settings on the embedded default, rooted in `tmp`."""
    settings = Settings(
        env="testing",
        instance_path=tmp,
        database_url=f"sqlite:///{tmp / 'vault.sqlite3'}",
        storage_url=(tmp / "blobs").as_uri(),
        secret_key=secrets.token_urlsafe(48),
        server_keys="1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        escrow_public_key=TEST_ESCROW["escrow_public_key"],
    )
    return replace(settings, **overrides)


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vault.accounts.keys.SLOT_PARAMS", FAST_ARGON2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# --- databases ---------------------------------------------------------------------------


@contextmanager
def fresh_postgresql_schema() -> Iterator[str]:
    """URL of a new schema on the test PostgreSQL server, dropped on exit."""
    base = os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_TEST_PG)
    schema = f"vault_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as e:
        admin.dispose()
        service_missing(f"PostgreSQL unreachable at {make_url(base).render_as_string()}: {e.orig}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """URL of a fresh schema on the test PostgreSQL server, dropped after the session."""
    with fresh_postgresql_schema() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'vault.sqlite3'}"


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of each test database in turn, migrated to head."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


# --- the app -----------------------------------------------------------------------------


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build apps from the test settings with overrides; their pools close after the test."""
    built: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(replace(settings, **overrides))
        built.append(app)
        return app

    yield make
    for app in built:
        get_database(app).dispose()
        get_store(app).close()


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str, connection: Connection) -> Flask:
    """The app on each test database; everything it commits is rolled back."""
    app = make_app(database_url=database_url)
    get_database(app).bind_to(connection)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """The app's session, inside an app context held for the whole test.

    Only for tests that send no request and run no CLI command while it is
    held: Flask reuses an active app context of the same app for a request,
    so the request would share this session instead of getting its own.
    Listed last among a test's fixtures, so that the others are set up first.
    """
    with app.app_context():
        yield db_session()
