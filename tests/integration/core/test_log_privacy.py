"""What the servers write to their logs, and what those logs give an attacker.

The app runs as in production: gunicorn with docker/gunicorn.conf.py (access
log on stdout, error log and the app's own log on stderr, at DEBUG), on
PostgreSQL and SeaweedFS, with a server key ring the attacker never gets; and
as `make run` serves it, with `vault run` (Werkzeug's development server).

Whoever reads the logs must find no link token and no query string (search
text), and with the database, the blobs and the logs (but not the key ring,
nor a link's PIN) must open no linked document.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import storage
from crypto import CryptoError, blob_aad, decrypt_bytes, unwrap_key, wrap_key
from tests.factories import make_account, make_document, pdf_bytes
from tests.integration.served_app import (
    BIN,
    CSRF,
    Client,
    Server,
    fresh_postgresql,
    gunicorn,
    new_deployment,
)
from tests.s3server import S3Target, fresh_bucket
from vault.core.db import db_session, make_engine
from vault.core.extensions import get_keyring
from vault.documents import service as documents
from vault.models import Role, User

CONTENT = pdf_bytes("promesse d'embauche")
TITLE = "Promesse d'embauche Quincaillerie Martel"
FILENAME = "document.pdf"  # what the factory names every file
PIN = "482916"
# What a log line holding a link token looks like to someone searching the logs.
TOKEN_IN_LOG = re.compile(r"/lien/([A-Za-z0-9_-]{20,})")
REQUEST_WITH_QUERY = re.compile(r'"(GET|POST|HEAD) [^" ]*\?')


# --- the attacker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkRow:
    id: uuid.UUID
    vault_id: uuid.UUID
    document_id: uuid.UUID
    version: int
    wrapped: bytes


@dataclass(frozen=True)
class Opened:
    title: str
    filename: str
    content: bytes


def stolen_rows(database_url: str) -> list[LinkRow]:
    """Every link row of a database dump."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, vault_id, document_id, version, wrapped FROM external_links "
                    "WHERE wrapped IS NOT NULL"
                )
            ).all()
    finally:
        engine.dispose()
    return [
        LinkRow(uuid.UUID(str(r[0])), uuid.UUID(str(r[1])), uuid.UUID(str(r[2])), r[3], bytes(r[4]))
        for r in rows
    ]


def stolen_blob(database_url: str, store: storage.BlobStore, row: LinkRow) -> bytes:
    """The stored blob of the version a link names, from the dump and a bucket copy."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            key = connection.execute(
                text(
                    "SELECT b.key FROM document_versions v JOIN blobs b ON b.id = v.blob_id "
                    "WHERE v.document_id = :document AND v.version = :version"
                ),
                {"document": row.document_id, "version": row.version},
            ).scalar_one()
    finally:
        engine.dispose()
    with store.open(key) as reader:
        return bytes(reader.read())


def token_keys(token: str) -> Iterable[bytes]:
    """Every key a token gives without the key ring or a PIN.

    The first release derived the link key from the token alone; the key
    that the token still contributes (under the ring and the PIN) is that same
    derivation, so trying it on the stored column is trying both.
    """
    yield hashlib.sha256(b"vault/link-key|" + token.encode()).digest()
    yield hashlib.sha256(token.encode()).digest()


def attack(
    rows: list[LinkRow], tokens: set[str], database_url: str, store: storage.BlobStore
) -> list[Opened]:
    """Open what the dump, the bucket and the tokens open: the attacker's whole script."""
    opened = []
    for row in rows:
        aad = b"vault/link|" + row.id.bytes
        for token in tokens:
            for key in token_keys(token):
                try:
                    payload = unwrap_key(key, row.wrapped, aad)
                except CryptoError:
                    continue
                meta = json.loads(payload[32:])
                blob = stolen_blob(database_url, store, row)
                content = decrypt_bytes(
                    payload[:32], blob_aad(row.vault_id, row.document_id, row.version), blob
                )
                opened.append(Opened(meta["t"], meta["f"], content))
    return opened


# --- the journey ----------------------------------------------------------------------------


def make_link(client: Client, document_id: uuid.UUID, **fields: str) -> str:
    """Make a link through the person's form; return the token of the address shown once."""
    form = f"/liens/nouveau/{document_id}"
    data = {"csrf_token": client.csrf(form), "recipient": "employer", "days": "7"} | fields
    response = client.post(form, data)
    assert response.status == 302, response.status
    location = response.headers["Location"]
    page = client.page(location)
    match = re.search(r'value="https?://[^"]+/lien/([A-Za-z0-9_-]+)"', page)
    assert match, "no address on the link's page"
    noted = client.post(location, {"csrf_token": re.search(CSRF, page).group(1)})  # type: ignore[union-attr]
    assert noted.status == 302
    return match.group(1)


def open_as_recipient(base: str, token: str, pin: str | None = None) -> bytes:
    """What a recipient's browser does: the page, its style sheet, then the form."""
    visitor = Client(base)
    try:
        page = visitor.page(f"/lien/{token}")
        sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert sheet
        # A browser sends the page's address as Referer to its own site (the
        # policy becomes same-origin); it names the link.
        assert visitor.get(sheet.group(1), Referer=f"{base}/lien/{token}").status == 200
        csrf = re.search(CSRF, page).group(1)  # type: ignore[union-attr]
        if pin is not None:
            wrong = visitor.post(f"/lien/{token}", {"csrf_token": csrf, "pin": "000000"})
            assert wrong.status == 403
        fields = {"csrf_token": csrf} | ({"pin": pin} if pin else {})
        response = visitor.post(f"/lien/{token}", fields)
        assert response.status == 200, response.status
        return bytes(response.data)
    finally:
        visitor.close()


