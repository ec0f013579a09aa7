"""Data written by the previous release opens with today's code.

`tests/fixtures/previous_release/` holds a SQLite database and a blob folder
written by the code of the commit its `expected.json` names (before `vault/`
moved into feature packages), through the app's own services. This test reads
them with the current code, through the pages: the person signs in and every
document (including a version 2, a deposit not yet taken in, and a PNG)
downloads with its original SHA-256; the counsellor reads what was shared and
the sealed request message; both external links open; the journal verifies.
Any change to a stored byte or an associated-data label breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from crypto import derive_keypair, open_sealed
from tests.conftest import make_settings
from tests.factories import csrf_token
from vault import create_app
from vault.accounts import keys
from vault.accounts.keys import Unlocked
from vault.core import migrate
from vault.core.db import db_session, get_database, make_engine
from vault.core.envelope import UserKey, escrow_context, slot_aad
from vault.core.extensions import get_keyring, get_store
from vault.documents.deposits import take_in_deposits
from vault.documents.keys import document_meta
from vault.models import Document, SlotKind, User

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "previous_release"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


@pytest.fixture
def old_vault(tmp_path: Path) -> Flask:
    """The app on a copy of the fixture, with the secrets it was written under."""
    shutil.copy(FIXTURE / "vault.sqlite3", tmp_path / "vault.sqlite3")
    shutil.copytree(FIXTURE / "blobs", tmp_path / "blobs")
    settings = make_settings(
        tmp_path,
        secret_key=EXPECTED["secret_key"],
        server_keys=EXPECTED["server_keys"],
        escrow_public_key=EXPECTED["escrow_public_key"],
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)  # whatever came after the previous release
    with engine.begin() as connection:
        # Links live 30 days at most: move their end past today. The end date
        # is classification data, not part of any sealed payload.
        connection.execute(text("UPDATE external_links SET expires_at = '2999-01-01 00:00:00'"))
    engine.dispose()
    app = create_app(settings)
    yield app
    get_database(app).dispose()
    get_store(app).close()


def sign_in(app: Flask, who: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post(
        "/connexion",
        data={
            "username": EXPECTED[who]["username"],
            "passphrase": EXPECTED[who]["passphrase"],
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )
    assert response.status_code == 302, response.status_code
    return client


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_person_opens_every_document_written_by_the_previous_release(
    old_vault: Flask,
) -> None:
    client = sign_in(old_vault, "person")
    listing = client.get("/documents/").get_data(as_text=True)
    for title, digest in EXPECTED["documents"].items():
        assert title.replace("'", "&#39;") in listing
        response = client.get(f"/documents/{EXPECTED['ids'][title]}/telecharger")
        assert response.status_code == 200, title
        assert sha256(response.get_data()) == digest, title


def test_the_counsellor_reads_what_was_shared_and_the_sealed_message(old_vault: Flask) -> None:
    client = sign_in(old_vault, "counsellor")
    person = EXPECTED["person"]["id"]
    for title in EXPECTED["shared_with_counsellor"]:
        response = client.get(f"/suivi/{person}/documents/{EXPECTED['ids'][title]}/telecharger")
        assert response.status_code == 200, title
        assert sha256(response.get_data()) == EXPECTED["documents"][title], title
    page = client.get(f"/suivi/{person}/").get_data(as_text=True)
    assert EXPECTED["request_message"].replace("'", "&#39;") in page


def test_the_previous_releases_links_open_with_their_token_and_pin(old_vault: Flask) -> None:
    for link in EXPECTED["links"]:
        client = old_vault.test_client()
        page = f"/lien/{link['token']}"
        data = {"csrf_token": csrf_token(client, page)}
        if link["pin"]:
            data["pin"] = link["pin"]
        response = client.post(page, data=data)
        assert response.status_code == 200, link["title"]
        assert sha256(response.get_data()) == EXPECTED["documents"][link["title"]]


def test_the_previous_releases_journal_verifies(old_vault: Flask) -> None:
    result = old_vault.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output


def test_the_previous_releases_escrow_slot_opens_with_its_escrow_secret(old_vault: Flask) -> None:
    """The escrow slot's two labels (slot under the ring, HPKE context) kept their bytes.

    What `vault escrow recover` does first, with the secret the fixture was
    written under: the user key it opens matches the account's public key
    and opens the person's document titles, the pending deposit's included.
    """
    person_id = uuid.UUID(EXPECTED["person"]["id"])
    with old_vault.app_context():
        db = db_session()
        user = db.get(User, person_id)
        slot = keys.get_slot(db, person_id, SlotKind.ESCROW)
        assert user is not None and slot is not None
        sealed = get_keyring().unwrap(slot.data, slot_aad(person_id, SlotKind.ESCROW))
        secret = base64.b64decode(EXPECTED["escrow_secret"])
        user_key = UserKey(open_sealed(derive_keypair(secret), sealed, escrow_context(person_id)))
        assert keys.matches_public_key(user, user_key)
        owner = Unlocked(user, keys.vault_key_of(user_key))
        # The deposit not yet taken in is sealed for the person (its own two
        # labels): taken in as the person's next request would.
        assert take_in_deposits(db, get_keyring(), owner) == 1
        titles = {
            document_meta(owner, db.get(Document, uuid.UUID(document_id))).title
            for document_id in EXPECTED["ids"].values()
        }
        assert titles == set(EXPECTED["documents"])
