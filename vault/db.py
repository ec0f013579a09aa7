"""Database engine and session factory bound to one app.

Views get the request's session with `db_session()`; services receive a session
as an argument and only flush; the view (or CLI command) commits. The session is
closed, rolling back anything uncommitted, when the request ends.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the engine and the session factory of one app."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.engine: Engine = make_engine(url, **engine_options)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            bind=self.engine, expire_on_commit=False
        )

    def bind_to(self, connection: Connection) -> None:
        """Run every session inside `connection`'s transaction (tests roll it back).

        Commits made by the app become savepoint releases, so a test sees the
        app's writes and still leaves nothing behind.
        """
        self.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")

    def init_app(self, app: Flask) -> None:
        app.extensions["vault.db"] = self
        app.teardown_appcontext(_close_session)

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str, **engine_options: Any) -> Engine:
    """An engine for `url` with the app's connection settings on every backend."""
    # hide_parameters: SQL errors reach the logs; bound values may be personal data.
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("postgresql"):
        # A dead database should answer quickly with a 503, not hang a worker.
        options["connect_args"] = {"connect_timeout": 5}
    options.update(engine_options)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily and commits before DDL, which breaks
    # savepoints and transactional migrations; SQLAlchemy's documented recipe
    # hands transaction control back to SQLAlchemy ("begin" below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions["vault.db"]
    return database


def db_session() -> Session:
    """The session of the current request or CLI command, created on first use."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
        # The journal seals each chain's head with the server key ring; it
        # finds the ring here rather than in every caller's arguments.
        from vault.extensions import get_keyring, get_throttle_secret

        g.db_session.info["keyring"] = get_keyring()
        # Throttle rows are keyed by an HMAC under this (services/accounts.py).
        g.db_session.info["throttle_secret"] = get_throttle_secret()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
