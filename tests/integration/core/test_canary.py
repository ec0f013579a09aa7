"""No plaintext at rest: a unique marker uploaded in a document's content, title
and file name is found nowhere in the database (every column of every table),
in any stored blob, or in any file of the instance folder.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.conftest import TEST_ESCROW
from tests.factories import csrf_token, make_account, pdf_bytes, signed_in
from tests.s3server import S3Target
from vault.core.db import db_session, get_database
from vault.core.extensions import get_store
from vault.models import Base, Role, User
from vault.sharing import service as sharing


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


# --- beyond documents: what people type that is not classification data -------------------


def sqlite_folders(database_url: str) -> list[Path]:
    if database_url.startswith("sqlite"):
        return [Path(database_url.removeprefix("sqlite:///")).parent]
    return []


def test_a_request_message_is_nowhere_at_rest_and_both_read_it(
    app: Flask, database_url: str
) -> None:
    marker = "CANARY" + secrets.token_hex(8)
    person = make_account(app, first="Alice", last="Arnaud")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    with app.app_context():
        db = db_session()
        sharing.assign(
            db,
            db.get(User, person.user.id),  # type: ignore[arg-type]
            db.get(User, counsellor.user.id),  # type: ignore[arg-type]
            by=db.get(User, admin.user.id),  # type: ignore[arg-type]
        )
        db.commit()
    client = signed_in(app, counsellor)
    path = f"/suivi/{person.user.id}/demander"
    message = f"Pour votre dossier CAF {marker}, merci"
    response = client.post(
        path,
        data={"doc_type": "cv", "message": message, "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 302
    # The counsellor reads what they wrote, and the person reads it too.
    assert message in client.get(f"/suivi/{person.user.id}/").get_data(as_text=True)
    assert message in signed_in(app, person).get("/demandes/").get_data(as_text=True)
    assert assert_absent(app, marker, sqlite_folders(database_url)) > 10


def test_the_identity_checked_in_an_escrow_recovery_is_nowhere_at_rest(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    last4 = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4))
    person = make_account(app, first="Karim", last="Perdu")
    first = make_account(app, Role.RECOVERY_OFFICER, "Odile", "Agent")
    second = make_account(app, Role.RECOVERY_OFFICER, "Omar", "Agent")
    officer = signed_in(app, first)
    path = f"/recuperation/agents/personnes/{person.user.id}"
    response = officer.post(
        path,
        data={
            "document": "passport",
            "last4": last4.lower(),
            "seen_on": date.today().isoformat(),
            "present": "y",
            "csrf_token": csrf_token(officer, path),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    request_page = response.headers["Location"]
    # The officers do not see it again; only the escrow key's holder can.
    assert last4 not in officer.get(request_page).get_data(as_text=True)
    other = signed_in(app, second)
    confirmed = other.post(
        request_page + "/confirmer", data={"csrf_token": csrf_token(other, request_page)}
    )
    assert confirmed.status_code == 302
    assert assert_absent(app, last4, sqlite_folders(database_url)) > 10

    secret_file = tmp_path / "escrow.secret"
    secret_file.write_text(TEST_ESCROW["escrow_secret"] + "\n")
    request_id = request_page.rstrip("/").rsplit("/", 1)[-1]
    result = app.test_cli_runner().invoke(
        args=["escrow", "recover", "--request", request_id, "--secret-file", str(secret_file)]
    )
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if "Identity check" in line]
    assert f"ending {last4}" in line and "passport" in line and "Odile Agent" in line
