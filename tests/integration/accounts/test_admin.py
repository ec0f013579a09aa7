"""Administrators open accounts, print activation sheets and manage establishments."""

from __future__ import annotations

import base64
import html
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_establishment,
    open_pending,
    signed_in,
)
from tests.helpers import pdf_text
from vault.accounts import sessions
from vault.accounts.sessions import SessionTicket
from vault.core.db import db_session
from vault.core.languages import CODES, LANGUAGES
from vault.models import AccountStatus, Establishment, PersonProfile, Role, User

CODE = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")
NEW = "/admin/comptes/nouveau"


def admin_client(app: Flask) -> tuple[FlaskClient, Account]:
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    return signed_in(app, admin), admin


def count_users(app: Flask) -> int:
    with app.app_context():
        return int(db_session().execute(select(func.count(User.id))).scalar_one())


def account_form(client: FlaskClient, **fields: str) -> dict[str, str]:
    data = {
        "role": "person",
        "first_name": "Inès",
        "last_name": "Béranger",
        "birth_date": "1994-02-03",
        "prison_number": "A-12345",
        "establishment": "",
        "csrf_token": csrf_token(client, NEW),
    }
    data.update(fields)
    return data


def activates(app: Flask, username: str, code: str) -> bool:
    """Does the sheet's code open the account through the real /activer form?"""
    client = app.test_client()
    response = client.post(
        "/activer",
        data={"username": username, "code": code, "csrf_token": csrf_token(client, "/activer")},
    )
    return response.status_code == 302 and "/activer/phrase-secrete" in response.location


def test_admin_opens_a_person_account_and_prints_a_sheet_that_activates_it(app: Flask) -> None:
    establishment = make_establishment(app)
    client, _admin = admin_client(app)

    response = client.post(NEW, data=account_form(client, establishment=str(establishment.id)))
    assert response.status_code == 302, response.get_data(as_text=True)
    user_id = uuid.UUID(response.location.rstrip("/").rsplit("/", 1)[-1])

    with app.app_context():
        db = db_session()
        user = db.get(User, user_id)
        assert user is not None
        assert user.role == Role.PERSON and user.status == AccountStatus.PENDING
        assert user.display_name == "Inès Béranger"
        assert user.establishment_id == establishment.id
        profile = db.get(PersonProfile, user_id)
        assert profile is not None and profile.prison_number == "A-12345"
        username = user.username

    page = client.get(f"/admin/comptes/{user_id}")
    html = page.get_data(as_text=True)
    sheet_url = f"/admin/comptes/{user_id}/feuille-activation.pdf"
    assert page.status_code == 200 and sheet_url in html
    assert not CODE.search(html), "the code is printed, never shown on screen"

    sheet = client.get(sheet_url)
    assert sheet.status_code == 200
    assert sheet.content_type == "application/pdf"
    assert sheet.data.startswith(b"%PDF")
    assert sheet.headers["Cache-Control"] == "no-store"
    text = pdf_text(sheet.data)
    assert username in text
    match = CODE.search(text)
    assert match, text
    assert activates(app, username, match.group(1))

    # The account list shows it, with its status and prison number.
    listing = client.get("/admin/").get_data(as_text=True)
    assert "Inès Béranger" in listing and "A-12345" in listing and "badge-pending" in listing


def session_pending(app: Flask, client: FlaskClient, data: dict[str, Any] | None = None) -> Any:
    """Read (or first replace) the pending secrets of `client`'s server session."""
    with client.session_transaction() as cookie:
        ticket = SessionTicket(cookie["t"], base64.b64decode(cookie["k"]))
    with app.app_context():
        db = db_session()
        opened = sessions.resume(db, ticket)
        assert opened is not None
        if data is not None:
            sessions.set_pending(opened.row, ticket, data)
            db.commit()
        return sessions.get_pending(opened.row, ticket)


