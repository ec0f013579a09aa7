"""`vault` commands for the keys area (registered by vault/cli/__init__.py).

`vault keys generate` writes the key ring with a new version to a new file,
`vault keys rotate` re-wraps every stored key under the current version, and
`vault keys status` says which versions rows still use, i.e. whether an old
version may leave the ring. docs/operations.md has the whole procedure.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from crypto import FormatError, KeyRing
from vault.cli.common import create_private, fail
from vault.core import rotation
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_settings


@click.group("keys", help="The server key ring (outer layer of every stored key).")
def keys_group() -> None:
    pass


@keys_group.command(
    "generate",
    help="Write the configured key ring plus a new, current version to a new file (mode 0600).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file for the ring; an existing file is never overwritten.",
)
@with_appcontext
def keys_generate(out: Path) -> None:
    try:
        text = KeyRing.generate_string(get_settings().server_keys)
    except FormatError as e:
        raise fail(f"keys generate: FAILED: the configured ring does not parse: {e}") from None
    ring = KeyRing.from_string(text)
    create_private(out, (text + "\n").encode(), "keys generate")
    click.echo(
        f"keys generate: OK (versions {', '.join(map(str, ring.versions))}; "
        f"version {ring.current_version} is new and wraps from now on; written to {out})"
    )
    click.echo(
        "Give every app process this ring (VAULT_SERVER_KEYS_FILE or VAULT_SERVER_KEYS), "
        "restart them, then run `vault keys rotate`."
    )


@keys_group.command(
    "rotate", help="Re-wrap every stored key under the current version; blobs are untouched."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=10_000),
    default=200,
    show_default=True,
    help="Rows per transaction: small batches hold row locks only briefly.",
)
@with_appcontext
def keys_rotate(batch_size: int) -> None:
    ring = get_keyring()
    db = db_session()
    try:
        counts = rotation.rotate(db, ring, batch_size=batch_size)
    except SQLAlchemyError as e:
        db.rollback()
        # Batches already committed stay re-wrapped; running again resumes.
        raise fail(
            f"keys rotate: FAILED: database: {type(e).__name__}; committed batches are kept, "
            "run it again"
        ) from None
    version = ring.current_version
    for kind in rotation.KINDS:
        click.echo(
            f"{kind.name}: {counts.rewrapped.get(kind.name, 0)} re-wrapped, "
            f"{counts.current.get(kind.name, 0)} already under version {version}"
        )
    done = sum(counts.rewrapped.values())
    current = sum(counts.current.values())
    if counts.problems:
        first = counts.problems[0]
        raise fail(
            f"keys rotate: FAILED: {len(counts.problems)} row(s) could not be re-wrapped "
            f"(first: {first.kind} {first.row}: {first.reason}); {done} re-wrapped, "
            f"{current} already under version {version}"
        )
    click.echo(f"keys rotate: OK ({done} re-wrapped, {current} already under version {version})")


@keys_group.command(
    "status",
    help="Count stored keys by ring version; exit status 1 while some use an older version.",
)
@with_appcontext
def keys_status() -> None:
    ring = get_keyring()
    try:
        found = rotation.survey(db_session(), ring)
    except SQLAlchemyError as e:
        raise fail(f"keys status: FAILED: database: {type(e).__name__}") from None
    older = 0
    for name, versions in found.items():
        parts = [f"version {v}: {n}" if v else f"damaged: {n}" for v, n in sorted(versions.items())]
        click.echo(f"{name}: {', '.join(parts) or 'none'}")
        older += sum(n for v, n in versions.items() if v != ring.current_version)
    if older:
        raise fail(
            f"keys status: {older} row(s) not under the current version {ring.current_version}; "
            "run `vault keys rotate` before removing a version from the ring"
        )
    click.echo(
        f"keys status: OK (every stored key under version {ring.current_version}; "
        "older versions may leave the ring)"
    )


commands: list[click.Command] = [keys_group]
