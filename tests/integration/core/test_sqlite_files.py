"""The embedded default's SQLite file: shredded keys leave the disk (issue 11).

Deleting a document or closing a vault deletes the rows that hold its wrapped
keys (crypto-shredding). SQLite keeps deleted bytes in free pages of the
database file and in old frames of its write-ahead log unless told otherwise:
these tests search both files for the exact bytes once held.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import (
    PASSPHRASE,
    Account,
    csrf_token,
    make_account,
    make_document,
    signed_in,
)
from vault.core import migrate
from vault.core.config import Settings
from vault.core.db import db_session, make_engine
from vault.models import DocumentVersion, KeySlot


@pytest.fixture
def file_app(make_app: Callable[..., Flask], settings: Settings) -> Flask:
    """The app on its own SQLite file, committing for real (not a rolled-back test transaction)."""
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return make_app()


def database_files(settings: Settings) -> dict[str, bytes]:
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    files = {path.name: path.read_bytes()}
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        files[wal.name] = wal.read_bytes()
    return files


def found_in(settings: Settings, secrets: list[bytes]) -> list[str]:
    """Which of the database files still hold any of `secrets`."""
    return [
        name
        for name, data in database_files(settings).items()
        if any(secret in data for secret in secrets)
    ]


def wrapped_deks(app: Flask, account: Account) -> list[bytes]:
    with app.app_context():
        return list(db_session().execute(select(DocumentVersion.wrapped_dek)).scalars())


def slots_of(app: Flask, account: Account) -> list[bytes]:
    with app.app_context():
        return list(
            db_session()
            .execute(select(KeySlot.data).where(KeySlot.user_id == account.user.id))
            .scalars()
        )


def test_a_deleted_documents_key_is_in_neither_the_database_nor_its_wal(
    file_app: Flask, settings: Settings
) -> None:
    person = make_account(file_app)
    document = make_document(file_app, person)
    deks = wrapped_deks(file_app, person)
    assert deks and found_in(settings, deks), "the test must see the key while it exists"

    client = signed_in(file_app, person)
    token = csrf_token(client, f"/documents/{document.id}/supprimer")
    response = client.post(f"/documents/{document.id}/supprimer", data={"csrf_token": token})
    assert response.status_code == 302
    assert wrapped_deks(file_app, person) == []

    assert found_in(settings, deks) == []


def test_a_closed_vaults_slots_and_keys_are_in_neither_the_database_nor_its_wal(
    file_app: Flask, settings: Settings
) -> None:
    person = make_account(file_app)
    make_document(file_app, person)
    secrets = wrapped_deks(file_app, person) + slots_of(file_app, person)
    assert len(secrets) >= 4 and found_in(settings, secrets)

    client = signed_in(file_app, person)
    token = csrf_token(client, "/compte/fermer")
    response = client.post(
        "/compte/fermer",
        data={"understood": "y", "passphrase": PASSPHRASE, "csrf_token": token},
    )
    assert response.status_code == 302
    assert slots_of(file_app, person) == []

    assert found_in(settings, secrets) == []


def test_a_stopped_links_key_is_in_neither_the_database_nor_its_wal(
    file_app: Flask, settings: Settings
) -> None:
    """A link the person stops loses its sealed key (set to NULL, not deleted)."""
    import re

    from vault.models import ExternalLink

    person = make_account(file_app)
    document = make_document(file_app, person)
    client = signed_in(file_app, person)
    form = f"/liens/nouveau/{document.id}"
    response = client.post(
        form,
        data={"recipient": "employer", "days": "7", "csrf_token": csrf_token(client, form)},
    )
    assert response.status_code == 302
    link_id = re.search(r"/liens/([0-9a-f-]{36})/", response.headers["Location"]).group(1)  # type: ignore[union-attr]
    with file_app.app_context():
        keys = [k for k in db_session().execute(select(ExternalLink.wrapped)).scalars() if k]
    assert keys and found_in(settings, keys), "the test must see the key while it exists"

    stop = f"/liens/{link_id}/retirer"
    assert client.post(stop, data={"csrf_token": csrf_token(client, stop)}).status_code == 302
    with file_app.app_context():
        assert list(db_session().execute(select(ExternalLink.wrapped)).scalars()) == [None]

    assert found_in(settings, keys) == []