def test_codes_are_kept_next_to_other_pending_secrets(app: Flask) -> None:
    client, _admin = admin_client(app)
    # The administrator's own recovery code, not yet printed, must survive.
    session_pending(app, client, {"recovery_code": "1111 2222"})
    ids = []
    for first in ("Paul", "Zoé"):
        response = client.post(NEW, data=account_form(client, first_name=first))
        assert response.status_code == 302
        ids.append(response.location.rstrip("/").rsplit("/", 1)[-1])
    pending = session_pending(app, client)
    assert pending["recovery_code"] == "1111 2222"
    assert set(pending["sheets"]) == set(ids)
    for user_id in ids:
        sheet = client.get(f"/admin/comptes/{user_id}/feuille-activation.pdf")
        assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")


def test_counsellor_account_ignores_person_fields(app: Flask) -> None:
    client, _admin = admin_client(app)
    response = client.post(
        NEW, data=account_form(client, role="counsellor", first_name="Claire", last_name="CPIP")
    )
    assert response.status_code == 302
    with app.app_context():
        user = db_session().execute(select(User).where(User.username == "claire.cpip")).scalar_one()
        assert user.role == Role.COUNSELLOR and user.profile is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"establishment": str(uuid.uuid4())}, "establishment"),
        ({"establishment": "not-a-uuid"}, "establishment"),
        ({"establishment": ""}, "establishment"),  # a person, and establishments exist
        ({"birth_date": "2020-13-45"}, "birth_date"),
        ({"birth_date": "1850-01-01"}, "birth_date"),
        ({"first_name": "x" * 300}, "first_name"),
        ({"last_name": "   "}, "last_name"),
        ({"role": "superuser"}, "role"),
        ({"locale": "xx"}, "locale"),
    ],
)
def test_bad_account_input_writes_nothing(app: Flask, fields: dict[str, str], field: str) -> None:
    establishment = make_establishment(app)  # a person then needs one
    client, _admin = admin_client(app)
    before = count_users(app)
    data = account_form(client, establishment=str(establishment.id))
    response = client.post(NEW, data={**data, **fields})
    assert response.status_code == 400
    # The message sits next to its field (its wording is the catalogue's).
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count_users(app) == before


def test_the_persons_language_is_chosen_at_creation_and_prints_their_sheet(app: Flask) -> None:
    client, _admin = admin_client(app)
    form = client.get(NEW).get_data(as_text=True)
    # Every registered language, each in its own name; French chosen unless changed.
    options = re.findall(r'<option (selected )?value="(\w+)">([^<]*)</option>', form)
    languages = [(code, name) for _selected, code, name in options if code in CODES]
    assert languages == [(language.code, language.name) for language in LANGUAGES]
    assert ("selected ", "fr", "Français") in options
    ids = {}
    for first, locale in (("Youssef", "ar"), ("Ivan", "ru"), ("Léa", "fr")):
        response = client.post(NEW, data=account_form(client, first_name=first, locale=locale))
        assert response.status_code == 302
        ids[locale] = uuid.UUID(response.location.rstrip("/").rsplit("/", 1)[-1])
    with app.app_context():
        db = db_session()
        assert {code: db.get(User, uid).locale for code, uid in ids.items()} == {  # type: ignore[union-attr]
            "ar": "ar",
            "ru": "ru",
            "fr": "fr",
        }
    # The sheet follows: in the person's language and French, or French alone.
    french = pdf_text(client.get(f"/admin/comptes/{ids['fr']}/feuille-activation.pdf").data)
    arabic = pdf_text(client.get(f"/admin/comptes/{ids['ar']}/feuille-activation.pdf").data)
    russian = pdf_text(client.get(f"/admin/comptes/{ids['ru']}/feuille-activation.pdf").data)
    assert "Feuille d'activation" in french and "Feuille d'activation" in arabic
    assert re.search("[\u0600-\u06ff]", arabic) and not re.search("[\u0600-\u06ff]", french)
    assert re.search("[\u0400-\u04ff]", russian) and not re.search("[\u0400-\u04ff]", french)


