"""One `vault jobs run` at a time, across every machine that may start one.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of its own, held for the whole run and released at the end, or
by the server when the connection drops (a machine that dies mid-run never
leaves it held). A second run does not wait: it finds the lock taken and
does nothing, and the next tick of its timer tries again.

SQLite (the embedded default, one machine by construction): an exclusive
`flock` on `jobs.lock` in the instance folder, which the kernel also drops
with the process. It serialises the processes of one machine, which is all
that can share a SQLite file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

# Beside the migration lock (vault.core.migrate.MIGRATION_LOCK_ID, "vault"): "vault" + 1.
JOBS_LOCK_ID = 0x7661756C75
LOCK_FILE = "jobs.lock"


@contextmanager
def held(db: Session, instance_path: Path) -> Iterator[bool]:
    """Try to take the jobs lock; yield whether it was taken, release it on exit."""
    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        with _advisory(bind) as taken:
            yield taken
    else:
        with _file_lock(instance_path / LOCK_FILE) as taken:
            yield taken


@contextmanager
def _advisory(bind: Engine | Connection) -> Iterator[bool]:
    # A connection of its own: the jobs commit and roll back their session
    # freely while this one holds the lock. (Tests that bind every session
    # to one connection share it; a session-level lock outlives rollbacks.)
    own = isinstance(bind, Engine)
    connection = bind.connect() if isinstance(bind, Engine) else bind
    try:
        taken = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": JOBS_LOCK_ID}
            ).scalar_one()
        )
        if own:
            connection.commit()
        try:
            yield taken
        finally:
            if taken:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": JOBS_LOCK_ID})
                if own:
                    connection.commit()
    finally:
        if own:
            connection.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
