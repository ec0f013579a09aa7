"""The person's library through the HTTP interface, on SQLite and PostgreSQL.

Local blob store here; `test_documents_s3.py` runs the same paths on S3.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    pdf_bytes,
    png_bytes,
    signed_in,
)
from tests.helpers import fail_commits_once_a_blob_is_stored
from vault.core.db import db_session, get_database
from vault.core.extensions import get_store
from vault.models import Blob, Document, DocumentVersion, JournalEvent


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app)


@pytest.fixture
def client_for(app: Flask) -> Callable[[Account], FlaskClient]:
    return lambda account: signed_in(app, account)


def upload(
    client: FlaskClient,
    content: bytes,
    filename: str = "carte.pdf",
    *,
    title: str = "",
    category: str = "identity",
    doc_type: str = "id_card",
    expiry: str = "",
    token: str | None = None,
    path: str = "/documents/ajouter",
) -> object:
    data: dict[str, object] = {}
    if token is not False:
        data["csrf_token"] = (
            token if token is not None else csrf_token(client, "/documents/ajouter")
        )
    data.update(
        {
            "title": title,
            "category": category,
            "doc_type": doc_type,
            "expiry_date": expiry,
            "file": (io.BytesIO(content), filename),
        }
    )
    return client.post(path, data=data, content_type="multipart/form-data")


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        db = db_session()
        docs = db.execute(select(func.count()).select_from(Document)).scalar_one()
        blobs = db.execute(select(func.count()).select_from(Blob)).scalar_one()
    stored = len(list(get_store(app).list("documents")))
    return docs, blobs, stored


def test_upload_list_search_download_identical_bytes(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    content = pdf_bytes("attestation")
    response = upload(
        client,
        content,
        "attestation_CAF.pdf",
        title="Attestation CAF",
        category="benefits",
        doc_type="benefits_certificate",
    )
    assert response.status_code == 302
    document_path = response.headers["Location"]
    page = client.get(document_path).get_data(as_text=True)
    assert "Attestation CAF" in page

    listing = client.get("/documents/").get_data(as_text=True)
    assert "Attestation CAF" in listing
    found = client.get("/documents/?q=attestation caf").get_data(as_text=True)
    assert "Attestation CAF" in found and "1 document trouvé" in found
    assert "Attestation CAF" not in client.get("/documents/?q=passeport").get_data(as_text=True)

    download = client.get(document_path + "/telecharger")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Attestation CAF.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_search_ignores_case_and_accents(app: Flask, person: Account) -> None:
    make_document(
        app,
        person,
        title="Relevé d'identité bancaire",
        category="benefits",
        doc_type="bank_details",
    )
    client = signed_in(app, person)
    assert "Relevé" in client.get("/documents/?q=RELEVE").get_data(as_text=True)


def test_the_list_shows_twenty_a_page_newest_first(app: Flask, person: Account) -> None:
    for i in range(45):
        make_document(app, person, title=f"Papier {i:02d}")
    client = signed_in(app, person)

    def titles(path: str) -> tuple[list[str], str]:
        response = client.get(path)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return re.findall(r'class="document-title"><bdi>([^<]+)</bdi><', page), page

    first, page = titles("/documents/")
    assert first == [f"Papier {i:02d}" for i in range(44, 24, -1)]
    assert "Page 1 sur 3" in page
    assert 'href="/documents/?page=2"' in page
    assert titles("/documents/?page=3")[0] == [f"Papier {i:02d}" for i in range(4, -1, -1)]
    # Nonsense is the first page; beyond the end, the last one.
    assert titles("/documents/?page=abc")[0] == first
    assert titles("/documents/?page=-4")[0] == first
    response = client.get("/documents/?page=9&q=papier")
    assert response.status_code == 302
    assert response.headers["Location"] == "/documents/?q=papier&page=3"
    response = client.get("/documents/?page=" + "9" * 30)
    assert response.status_code == 302
    assert response.headers["Location"] == "/documents/?page=3"


def test_an_empty_vault_has_one_page(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    assert client.get("/documents/?page=2").headers["Location"] == "/documents/"
    assert "Votre coffre est vide" in client.get("/documents/").get_data(as_text=True)


def test_default_title_comes_from_a_clean_file_name(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    response = upload(
        client, pdf_bytes(), "../../etc/\u202eCV_2026.pdf", category="work", doc_type="cv"
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "\u202e" not in page and "../" not in page
    assert "CV 2026" in page


def test_png_preview_and_pdf_preview(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    for content, name in ((png_bytes((300, 200)), "photo.png"), (pdf_bytes("x"), "doc.pdf")):
        response = upload(client, content, name)
        assert response.status_code == 302
        preview = client.get(response.headers["Location"] + "/apercu")
        assert preview.status_code == 200
        assert preview.data.startswith(b"\x89PNG\r\n\x1a\n")
        assert preview.headers["Content-Type"] == "image/png"
        assert "sandbox" in preview.headers["Content-Security-Policy"]
        # The second time comes from the stored, encrypted preview.
        assert client.get(response.headers["Location"] + "/apercu").data == preview.data


def test_rename_replace_keeps_previous_version_delete_shreds(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    first, second = pdf_bytes("v1"), pdf_bytes("v2")
    path = upload(client, first, "a.pdf").headers["Location"]
    document_id = uuid.UUID(path.rsplit("/", 1)[1])

    token = csrf_token(client, path)
    response = client.post(
        path + "/modifier",
        data={
            "csrf_token": token,
            "title": "Passeport 2026",
            "category": "identity",
            "doc_type": "passport",
            "expiry_date": "2031-05-01",
        },
    )
    assert response.status_code == 302
    assert "Passeport 2026" in client.get(path).get_data(as_text=True)

    response = upload(
        client,
        second,
        "b.pdf",
        path=path + "/remplacer",
        token=csrf_token(client, path + "/remplacer"),
    )
    assert response.status_code == 302
    assert client.get(path + "/telecharger").data == second
    with app.app_context():
        versions = (
            db_session()
            .execute(select(DocumentVersion).where(DocumentVersion.document_id == document_id))
            .scalars()
            .all()
        )
        assert sorted(v.version for v in versions) == [1, 2]
        keys = [db_session().get(Blob, v.blob_id).key for v in versions]  # type: ignore[union-attr]

    response = client.post(
        path + "/supprimer", data={"csrf_token": csrf_token(client, path + "/supprimer")}
    )
    assert response.status_code == 302
    assert client.get(path).status_code == 404
    assert client.get(path + "/telecharger").status_code == 404
    store = get_store(app)
    assert not any(store.exists(k) for k in keys)
    with app.app_context():
        assert db_session().get(Document, document_id) is None
        actions = [
            e.action
            for e in db_session()
            .execute(
                select(JournalEvent)
                .where(JournalEvent.vault_id == person.user.id)
                .order_by(JournalEvent.seq)
            )
            .scalars()
        ]
    assert (
        actions[-4:]
        == ["document.renamed", "document.replaced", "document.downloaded", "document.deleted"][-4:]
        or "document.deleted" in actions
    )


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "page.pdf", "pas accepté"),
        (b"PK\x03\x04" + b"\0" * 100, "archive.pdf", "pas accepté"),
        (b"MZ\x90\x00" + b"\0" * 100, "programme.png", "pas accepté"),
        (b"", "vide.pdf", "vide"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    app: Flask, person: Account, content: bytes, filename: str, message: str
) -> None:
    client = signed_in(app, person)
    before = counts(app)
    response = upload(client, content, filename)
    assert response.status_code in (400, 415)
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


def test_oversized_file_is_refused_and_nothing_is_stored(
    make_app: Callable[..., Flask], database_url: str, connection: object
) -> None:
    app = make_app(database_url=database_url, max_upload_bytes=64 * 1024)
    get_database(app).bind_to(connection)  # type: ignore[arg-type]
    person = make_account(app)
    client = signed_in(app, person)
    before = counts(app)
    body = pdf_bytes() + b"%" * (64 * 1024)
    response = upload(client, body, "gros.pdf")
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)
    assert counts(app) == before
    exactly = pdf_bytes()
    exactly += b"%" * (64 * 1024 - len(exactly))
    assert upload(client, exactly, "juste.pdf").status_code == 302


def test_quota_is_enforced(
    make_app: Callable[..., Flask], database_url: str, connection: object
) -> None:
    app = make_app(database_url=database_url, vault_quota_bytes=3000, max_upload_bytes=2000)
    get_database(app).bind_to(connection)  # type: ignore[arg-type]
    person = make_account(app)
    client = signed_in(app, person)
    doc = pdf_bytes()
    doc += b"%" * (1800 - len(doc))
    assert upload(client, doc, "un.pdf").status_code == 302
    response = upload(client, doc, "deux.pdf")
    assert response.status_code == 413
    assert "coffre est plein" in response.get_data(as_text=True)


def test_missing_or_foreign_csrf_token_stores_nothing(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    other = signed_in(app, make_account(app, first="Lou", last="Bernard"))
    before = counts(app)
    assert upload(client, pdf_bytes(), token=False).status_code == 400  # type: ignore[arg-type]
    foreign = csrf_token(other, "/documents/ajouter")
    assert upload(client, pdf_bytes(), token=foreign).status_code == 400
    assert counts(app) == before


def test_fields_after_the_file_are_refused(app: Flask, person: Account) -> None:
    """The details must arrive before the file: nothing is stored blind."""
    client = signed_in(app, person)
    token = csrf_token(client, "/documents/ajouter")
    boundary = "XyZ"
    parts = [
        ("csrf_token", None, token.encode()),
        ("file", "a.pdf", pdf_bytes()),
        ("category", None, b"identity"),
        ("doc_type", None, b"id_card"),
    ]
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    before = counts(app)
    response = client.post(
        "/documents/ajouter", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 400
    assert counts(app)[:2] == before[:2]


def test_another_persons_document_is_404_everywhere(app: Flask, person: Account) -> None:
    other = make_account(app, first="Lou", last="Bernard")
    theirs = make_document(app, other, title="Secret de Lou")
    client = signed_in(app, person)
    base = f"/documents/{theirs.id}"
    for path in (
        base,
        base + "/telecharger",
        base + "/apercu",
        base + "/remplacer",
        base + "/supprimer",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "Secret de Lou" not in response.get_data(as_text=True)
    token = csrf_token(client, "/documents/ajouter")
    for path in (base + "/modifier", base + "/supprimer"):
        assert (
            client.post(
                path,
                data={
                    "csrf_token": token,
                    "title": "x",
                    "category": "identity",
                    "doc_type": "id_card",
                },
            ).status_code
            == 404
        )
    assert client.get(f"/documents/{uuid.uuid4()}").status_code == 404
    assert client.get("/documents/not-a-uuid").status_code == 404
    assert signed_in(app, other).get(base + "/telecharger").status_code == 200


def test_expiry_date_is_kept_and_bad_dates_refused(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    soon = (date.today() + timedelta(days=60)).isoformat()
    response = upload(client, pdf_bytes(), "cni.pdf", expiry=soon)
    assert response.status_code == 302
    assert soon in client.get(response.headers["Location"]).get_data(as_text=True)
    before = counts(app)
    assert upload(client, pdf_bytes(), "cni.pdf", expiry="31/02/2020").status_code == 400
    # A type of another category no longer refuses the upload (issue 13, D-080:
    # tests/integration/documents/test_add_form.py); an unknown category still does.
    assert (
        upload(client, pdf_bytes(), "cni.pdf", category="nowhere", doc_type="id_card").status_code
        == 400
    )
    assert counts(app) == before


def test_journal_page_tells_what_happened(app: Flask, person: Account) -> None:
    make_document(
        app, person, title="Carte Vitale", category="health", doc_type="social_security_card"
    )
    client = signed_in(app, person)
    page = client.get("/journal/").get_data(as_text=True)
    assert "Vous avez ajouté « <bdi>Carte Vitale</bdi> »" in page
    assert "Connexion réussie" in page or "Vous avez activé" in page


def test_search_follows_renames_deletions_and_a_lost_index(app: Flask, person: Account) -> None:
    from sqlalchemy import delete as sql_delete

    from vault.models import VaultIndex

    first = make_document(
        app, person, title="Quittance de loyer", category="housing", doc_type="proof_of_address"
    )
    make_document(app, person, title="Bulletin de salaire", category="work", doc_type="payslip")
    client = signed_in(app, person)
    assert "Quittance de loyer" in client.get("/documents/?q=quittance").get_data(as_text=True)
    path = f"/documents/{first.id}"
    client.post(
        path + "/modifier",
        data={
            "csrf_token": csrf_token(client, path),
            "title": "Avis d'échéance",
            "category": "housing",
            "doc_type": "proof_of_address",
        },
    )
    assert "Quittance" not in client.get("/documents/?q=quittance").get_data(as_text=True)
    assert "Avis d" in client.get("/documents/?q=echeance").get_data(as_text=True)
    # The index is a cache of what the documents say: lost, it is rebuilt.
    with app.app_context():
        db_session().execute(sql_delete(VaultIndex))
        db_session().commit()
    assert "Bulletin de salaire" in client.get("/documents/?q=salaire").get_data(as_text=True)
    client.post(path + "/supprimer", data={"csrf_token": csrf_token(client, path + "/supprimer")})
    assert "Avis d" not in client.get("/documents/?q=echeance").get_data(as_text=True)
    with app.app_context():
        row = db_session().get(VaultIndex, person.user.id)
        assert row is not None and b"Bulletin" not in row.sealed  # sealed, not in clear


def test_an_upload_whose_commit_fails_leaves_no_blob_behind(
    app: Flask, person: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake's commit: a database lost at the commit leaves no blob that no row names.

    The fault is injected at the commit only (the upload itself streamed,
    encrypted and stored its blob): the person gets the French "try again"
    page, and neither a row nor a stored file stays.
    """
    client = signed_in(app, person)
    before = counts(app)
    fail_commits_once_a_blob_is_stored(monkeypatch, get_store(app))
    response = upload(client, pdf_bytes(), "carte.pdf")
    assert response.status_code == 503  # type: ignore[attr-defined]
    monkeypatch.undo()
    assert counts(app) == before
    assert upload(client, pdf_bytes(), "carte.pdf").status_code == 302  # type: ignore[attr-defined]