def test_search_by_name_username_and_prison_number(app: Flask) -> None:
    client, _admin = admin_client(app)
    open_pending(app, Role.PERSON, "Karim", "Benali", prison_number="Z-777")
    open_pending(app, Role.PERSON, "Lucie", "Moreau", prison_number="Y-888")

    for query in ("benali", "Karim", "karim.benali", "Z-77"):
        html = client.get("/admin/", query_string={"q": query}).get_data(as_text=True)
        assert "Karim Benali" in html and "Lucie Moreau" not in html, query
    # LIKE wildcards are matched literally.
    html = client.get("/admin/", query_string={"q": "%"}).get_data(as_text=True)
    assert "Karim Benali" not in html
    html = client.get("/admin/").get_data(as_text=True)
    assert "Karim Benali" in html and "Lucie Moreau" in html and "/admin/comptes/nouveau" in html


def test_a_name_is_found_by_its_words_in_any_order_the_last_one_begun(app: Flask) -> None:
    """vault.accounts.search (D-202), on each database: the same rule, PostgreSQL's index."""
    client, _admin = admin_client(app)
    open_pending(app, Role.PERSON, "Jean-Pierre", "N'Diaye")
    open_pending(app, Role.PERSON, "Élodie", "Martin")
    open_pending(app, Role.PERSON, "Camille", "Martinez")

    def found(query: str) -> set[str]:
        html = client.get("/admin/", query_string={"q": query}).get_data(as_text=True)
        names = ("Jean-Pierre N&#39;Diaye", "Élodie Martin", "Camille Martinez")
        return {name.replace("&#39;", "'") for name in names if name in html}

    assert found("Martin") == {"Élodie Martin", "Camille Martinez"}
    # Whole words in any order, the last one typed only begun: what no
    # username contains.
    assert found("Martin Élodie") == {"Élodie Martin"}
    assert found("martinez cam") == {"Camille Martinez"}
    assert found("marti cam") == set()
    # A hyphen or an apostrophe separates words, typed or not.
    assert found("Pierre Jean") == {"Jean-Pierre N'Diaye"}
    assert found("Diaye") == found("N'Diaye") == found("n diaye") == {"Jean-Pierre N'Diaye"}
    assert found("Martin Pierre") == set()
    # Characters that mean something to a text-search query are only separators.
    assert found("Martin & !Élodie") == {"Élodie Martin"}
    assert found("':*|") == set()


