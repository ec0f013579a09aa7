"""Choosing the interface language (vault.core.locale, the switcher in every page's header).

Order: the account's choice, the device's cookie, Accept-Language, French.
English is used where a test must read the page's words: its catalogue is
the English source itself, so the assertion holds with or without the
catalogue; Arabic is checked through `<html lang dir>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from tests.factories import Account, csrf_token, make_account, open_pending, sign_in, signed_in
from tests.helpers import text_of
from vault.accounts import sessions
from vault.core.db import db_session, get_database
from vault.core.languages import LANGUAGES
from vault.models import Role, User

KIOSK_NET = "10.20.0.0/16"
KIOSK = "10.20.3.4"
# "__Host-vault-lang" in production: tests/browser/test_production.py, the switcher.
COOKIE = "vault-lang"


def html_tag(client: FlaskClient, path: str = "/connexion", **kwargs: object) -> str:
    page = client.get(path, **kwargs).get_data(as_text=True)  # type: ignore[arg-type]
    match = re.search(r"<html[^>]*>", page)
    assert match, page[:200]
    return match.group(0)


def choose(client: FlaskClient, lang: str, next_path: str = "/connexion", page: str = "/connexion"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, page)
    return client.post("/langue", data={"csrf_token": token, "lang": lang, "next": next_path})


def stored_locale(app: Flask, account: Account) -> str | None:
    with app.app_context():
        user = db_session().get(User, account.user.id)
        assert user is not None
        return user.locale


def test_french_by_default_with_every_language_offered_in_its_own_script(
    client: FlaskClient,
) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Se connecter" in page
    for language in LANGUAGES:
        button = (
            f'<button type="submit" name="lang" value="{language.code}" '
            f'lang="{language.code}" dir="{language.direction}"'
        )
        assert button in page, language.code
        assert f">{language.name}</button>" in page
    assert 'dir="rtl"' in page  # Arabic's own label, right to left
    assert 'action="/langue"' in page and 'name="next" value="/connexion"' in page


def test_accept_language_is_the_first_guess(client: FlaskClient) -> None:
    assert html_tag(client, headers={"Accept-Language": "ar-MA,ar;q=0.9,fr;q=0.5"}) == (
        '<html lang="ar" dir="rtl">'
    )
    assert html_tag(client, headers={"Accept-Language": "pt-BR"}) == '<html lang="pt" dir="ltr">'
    assert html_tag(client, headers={"Accept-Language": "ru;q=0.4, es;q=0.8"}) == (
        '<html lang="es" dir="ltr">'
    )
    # Nothing in the registry (Albanian, Georgian for now): French.
    assert html_tag(client, headers={"Accept-Language": "sq, ka;q=0.5"}) == (
        '<html lang="fr" dir="ltr">'
    )


def test_the_switcher_changes_the_language_before_sign_in(client: FlaskClient) -> None:
    response = choose(client, "en", "/activer?x=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/activer?x=1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=en;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=31536000" in cookie  # a year on a person's own device
    page = text_of(client.get("/connexion"))
    assert '<html lang="en" dir="ltr">' in page
    assert "Sign in" in page and "Se connecter" not in page
    # The device's choice beats the browser's guess.
    assert html_tag(client, headers={"Accept-Language": "ru"}) == '<html lang="en" dir="ltr">'
    choose(client, "ar")
    assert html_tag(client) == '<html lang="ar" dir="rtl">'


def test_after_sign_in_the_choice_is_stored_and_follows_the_person(app: Flask) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    assert stored_locale(app, account) is None
    assert html_tag(client, "/documents/") == '<html lang="fr" dir="ltr">'
    response = choose(client, "en", "/documents/", page="/documents/")
    assert response.status_code == 303 and response.headers["Location"] == "/documents/"
    assert stored_locale(app, account) == "en"
    page = text_of(client.get("/documents/"))
    assert '<html lang="en" dir="ltr">' in page and "My documents" in page
    # Another device, whose browser asks for Russian and which has no choice of
    # its own: the account's language once signed in.
    other = app.test_client()
    other.set_cookie(COOKIE, "ar")  # even a device choice loses to the account's
    assert html_tag(other, headers={"Accept-Language": "ru"}) == '<html lang="ar" dir="rtl">'
    other_signed = signed_in(app, account)
    assert html_tag(other_signed, "/documents/", headers={"Accept-Language": "ru"}) == (
        '<html lang="en" dir="ltr">'
    )


def test_a_device_choice_made_before_sign_in_goes_to_an_account_without_one(app: Flask) -> None:
    account = make_account(app)
    client = app.test_client()
    choose(client, "ar")
    response = sign_in(client, account)
    assert response.status_code == 302
    assert stored_locale(app, account) == "ar"
    assert html_tag(client, "/documents/") == '<html lang="ar" dir="rtl">'


def test_the_account_choice_wins_over_the_device_at_sign_in(app: Flask) -> None:
    account = make_account(app)
    with app.app_context():
        db = db_session()
        user = db.get(User, account.user.id)
        assert user is not None
        user.locale = "ru"
        db.commit()
    client = app.test_client()
    choose(client, "es")
    response = sign_in(client, account)
    assert stored_locale(app, account) == "ru"  # not overwritten by the device
    # The person's own device now greets them in Russian even once signed out.
    assert any(c.startswith(f"{COOKIE}=ru;") for c in response.headers.getlist("Set-Cookie"))
    assert html_tag(client, "/documents/") == '<html lang="ru" dir="ltr">'


def test_activation_takes_the_device_choice(app: Flask) -> None:
    new = open_pending(app)
    client = app.test_client()
    choose(client, "ro", "/activer", page="/activer")
    response = client.post(
        "/activer",
        data={
            "username": new.user.username,
            "code": new.activation_code,
            "csrf_token": csrf_token(client, "/activer"),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db_session().get(User, new.user.id)
        assert user is not None and user.locale == "ro"


def test_staff_pages_follow_the_staff_members_own_choice(app: Flask) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    client = signed_in(app, admin)
    choose(client, "en", "/admin/", page="/admin/")
    page = text_of(client.get("/admin/"))
    assert '<html lang="en" dir="ltr">' in page and "Accounts" in page
    assert stored_locale(app, admin) == "en"


@pytest.mark.parametrize("lang", ["xx", "", "AR", "ar-MA", "fr_FR", "../fr", "ar\n"])
def test_an_unknown_language_is_refused_and_changes_nothing(app: Flask, lang: str) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    response = choose(client, lang, "/documents/", page="/documents/")
    assert response.status_code == 400
    page = text_of(response)
    assert "Cette langue n'est pas proposée. Rien n'a changé." in page
    assert COOKIE not in " ".join(response.headers.getlist("Set-Cookie"))
    assert stored_locale(app, account) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/documents/\r\nLocation: https://evil.example/",
        " /documents/",
    ],
)
def test_an_off_site_next_is_refused_and_changes_nothing(app: Flask, target: str) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    response = choose(client, "en", target, page="/documents/")
    assert response.status_code == 400
    assert "Cette adresse n'est pas une page du coffre. Rien n'a changé." in text_of(response)
    assert "Location" not in response.headers
    assert COOKIE not in " ".join(response.headers.getlist("Set-Cookie"))
    assert stored_locale(app, account) is None
    assert html_tag(client, "/documents/") == '<html lang="fr" dir="ltr">'


def test_without_a_valid_csrf_token_nothing_changes(client: FlaskClient) -> None:
    client.get("/connexion")
    response = client.post("/langue", data={"lang": "en", "next": "/"})
    assert response.status_code == 400
    assert COOKIE not in " ".join(response.headers.getlist("Set-Cookie"))


def test_error_pages_carry_the_switcher_and_come_back_to_themselves(client: FlaskClient) -> None:
    page = client.get("/nulle-part?a=1").get_data(as_text=True)
    assert 'action="/langue"' in page
    assert 'name="next" value="/nulle-part?a=1"' in page
    # An address that would read as another site is not offered back.
    response = client.get("/", environ_overrides={"PATH_INFO": "//evil.example/x"})
    assert response.status_code == 404
    offered = re.search(r'name="next" value="([^"]*)"', response.get_data(as_text=True))
    assert offered and offered.group(1).startswith("/") and not offered.group(1).startswith("//")


@pytest.fixture
def kiosk_app(make_app: Callable[..., Flask], database_url: str, connection: Connection) -> Flask:
    app = make_app(database_url=database_url, kiosk_networks=(KIOSK_NET,), kiosk_idle_minutes=10)
    get_database(app).bind_to(connection)
    return app


def test_a_kiosk_keeps_the_choice_for_the_visit_only(kiosk_app: Flask) -> None:
    """D-151: on a shared terminal the choice lasts the idle time and ends at sign-out."""
    account = make_account(kiosk_app)
    client = kiosk_app.test_client()
    client.environ_base["REMOTE_ADDR"] = KIOSK
    response = choose(client, "ar")
    assert "Max-Age=600" in response.headers["Set-Cookie"]
    response = sign_in(client, account)
    assert response.status_code == 302
    assert stored_locale(kiosk_app, account) == "ar"
    assert COOKIE not in " ".join(
        response.headers.getlist("Set-Cookie")
    )  # not rewritten at sign-in
    assert html_tag(client, "/documents/") == '<html lang="ar" dir="rtl">'
    response = client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/documents/")})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith(f"{COOKIE}=;") and "Max-Age=0" in c for c in cookies), cookies
    # The next person finds the kiosk in French.
    assert html_tag(client) == '<html lang="fr" dir="ltr">'


def test_sign_out_on_a_personal_device_keeps_the_choice(app: Flask) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    choose(client, "es", "/documents/", page="/documents/")
    response = client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/documents/")})
    assert COOKIE not in " ".join(response.headers.getlist("Set-Cookie"))
    assert html_tag(client) == '<html lang="es" dir="ltr">'


def test_a_kiosk_session_that_ends_takes_its_language_with_it(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    client = kiosk_app.test_client()
    client.environ_base["REMOTE_ADDR"] = KIOSK
    choose(client, "ru")
    sign_in(client, account)
    with kiosk_app.app_context():
        db = db_session()
        sessions.end_all(db, account.user.id)  # as the idle timeout would
        db.commit()
    response = client.get("/documents/")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith(f"{COOKIE}=;") and "Max-Age=0" in c for c in cookies), cookies
    assert html_tag(client) == '<html lang="fr" dir="ltr">'
