"""Database engine and session factory bound to one app.

Views get the request's session with `db_session()`; services receive a session
as an argument and only flush; the view (or CLI command) commits. The session is
closed, rolling back anything uncommitted, when the request ends; a transaction
that only read ends with COMMIT instead (`finish`), which keeps the
connection's prepared statements (D-206).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


# Keys of `Session.info` every session of the app carries (see `Database`).
KEYRING = "keyring"
THROTTLE_SECRET = "throttle_secret"  # noqa: S105 (a key name, not a secret)


class Database:
    """Owns the engine and the session factory of one app.

    `info` is copied into every session's `Session.info`: the app factory
    puts the server key ring there (the journal seals each chain's head with
    it, and finds it on the session rather than in every caller's arguments)
    and the throttle secret (throttle rows are keyed by an HMAC under it).
    Handing them in here keeps this module free of the app's extensions.
    """

    def __init__(
        self, url: str, *, info: dict[str, Any] | None = None, **engine_options: Any
    ) -> None:
        self.engine: Engine = make_engine(url, **engine_options)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            bind=self.engine, expire_on_commit=False, info=dict(info or {})
        )
        event.listen(self.sessionmaker, "after_begin", _session_began)

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
        # No JIT: the app's statements are index reads of a few milliseconds,
        # and a search whose row estimate is high (a name's prefix) crossed
        # jit_above_cost and spent 15 ms compiling (docs/benchmarks.md). Added
        # to the URL's own `options` (a search_path...), which connect_args
        # would otherwise replace. A pooler in front must pass `options`.
        given = make_url(url).query.get("options", "")
        given = given if isinstance(given, str) else " ".join(given)
        options["connect_args"] = {
            "connect_timeout": 5,
            "options": f"{given} -c jit=off".strip(),
        }
    options.update(engine_options)
    engine = create_engine(url, **options)
    event.listen(engine, "before_cursor_execute", _note_writes)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_statement)
        event.listen(engine, "commit", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_forget_shredding)
        event.listen(engine.pool, "checkin", _sqlite_checkpoint)
    return engine


# How long a SQLite writer waits for another one. Writers are serialised (one
# lock for the whole file); the longest ordinary write holds it for an
# Argon2id run or an upload's rows, well under this.
SQLITE_BUSY_TIMEOUT_MS = 20_000

# Keys on `Connection.info` (the DBAPI connection's, kept across checkouts).
_WRITE_LOCK = "vault.sqlite_write_lock"  # None: no transaction; False: not taken yet
_SHREDDED = "vault.sqlite_shredded"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily and commits before DDL, which breaks
    # savepoints and transactional migrations; SQLAlchemy's documented recipe
    # hands transaction control back to SQLAlchemy (see _sqlite_statement).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Deleted rows are overwritten with zeros, not left in free pages:
    # deleting a wrapped key is how a document is shredded.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # No BEGIN yet. A deferred BEGIN reads from a snapshot and fails (SQLITE_BUSY,
    # no waiting) when it later writes after another connection committed: what
    # made simultaneous sign-ins and uploads fail. Reads run as they come, like
    # PostgreSQL's READ COMMITTED; the first write (or SELECT ... FOR UPDATE,
    # or savepoint) takes the write lock with BEGIN IMMEDIATE, which waits for
    # other writers instead of failing. So a request holds the lock only from
    # its first write to its commit, never while an upload streams.
    connection.info[_WRITE_LOCK] = False


def _sqlite_statement(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    _executemany: bool,
) -> tuple[str, Any]:
    if connection.info.get(_WRITE_LOCK) is False and _writes(statement, context):
        cursor.connection.execute("BEGIN IMMEDIATE")
        connection.info[_WRITE_LOCK] = True
    if _shreds(statement):
        connection.info[_SHREDDED] = True
    return statement, parameters


_READS = ("SELECT", "PRAGMA", "EXPLAIN")


def _writes(statement: str, context: Any) -> bool:
    """True for anything but a plain read: writes, DDL, savepoints, SELECT ... FOR UPDATE."""
    if not statement.lstrip()[:8].upper().startswith(_READS):
        return True
    compiled = getattr(context, "compiled", None)
    # SQLite's compiler drops FOR UPDATE; the statement still asks for a lock.
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def _shreds(statement: str) -> bool:
    """Deleted rows (wrapped keys, slots, shares, sessions), a replaced key slot,
    a link's sealed key set aside, or a table or column dropped (migrations)."""
    head = " ".join(statement.split()[:3]).upper().replace('"', "")
    if head.startswith("DELETE FROM"):
        # Throttle rows hold no key, and go at every successful sign-in.
        return not head.startswith("DELETE FROM SIGNIN_THROTTLES")
    if head.startswith("UPDATE EXTERNAL_LINKS"):
        # A stopped link's key is set to NULL; a download only counts.
        return "wrapped" in statement.split(" WHERE ")[0]
    return head.startswith(("UPDATE KEY_SLOTS", "DROP TABLE")) or (
        head.startswith("ALTER TABLE") and " DROP " in statement.upper()
    )


def _sqlite_end(connection: Connection) -> None:
    connection.info[_WRITE_LOCK] = None


def _sqlite_forget_shredding(connection: Connection) -> None:
    connection.info.pop(_SHREDDED, None)


def _sqlite_checkpoint(dbapi_connection: Any, record: Any) -> None:
    """After a transaction that shredded keys, empty the write-ahead log.

    secure_delete zeroes deleted rows in the database file, but the WAL still
    holds older copies of their pages until a checkpoint; TRUNCATE copies
    every frame into the database and cuts the WAL file to zero bytes.
    Run when the connection goes back to the pool, after the commit.
    """
    if dbapi_connection is None or not record.info.pop(_SHREDDED, False):
        return
    try:
        busy, _log, _done = dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as e:
        log.warning("WAL checkpoint after a deletion failed: %s", type(e).__name__)
        return
    if busy:
        # Readers still held old pages; the next shredding checkpoints again.
        log.warning("WAL checkpoint after a deletion could not finish (database busy)")


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions["vault.db"]
    return database


def db_session() -> Session:
    """The session of the current request or CLI command, created on first use."""
    if "db_session" not in g:
        # Carries the key ring and the throttle secret (`Database`'s info).
        g.db_session = get_database().sessionmaker()
    session: Session = g.db_session
    return session


def _close_session(exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        try:
            if exc is None:
                finish(session)
        finally:
            session.close()


# --- how a request's transaction ends (D-206) ----------------------------------------------------

# Keys on `Session.info` and `Connection.info`.
_CONNECTION = "vault.connection"  # the connection of the session's transaction
_WROTE = "vault.wrote"  # anything but a plain read ran in the connection's transaction


def finish(session: Session) -> None:
    """End the session's transaction as a request does: COMMIT if it only read, else ROLLBACK.

    Both leave the database as it was when nothing was written. The
    difference is the driver's: psycopg forgets every prepared statement of
    the connection on ROLLBACK, so a request that ended with one made the
    next request parse and plan each of its statements again (1.4 ms of the
    counsellor's home at a national size, docs/benchmarks.md). Anything
    else rolls back as before: a write, DDL, SELECT ... FOR UPDATE, or
    objects added or changed and not flushed.
    """
    if not session.in_transaction():
        return
    connection: Connection | None = session.info.get(_CONNECTION)
    only_read = (
        connection is not None
        and connection.info.get(_WROTE) is False
        and not (session.new or session.dirty or session.deleted)
    )
    if not only_read:
        session.rollback()
        return
    try:
        session.commit()
    except SQLAlchemyError as e:
        # Nothing was written, so nothing is lost: the connection is likely
        # gone, and closing the session hands it back to be discarded.
        log.warning("ending a read-only transaction failed: %s", type(e).__name__)
        session.close()


def _session_began(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection
    connection.info[_WROTE] = False


def _note_writes(
    connection: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    if connection.info.get(_WROTE) is False and _writes(statement, context):
        connection.info[_WROTE] = True