def test_reissue_gives_a_new_code_and_retires_the_old_one(app: Flask) -> None:
    client, _admin = admin_client(app)
    pending = open_pending(app, Role.PERSON, "Sami", "Roux")
    user_id = pending.user.id
    base = f"/admin/comptes/{user_id}"

    # Opened elsewhere: no code in this session, so no sheet but a new-code button.
    html = client.get(base).get_data(as_text=True)
    assert f"{base}/nouveau-code" in html and "feuille-activation.pdf" not in html
    assert client.get(f"{base}/feuille-activation.pdf").status_code == 404

    response = client.post(f"{base}/nouveau-code", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 302
    sheet = client.get(f"{base}/feuille-activation.pdf")
    assert sheet.status_code == 200
    match = CODE.search(pdf_text(sheet.data))
    assert match
    assert not activates(app, pending.user.username, pending.activation_code)
    assert activates(app, pending.user.username, match.group(1))


def test_reissue_refuses_an_active_account(app: Flask) -> None:
    client, _admin = admin_client(app)
    person = make_account(app, Role.PERSON, "Lina", "Petit")
    base = f"/admin/comptes/{person.user.id}"
    html = client.get(base).get_data(as_text=True)
    assert "nouveau-code" not in html and "badge-active" in html
    response = client.post(f"{base}/nouveau-code", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 302
    with app.app_context():
        user = db_session().get(User, person.user.id)
        assert user is not None and user.status == AccountStatus.ACTIVE
    assert client.get(f"{base}/feuille-activation.pdf").status_code == 404


def test_an_administrator_cannot_open_a_recovery_officer(app: Flask) -> None:
    """Two officers must be two people: one administrator could open both for themselves."""
    client, _admin = admin_client(app)
    form = client.get(NEW).get_data(as_text=True)
    assert 'value="recovery_officer"' not in form
    before = count_users(app)
    response = client.post(
        NEW, data=account_form(client, role="recovery_officer", first_name="Odile")
    )
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "vault recovery create-officer" in page
    assert count_users(app) == before
    with app.app_context():
        officers = select(User).where(User.role == Role.RECOVERY_OFFICER)
        assert db_session().execute(officers).first() is None


def test_an_administrator_cannot_give_a_recovery_officer_a_new_code(app: Flask) -> None:
    """A new code would let an administrator activate an officer opened by the operator."""
    client, _admin = admin_client(app)
    pending = open_pending(app, Role.RECOVERY_OFFICER, "Omar", "Agent")
    base = f"/admin/comptes/{pending.user.id}"
    assert f"{base}/nouveau-code" not in client.get(base).get_data(as_text=True)
    response = client.post(f"{base}/nouveau-code", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 302
    assert client.get(f"{base}/feuille-activation.pdf").status_code == 404
    assert activates(app, pending.user.username, pending.activation_code)


def test_establishments_add_and_refuse_duplicates(app: Flask) -> None:
    client, _admin = admin_client(app)
    path = "/admin/etablissements"

    def names() -> list[str]:
        with app.app_context():
            return list(db_session().execute(select(Establishment.name)).scalars())

    response = client.post(
        path, data={"name": "  Maison d'arrêt   de Lyon ", "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 302
    assert names() == ["Maison d'arrêt de Lyon"]
    assert "Maison d&#39;arrêt de Lyon" in client.get(path).get_data(as_text=True)

    for bad in ("maison d'arrêt de lyon", "x" * 300, "   "):
        response = client.post(path, data={"name": bad, "csrf_token": csrf_token(client, path)})
        assert response.status_code == 400, bad
        assert 'id="name-error"' in response.get_data(as_text=True)
    assert names() == ["Maison d'arrêt de Lyon"]


ADMIN_PAGES = [
    ("GET", "/admin/"),
    ("GET", NEW),
    ("POST", NEW),
    ("GET", "/admin/etablissements"),
    ("POST", "/admin/etablissements"),
]


def user_pages(user_id: uuid.UUID) -> list[tuple[str, str]]:
    base = f"/admin/comptes/{user_id}"
    return [
        ("GET", base),
        ("POST", f"{base}/nouveau-code"),
        ("GET", f"{base}/feuille-activation.pdf"),
    ]


@pytest.mark.parametrize("role", [Role.PERSON, Role.COUNSELLOR])
def test_other_roles_are_refused(app: Flask, role: Role) -> None:
    account = make_account(app, role, "Eve", "Curieuse")
    target = open_pending(app, Role.PERSON, "Noé", "Cible")
    client = signed_in(app, account)
    for method, path in ADMIN_PAGES + user_pages(target.user.id):
        # A valid CSRF token, so that the answer is the role check's.
        data = {"csrf_token": csrf_token(client, "/compte/")} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert response.status_code == 403, (method, path)


def test_anonymous_is_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    for method, path in ADMIN_PAGES + user_pages(uuid.uuid4()):
        if method == "POST":
            continue  # refused earlier, by the CSRF check
        response = client.open(path, method=method)
        assert response.status_code == 302, path
        assert response.location.endswith("/connexion")


def test_unknown_account_is_404(app: Flask) -> None:
    client, _admin = admin_client(app)
    for method, path in user_pages(uuid.uuid4()):
        data = {"csrf_token": csrf_token(client, "/admin/")} if method == "POST" else None
        assert client.open(path, method=method, data=data).status_code == 404, path


def test_posts_without_csrf_token_are_refused(app: Flask) -> None:
    client, _admin = admin_client(app)
    pending = open_pending(app, Role.PERSON, "Jade", "Lenoir")
    before = count_users(app)
    assert client.post("/admin/etablissements", data={"name": "Sans jeton"}).status_code == 400
    assert (
        client.post(NEW, data={"role": "person", "first_name": "A", "last_name": "B"}).status_code
        == 400
    )
    assert client.post(f"/admin/comptes/{pending.user.id}/nouveau-code").status_code == 400
    assert count_users(app) == before
    with app.app_context():
        assert db_session().execute(select(Establishment.id)).first() is None
