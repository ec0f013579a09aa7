"""The app answers in French, with strict security headers, and fails kindly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.services import free_port
from vault.core.security import CONTENT_SECURITY_POLICY


def test_home_page_is_french(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Vos papiers en sécurité, où que vous soyez" in page
    assert "Coffre-fort numérique" in page


def test_the_home_page_is_a_front_door_to_sign_in_and_activation(client: FlaskClient) -> None:
    """A newcomer need not know /connexion or /activer: two buttons lead there."""
    page = client.get("/").get_data(as_text=True)
    assert 'href="/connexion"' in page and "Ouvrir mon coffre" in page
    assert 'href="/activer"' in page and "Première fois ? Activer mon coffre" in page
    for path in ("/connexion", "/activer"):
        assert client.get(path).status_code == 200


def test_security_headers_on_every_page(client: FlaskClient) -> None:
    for path in ("/", "/missing-page"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script_or_style(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page and "<style" not in page and "style=" not in page


def test_unknown_page_is_a_french_404(client: FlaskClient) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_wrong_method_is_a_french_405(client: FlaskClient) -> None:
    response = client.post("/health")
    assert response.status_code in (400, 405)  # CSRF may answer first: either way, no trace
    assert "Traceback" not in response.get_data(as_text=True)


def test_health_checks_database_and_store(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"


def test_production_cookie_is_host_prefixed_and_secure(make_app: Callable[..., Flask]) -> None:
    app = make_app(env="production")
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-vault"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_unexpected_error_is_a_french_500_without_traceback(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Erreur du service" in page
    assert "secret detail" not in page and "Traceback" not in page


@pytest.mark.parametrize("status", [400, 403, 413, 429])
def test_every_error_status_has_a_french_page(app: Flask, status: int) -> None:
    from flask import abort

    @app.get("/status")
    def raise_status() -> str:
        abort(status)

    response = app.test_client().get("/status")
    assert response.status_code == status
    assert '<html lang="fr" dir="ltr">' in response.get_data(as_text=True)


def test_unreachable_s3_answers_a_french_503_page(make_app: Callable[..., Flask]) -> None:
    port = free_port()
    url = f"s3://probe:probesecret@127.0.0.1:{port}/vault?secure=false"
    broken = make_app(storage_url=url)
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Service momentanément indisponible" in page
    assert "probesecret" not in page and "Traceback" not in page


def test_unreachable_database_answers_a_french_503_page(make_app: Callable[..., Flask]) -> None:
    port = free_port()
    url = f"postgresql+psycopg://nobody:dbsecret@127.0.0.1:{port}/vault"
    broken = make_app(database_url=url)
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Service momentanément indisponible" in page
    assert "dbsecret" not in page
