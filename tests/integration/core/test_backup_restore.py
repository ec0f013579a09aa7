"""Backup and restore, as docs/operations.md tells an operator to do it.

A live instance (its own committed database: a backup of the tests' usual
rolled-back transaction would hold nothing) gets people, documents, a second
version and a deposit. The backup is the database first (SQLite's online
backup API, or `pg_dump` of the instance's schema), then the blobs (a copy of
the blob directory, or every object copied to a new bucket). A fresh instance
is built from the copies with the same secrets; every document must decrypt
there with the SHA-256 its encrypted metadata records, and every journal must
verify. The same copies with another server key ring open nothing: the ring
(like the escrow secret) is kept apart from the backups.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

import storage
from tests.conftest import DATABASES, DEFAULT_TEST_PG
from tests.factories import Account, make_account, make_document, pdf_bytes, png_bytes
from tests.s3server import fresh_bucket
from tests.services import service_missing
from vault.accounts import service as accounts
from vault.core import migrate
from vault.core.db import db_session, make_engine
from vault.core.errors import SignInRefused
from vault.core.extensions import get_keyring, get_store
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.models import Document, Role, User
from vault.sharing import service as sharing

STORES = ["local", "s3"]


@dataclass
class Instance:
    database_url: str
    storage_url: str


class Postgres:
    """Schemas and databases made for one test on the test server, dropped afterwards."""

    def __init__(self) -> None:
        self.base = make_url(os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_TEST_PG))
        self.schemas: list[str] = []
        self.databases: list[str] = []
        self.admin = make_engine(self.base.render_as_string(hide_password=False))

    def libpq(self, database: str | None = None) -> str:
        """The server's URL for pg_dump / pg_restore (libpq does not know "+psycopg")."""
        url = self.base.set(drivername="postgresql", query={})
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def url(self, schema: str, database: str | None = None) -> str:
        url = self.base.update_query_dict({"options": f"-csearch_path={schema}"})
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def new_schema(self) -> str:
        schema = f"vault_live_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.schemas.append(schema)
        return schema

    def new_database(self) -> str:
        name = f"vault_restored_{uuid.uuid4().hex[:12]}"
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        self.databases.append(name)
        return name

    def close(self) -> None:
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for schema in self.schemas:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            for name in self.databases:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            service_missing(f"{tool} not found (Debian: postgresql-client)")
    server = Postgres()
    try:
        yield server
    finally:
        server.close()


def live_instance(
    request: pytest.FixtureRequest, backend: str, store: str, tmp_path: Path
) -> Instance:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        database_url = server.url(server.new_schema())
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    if store == "local":
        storage_url = (tmp_path / "live-blobs").as_uri()
    else:
        storage_url = request.getfixturevalue("s3_server").server.url(fresh_bucket())
    return Instance(database_url, storage_url)


def back_up_database(
    request: pytest.FixtureRequest, backend: str, live: Instance, tmp_path: Path
) -> str:
    """Dump the live database and restore the dump as a new one; return its URL."""
    if backend == "sqlite":
        restored = tmp_path / "restored.sqlite3"
        # The online backup API: a consistent copy even while the app writes.
        source = sqlite3.connect(make_url(live.database_url).database or "")
        target = sqlite3.connect(restored)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return f"sqlite:///{restored}"
    server: Postgres = request.getfixturevalue("postgres")
    schema = server.schemas[-1]
    dump = tmp_path / "vault.dump"
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--schema={schema}",
            # The instance's extensions (pg_trgm, migration 0014) live in
            # `public`, outside the schema: a dump of the whole database, as
            # docs/operations.md runs it, carries them; this one names them.
            "--extension=pg_trgm",
            f"--file={dump}",
            server.libpq(),
        ],
        check=True,
        capture_output=True,
    )
    database = server.new_database()
    subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", f"--dbname={server.libpq(database)}", dump],
        check=True,
        capture_output=True,
    )
    return server.url(schema, database)


def back_up_blobs(
    store: str, live: Instance, tmp_path: Path, request: pytest.FixtureRequest
) -> str:
    """Copy every blob to another place; return its storage URL."""
    if store == "local":
        target = tmp_path / "restored-blobs"
        shutil.copytree(live.storage_url.removeprefix("file://"), target)
        return target.as_uri()
    target_url: str = request.getfixturevalue("s3_server").server.url(fresh_bucket())
    source_store = storage.open_store(live.storage_url)
    target_store = storage.open_store(target_url)
    try:
        for info in source_store.list():
            with source_store.open(info.key) as reader:
                target_store.put(info.key, reader, info.size)
    finally:
        source_store.close()
        target_store.close()
    return target_url


