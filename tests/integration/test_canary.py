"""No plaintext at rest: a unique marker uploaded in a document's content, title
and file name is found nowhere in the database (every column of every table),
in any stored blob, or in any file of the instance folder.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.factories import csrf_token, make_account, pdf_bytes, signed_in
from tests.s3server import S3Target
from vault.db import db_session, get_database
from vault.extensions import get_store
from vault.models import Base


def needles(marker: str) -> list[bytes]:
    return [marker.encode(), marker.encode("utf-16-le"), marker.upper().encode()]


def assert_absent(app: Flask, marker: str, folders: list[Path]) -> int:
    """Search everything; return how many places were searched (so the test can't be empty)."""
    found: list[str] = []
    searched = 0
    with app.app_context():
        db = db_session()
        for table in Base.metadata.sorted_tables:
            for row in db.execute(select(table)).all():
                searched += 1
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    if any(n in data for n in needles(marker)):
                        found.append(f"table {table.name}")
    store = get_store(app)
    for info in store.list():
        searched += 1
        with store.open(info.key) as reader:
            data = reader.read()
        if any(n in data for n in needles(marker)):
            found.append(f"blob {info.key}")
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                searched += 1
                if any(n in path.read_bytes() for n in needles(marker)):
                    found.append(f"file {path}")
    assert not found, f"plaintext marker found in: {found}"
    return searched


def upload_and_use(app: Flask, marker: str) -> None:
    person = make_account(app)
    client = signed_in(app, person)
    token = csrf_token(client, "/documents/ajouter")
    response = client.post(
        "/documents/ajouter",
        data={
            "csrf_token": token,
            "title": f"Titre {marker}",
            "category": "identity",
            "doc_type": "id_card",
            "file": (io.BytesIO(pdf_bytes(marker)), f"{marker}.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    path = response.headers["Location"]
    # Everything that derives data from the document: preview, search, download, journal.
    assert marker.encode() in client.get(path + "/telecharger").data
    assert client.get(path + "/apercu").status_code == 200
    assert marker in client.get(f"/documents/?q={marker}").get_data(as_text=True)
    client.get("/journal/")


def test_marker_is_nowhere_at_rest_local(app: Flask, tmp_path: Path, database_url: str) -> None:
    marker = "CANARY" + secrets.token_hex(8)
    upload_and_use(app, marker)
    folders = [tmp_path]
    if database_url.startswith("sqlite"):
        folders.append(Path(database_url.removeprefix("sqlite:///")).parent)
    assert assert_absent(app, marker, folders) > 10


def test_marker_is_nowhere_at_rest_s3(
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
    s3_server: S3Target,
    tmp_path: Path,
) -> None:
    app = make_app(database_url=database_url, storage_url=s3_server.url)
    get_database(app).bind_to(connection)
    marker = "CANARY" + secrets.token_hex(8)
    upload_and_use(app, marker)
    assert assert_absent(app, marker, [tmp_path]) > 10
