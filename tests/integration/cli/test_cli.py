"""`vault storage gc` and `vault db upgrade` on each test database."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import select

import storage
from vault.core import migrate
from vault.core.db import get_database
from vault.core.extensions import get_store
from vault.models import Blob

DAY = 24 * 3600


def put_blob(app: Flask, prefix: str, age_seconds: int) -> str:
    store = get_store(app)
    key = storage.new_key(prefix)
    store.put(key, io.BytesIO(b"ciphertext"), 10)
    # The local store keeps blobs as files under its root: age the file.
    path = Path(store.describe().removeprefix("file://")) / key
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return key


def test_gc_is_a_dry_run_by_default_and_spares_referenced_and_young_blobs(app: Flask) -> None:
    orphan = put_blob(app, "documents", 2 * DAY)
    referenced = put_blob(app, "documents", 2 * DAY)
    young = put_blob(app, "documents", 60)
    with app.app_context():
        session = get_database(app).sessionmaker()
        session.add(Blob(store=get_store(app).name, key=referenced, size=10, etag="x"))
        session.commit()
        session.close()

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["storage", "gc"])
    assert dry.exit_code == 0, dry.output
    assert f"orphan {orphan} 10" in dry.output
    assert referenced not in dry.output and young not in dry.output
    assert "would delete (dry run; pass --delete) 1 blob(s)" in dry.output
    store = get_store(app)
    assert store.exists(orphan)

    # A put cut short by a crash leaves a temporary file in the local store.
    root = Path(store.describe().removeprefix("file://"))
    leftover = root / ".partial" / "crashed.tmp"
    leftover.write_bytes(b"half a blob")
    past = time.time() - 2 * DAY
    os.utime(leftover, (past, past))

    real = runner.invoke(args=["storage", "gc", "--delete"])
    assert real.exit_code == 0, real.output
    assert "deleted 1 blob(s)" in real.output
    assert "removed 1 partial file(s)" in real.output
    assert not store.exists(orphan) and not leftover.exists()
    assert store.exists(referenced) and store.exists(young)


def test_gc_rejects_a_nonsense_grace_period(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["storage", "gc", "--grace-hours", "-3"])
    assert result.exit_code == 2
    assert "grace-hours" in result.output


def test_db_upgrade_is_idempotent(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"db upgrade: OK (revision {migrate.head_revision()})" in result.output
    with app.app_context():
        session = get_database(app).sessionmaker()
        assert session.execute(select(Blob)).first() is None
        session.close()
