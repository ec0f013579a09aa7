"""The administrators' intake page: upload, report, sheets; and the overview page's counts."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import csrf_token, make_account, make_document, make_establishment, signed_in
from tests.helpers import pdf_pages_text, text_of
from tests.integration.intake.files import PLACE
from vault.core.db import db_session
from vault.models import PersonProfile, Role, User

LIST = (
    "action;numero_ecrou;etablissement;nom;prenom;date_naissance\n"
    f"arrivee;501;{PLACE};Lefèvre;Anaïs;12/05/1991\n"
    f"arrivee;502;{PLACE};Moreau;Yanis;\n"
    f"arrivee;503;{PLACE};;Sans Nom;\n"
    f"sortie;999;{PLACE};;;\n"
)


def _upload(client: FlaskClient, data: bytes, *, dry_run: bool = False, token: str | None = None):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {"csrf_token": token or csrf_token(client, "/admin/import/")}
    if dry_run:
        fields["dry_run"] = "1"
    fields["file"] = (io.BytesIO(data), "liste.csv", "text/csv")
    return client.post("/admin/import/", data=fields, content_type="multipart/form-data")


def _people(app: Flask) -> int:
    with app.app_context():
        return db_session().execute(select(func.count()).select_from(PersonProfile)).scalar_one()


def test_upload_imports_reports_in_french_and_prints_the_sheets(app: Flask) -> None:
    make_establishment(app, PLACE)
    admin = signed_in(app, make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"))
    assert admin.get("/admin/import/feuilles-activation.pdf").status_code == 404

    checked = _upload(admin, LIST.encode(), dry_run=True)
    assert checked.status_code == 200
    page = text_of(checked)
    assert "Vérification seule : rien n'a été modifié" in page
    assert "Le nom est manquant." in page
    assert _people(app) == 0

    done = _upload(admin, LIST.encode())
    assert done.status_code == 200
    page = text_of(done)
    assert "Comptes ouverts : 2" in page and "Refusées : 2" in page
    assert "Le nom est manquant." in page
    assert "La date de sortie est manquante." in page
    assert _people(app) == 2

    sheets = admin.get("/admin/import/feuilles-activation.pdf")
    assert sheets.status_code == 200
    assert sheets.headers["Cache-Control"].startswith("no-store")
    pages = pdf_pages_text(sheets.data)
    assert len(pages) == 2
    assert "Anaïs Lefèvre" in pages[0] and "Yanis Moreau" in pages[1]

    again = text_of(_upload(admin, LIST.encode()))
    assert "Comptes ouverts : 0" in again and "Inchangées : 2" in again
    assert _people(app) == 2


def test_the_language_column_sets_each_persons_language_and_sheet(app: Flask) -> None:
    make_establishment(app, PLACE)
    admin = signed_in(app, make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"))
    data = (
        "action;numero_ecrou;etablissement;nom;prenom;langue\n"
        f"arrivee;601;{PLACE};Benali;Samir;ar\n"
        f"arrivee;602;{PLACE};Petrov;Ivan;russe\n"
        f"arrivee;603;{PLACE};Martin;Léa;\n"
        f"arrivee;604;{PLACE};Kapanadze;Nino;géorgien\n"
    ).encode()
    page = text_of(_upload(admin, data))
    assert "Comptes ouverts : 3" in page and "Refusées : 1" in page
    # The refusal names the accepted codes, in French.
    assert "Cette langue n'est pas connue" in page and "fr, ar, en, es, ro, pt, ru" in page
    with app.app_context():
        rows = db_session().execute(
            select(PersonProfile.last_name, User.locale).join(
                User, User.id == PersonProfile.user_id
            )
        )
        assert {name: locale for name, locale in rows} == {
            "Benali": "ar",
            "Petrov": "ru",
            "Martin": None,
        }
    pages = pdf_pages_text(admin.get("/admin/import/feuilles-activation.pdf").data)
    assert len(pages) == 3
    # One page each, in that person's language and French; Léa's in French alone.
    arabic = re.compile("[\u0600-\u06ff]")
    cyrillic = re.compile("[\u0400-\u04ff]")
    by_name = {
        name: text for text in pages for name in ("Benali", "Petrov", "Martin") if name in text
    }
    assert arabic.search(by_name["Benali"]) and not cyrillic.search(by_name["Benali"])
    assert cyrillic.search(by_name["Petrov"]) and not arabic.search(by_name["Petrov"])
    assert not arabic.search(by_name["Martin"]) and not cyrillic.search(by_name["Martin"])
    assert all("Feuille d'activation" in text for text in pages)
    # A person already known keeps their language, whatever a later file says.
    again = text_of(_upload(admin, data.replace(b"Samir;ar", b"Samir;en")))
    assert "Inchangées : 3" in again
    with app.app_context():
        locale = db_session().execute(
            select(User.locale)
            .join(PersonProfile, User.id == PersonProfile.user_id)
            .where(PersonProfile.last_name == "Benali")
        )
        assert locale.scalar_one() == "ar"


def test_bad_files_get_a_french_message_and_change_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small limit: a body of megabytes would be spooled to a temporary file by the test client.
    monkeypatch.setattr("vault.intake.views.MAX_BYTES", 64 * 1024)
    make_establishment(app, PLACE)
    admin = signed_in(app, make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"))
    latin = _upload(admin, "action;numero_ecrou;etablissement\narrivée;1;X\n".encode("latin-1"))
    assert latin.status_code == 400
    assert "Le fichier n'est pas en UTF-8" in text_of(latin)
    empty = _upload(admin, b"")
    assert empty.status_code == 400 and "Le fichier est vide." in text_of(empty)
    big = _upload(admin, b"action;numero_ecrou;etablissement\n" + b"x" * (64 * 1024))
    assert big.status_code == 413 and "trop gros" in text_of(big)
    forged = _upload(admin, LIST.encode(), token="forged")
    assert forged.status_code == 400
    assert _people(app) == 0


CANARY = "Zzcanary"


def test_overview_counts_and_says_nothing_about_a_person(app: Flask) -> None:
    make_establishment(app, PLACE)
    person = make_account(
        app, first=f"{CANARY}first", last=f"{CANARY}last", prison_number=f"{CANARY}num"
    )
    make_document(app, person, title=f"{CANARY}title")
    admin = signed_in(app, make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"))
    response = admin.get("/admin/tableau-de-bord/")
    assert response.status_code == 200
    page = text_of(response)
    assert CANARY.lower() not in page.lower()
    assert person.username not in page and str(person.user.id) not in page
    assert "Tâches planifiées" in page and "Jamais" in page
    assert "vaults used this month" not in page  # translated