def fill(app: Flask) -> list[Account]:
    """Two people, documents of several kinds, a second version, a deposit, a share."""
    alex = make_account(app, first="Alex", last="Martin")
    sam = make_account(app, first="Sam", last="Durand")
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    card = make_document(app, alex, pdf_bytes("carte"), expiry_date=None)
    make_document(app, alex, png_bytes((300, 200)), title="Photo", mime="image/png")
    make_document(app, sam, pdf_bytes("cv de sam"), title="CV", category="work", doc_type="cv")
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one VSF1 segment
    with app.app_context():
        db = db_session()
        user = db.get(User, alex.user.id)
        staff = db.get(User, counsellor.user.id)
        document = db.get(Document, card.id)
        assert user and staff and document
        owner = Unlocked(user, alex.key)
        documents.replace_document(
            db,
            get_store(),
            get_keyring(),
            owner,
            document,
            [big[:1000], big[1000:]],
            mime="application/pdf",
            filename="carte-v2.pdf",
            actor=user,
        )
        sharing.assign(db, user, staff, by=staff)
        sharing.share_document(db, get_keyring(), owner, document, staff.id)
        sharing.deposit_document(
            db,
            get_store(),
            get_keyring(),
            staff,
            user,
            [pdf_bytes("attestation")],
            mime="application/pdf",
            title="Attestation",
            filename="attestation.pdf",
            category="justice",
            doc_type="release_certificate",
        )
        db.commit()
    return [alex, sam]


def check_everything_decrypts(app: Flask, people: list[Account]) -> int:
    """Sign each person in (their passphrase slot), read every version; return how many."""
    checked = 0
    with app.app_context():
        db = db_session()
        ring = get_keyring()
        for person in people:
            user, key = accounts.sign_in(db, ring, person.username, person.passphrase)
            owner = Unlocked(user, key)
            sharing.take_in_deposits(db, ring, owner)
            for document in db.execute(
                select(Document).where(Document.vault_id == user.id)
            ).scalars():
                meta = documents.document_meta(owner, document)
                for version in document.versions:
                    digest = hashlib.sha256()
                    for chunk in documents.read_content(get_store(), ring, owner, version):
                        digest.update(chunk)
                    if version.version == document.current_version:
                        # The metadata records the current version's SHA-256.
                        assert digest.hexdigest() == meta.sha256, meta.title
                    checked += 1
            db.commit()
        count, problems = journal.verify(db, ring=ring)
        assert count > 0 and problems == []
    return checked


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("backend", DATABASES)
def test_backup_then_restore_into_a_fresh_instance(
    request: pytest.FixtureRequest,
    make_app: Callable[..., Flask],
    tmp_path: Path,
    backend: str,
    store: str,
) -> None:
    live = live_instance(request, backend, store, tmp_path)
    app = make_app(database_url=live.database_url, storage_url=live.storage_url)
    people = fill(app)

    # The order docs/operations.md gives: the database first, then the blobs
    # (a row never points at a blob written after the copy).
    restored_db = back_up_database(request, backend, live, tmp_path)
    restored_blobs = back_up_blobs(store, live, tmp_path, request)

    # A fresh instance: another instance folder, the copies, the same secrets.
    fresh = make_app(
        instance_path=tmp_path / "fresh-instance",
        database_url=restored_db,
        storage_url=restored_blobs,
    )
    assert check_everything_decrypts(fresh, people) == 5  # 4 documents, one with 2 versions
    response = fresh.test_cli_runner().invoke(args=["journal", "verify"])
    assert response.exit_code == 0, response.output

    # The copies alone open nothing: without the server key ring no slot opens.
    stranger = make_app(
        instance_path=tmp_path / "stranger",
        database_url=restored_db,
        storage_url=restored_blobs,
        server_keys="1:" + base64.b64encode(os.urandom(32)).decode(),
    )
    with stranger.app_context(), pytest.raises(SignInRefused):
        accounts.sign_in(db_session(), get_keyring(), people[0].username, people[0].passphrase)
