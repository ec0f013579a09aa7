"""`vault storage check|gc`: the blob store probed, and blobs no row references removed."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

import storage
from vault.cli.common import fail
from vault.core.db import db_session
from vault.core.extensions import get_store
from vault.documents import blobs

PROBE_PREFIX = "probes"


@click.group("storage", help="Blob store.")
def storage_group() -> None:
    pass


@storage_group.command("check", help="Write, read back and delete a probe blob.")
@with_appcontext
def storage_check() -> None:
    store = get_store()
    key = storage.new_key(PROBE_PREFIX)
    payload = secrets.token_bytes(4096)
    try:
        store.put(key, io.BytesIO(payload), len(payload))
        with store.open(key) as reader:
            echoed = reader.read()
        store.delete(key)
    except storage.StorageError as e:
        raise fail(f"storage check: FAILED: {e}") from None
    if echoed != payload:
        raise fail(f"storage check: FAILED: {store.describe()}: read back different bytes")
    click.echo(f"storage check: OK ({store.describe()})")


@storage_group.command("gc", help="Remove blobs that no row references (dry run by default).")
@click.option(
    "--grace-hours",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Only blobs older than this; younger ones may belong to a request in flight.",
)
@click.option("--delete", is_flag=True, help="Really delete (default: only report).")
@with_appcontext
def storage_gc(grace_hours: int, delete: bool) -> None:
    store = get_store()
    cutoff = datetime.now(UTC) - timedelta(hours=grace_hours)
    count = size = 0
    try:
        for info in blobs.orphans(db_session(), store, cutoff):
            count += 1
            size += info.size
            if delete:
                store.delete(info.key)
            click.echo(f"{'deleted' if delete else 'orphan'} {info.key} {info.size}")
        # Temporary files of local puts cut short by a crash are never blobs.
        if delete and isinstance(store, storage.LocalBlobStore):
            swept = store.sweep_partials(older_than=grace_hours * 3600)
            if swept:
                click.echo(f"removed {swept} partial file(s) left by interrupted writes")
    except storage.StorageError as e:
        raise fail(f"storage gc: FAILED after {count} blob(s): {e}") from None
    except SQLAlchemyError as e:
        raise fail(f"storage gc: FAILED: database: {type(e).__name__}") from None
    verb = "deleted" if delete else "would delete (dry run; pass --delete)"
    click.echo(f"storage gc: {verb} {count} blob(s), {size} bytes, older than {grace_hours} h")


commands: list[click.Command] = [storage_group]
