"""The Internet address (VAULT_PUBLIC_URL, D-071): printed sheets, the exit summary
and external links give it, never the address a request came in on (here, the
establishment's internal one)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from tests.factories import Account, csrf_token, make_account, make_document
from tests.helpers import pdf_text, post, post_form
from vault.core.db import get_database
from vault.models import Role

PUBLIC = "https://coffre.example.fr"
INTERNAL = "10.20.0.7:8080"


@pytest.fixture
def public_app(make_app: Callable[..., Flask], database_url: str, connection: Connection) -> Flask:
    app = make_app(database_url=database_url, public_url=PUBLIC)
    get_database(app).bind_to(connection)
    return app


def internal_client(app: Flask, account: Account) -> FlaskClient:
    """Signed in through the establishment's internal address."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = INTERNAL
    response = post_form(
        client, "/connexion", {"username": account.username, "passphrase": account.passphrase}
    )
    assert response.status_code == 302
    return client


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_activation_sheet_gives_the_public_address(public_app: Flask) -> None:
    admin = make_account(public_app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    client = internal_client(public_app, admin)
    created = post_form(
        client,
        "/admin/comptes/nouveau",
        {"role": "counsellor", "first_name": "Claire", "last_name": "Conseil"},
        "/admin/comptes/nouveau",
    )
    sheet = client.get(created.headers["Location"] + "/feuille-activation.pdf")
    assert sheet.data.startswith(b"%PDF")
    words = flat(pdf_text(sheet.data))
    assert f"{PUBLIC}/activer" in words
    assert INTERNAL not in words and "10.20.0.7" not in words


def test_an_external_link_gives_the_public_address(public_app: Flask) -> None:
    person = make_account(public_app)
    doc = make_document(public_app, person, title="Attestation", category="work")
    client = internal_client(public_app, person)
    response = post(client, f"/liens/nouveau/{doc.id}", {"recipient": "employer", "days": "7"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(rf'value="{re.escape(PUBLIC)}/lien/[A-Za-z0-9_-]+"', page), page
    assert INTERNAL not in page


def test_the_exit_summary_gives_the_public_address(public_app: Flask) -> None:
    person = make_account(public_app)
    make_document(public_app, person)
    client = internal_client(public_app, person)
    response = client.post(
        "/export/",
        data={"csrf_token": csrf_token(client, "/export/"), "passphrase": person.passphrase},
    )
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        words = flat(pdf_text(archive.read("resume.pdf")))
    assert f"{PUBLIC}/connexion" in words and INTERNAL not in words