@pytest.fixture
def deployment_base(s3_server: S3Target, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_postgresql() as database_url:
        yield new_deployment(database_url, s3_server.server.url(fresh_bucket()), tmp_path)


def test_a_link_journey_under_gunicorn_logs_no_token_and_its_rows_open_nothing(
    deployment_base, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    deployment = deployment_base
    with deployment.app() as app:
        person = make_account(app, first="Nadia", last="Ferhat")
        document = make_document(
            app, person, CONTENT, title=TITLE, category="work", doc_type="other"
        )
    server = gunicorn(deployment.environment(), tmp_path)
    tokens = []
    try:
        client = Client(server.base)
        client.sign_in(person.username, person.passphrase)
        plain = make_link(client, document.id)
        protected = make_link(client, document.id, pin=PIN)
        tokens = [plain, protected]
        assert open_as_recipient(server.base, plain) == CONTENT
        assert open_as_recipient(server.base, protected, PIN) == CONTENT
        client.close()
    finally:
        server.stop()
    logs = server.logs()
    assert '"POST /lien/' in logs and " 200 " in logs, "the access log recorded the journey"

    with deployment.app() as app:
        store = storage.open_store(deployment.storage_url)
        try:
            rows = stolen_rows(deployment.database_url)
            assert len(rows) == 2
            from_logs = set(TOKEN_IN_LOG.findall(logs))
            opened = attack(rows, from_logs, deployment.database_url, store)
            assert opened == [], f"the logs gave {len(from_logs)} tokens that opened {opened}"
            # Even handed the tokens, without the ring and the PIN the rows open nothing.
            assert attack(rows, set(tokens), deployment.database_url, store) == []

            # The same script on a row made as the first release made it (key from
            # the token alone) opens the document: the script can succeed.
            with app.app_context():
                db = db_session()
                user = db.get(User, person.user.id)
                assert user is not None
                owner = documents.Unlocked(user, person.key)
                version = documents.current_version(db, db.get(documents.Document, document.id))
                dek = documents.version_dek(get_keyring(), owner, version)
            old = rows[0]
            payload = dek + json.dumps({"t": TITLE, "f": FILENAME}).encode()
            legacy = LinkRow(
                old.id,
                old.vault_id,
                old.document_id,
                old.version,
                wrap_key(next(iter(token_keys(plain))), payload, b"vault/link|" + old.id.bytes),
            )
            assert attack([legacy], {plain}, deployment.database_url, store) == [
                Opened(TITLE, FILENAME, CONTENT)
            ]
        finally:
            store.close()

    for token in tokens:
        assert token not in logs, "a link token reached a log"
    assert not from_logs, from_logs


def test_searches_under_gunicorn_log_no_query_string(deployment_base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deployment = deployment_base
    with deployment.app() as app:
        person = make_account(app, first="Nadia", last="Ferhat")
        make_document(app, person, CONTENT, title=TITLE, category="work", doc_type="other")
        admin = make_account(app, Role.ADMINISTRATOR, first="Alain", last="Greffe")
        counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    server = gunicorn(deployment.environment(), tmp_path)
    searches = [
        (person, "/documents/?q=Quincaillerie+Martel"),
        (admin, "/admin/?q=Ferhat+482931"),
        (counsellor, "/suivi/?q=Ferhat"),
    ]
    try:
        for account, path in searches:
            client = Client(server.base)
            client.sign_in(account.username, account.passphrase)
            assert client.get(path).status == 200
            client.close()
        # Signed out, the sign-in redirect carries the search in `next`.
        visitor = Client(server.base)
        moved = visitor.get("/documents/?q=Quincaillerie")
        assert moved.status == 302
        assert visitor.get(moved.headers["Location"]).status == 200
        visitor.close()
    finally:
        server.stop()
    logs = server.logs()
    for secret in ("Quincaillerie", "Martel", "482931", "Ferhat", "q=", "next="):
        assert secret not in logs, f"{secret!r} reached a log"
    assert not REQUEST_WITH_QUERY.search(logs)
    # The requests were logged, by their path alone.
    for path in ("/documents/", "/admin/", "/suivi/", "/connexion"):
        assert f'"GET {path} HTTP/1.1" 200' in logs, f"no access log line for {path}"


def test_the_development_server_logs_no_token_and_no_query_string(tmp_path: Path) -> None:
    environment = {
        "VAULT_ENV": "development",
        "VAULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "VAULT_LOG_LEVEL": "DEBUG",
    }
    migrated = subprocess.run(
        [str(BIN / "vault"), "db", "upgrade"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert migrated.returncode == 0, migrated.stderr
    command = [str(BIN / "vault"), "run", "--host", "127.0.0.1", "--port", "{port}"]
    server = Server(command, environment, tmp_path)
    token = "Zq7" + "x" * 40
    try:
        server.wait_ready()
        client = Client(server.base)
        assert client.get(f"/lien/{token}").status == 404
        assert client.post(f"/lien/{token}", {"pin": "1234"}).status == 400
        assert client.get("/static/css/vault.css", Referer=f"{server.base}/lien/{token}").status
        moved = client.get("/documents/?q=Quincaillerie+Martel")
        assert moved.status == 302
        assert client.get(moved.headers["Location"]).status == 200
        assert client.get("/admin/?q=Ferhat+482931").status == 302
        client.close()
    finally:
        server.stop()
    logs = server.logs()
    for secret in (token, "Quincaillerie", "Ferhat", "482931", "q=", "next="):
        assert secret not in logs, f"{secret!r} reached a log"
    assert not REQUEST_WITH_QUERY.search(logs)
    # The requests were logged, by their path alone.
    assert '"GET /documents/ HTTP/1.1" 302' in logs, logs
    assert '"POST /lien/' in logs, logs
