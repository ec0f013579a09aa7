"""The CV builder through HTTP, on SQLite and PostgreSQL: steps, drafts, the PDF."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import Account, csrf_token, make_account, signed_in
from tests.helpers import pdf_text, text_of
from tests.integration.cv.steps import CV, make_pdf, post_step, write_cv
from vault.core.db import db_session
from vault.models import CvDraft, Document, DocumentVersion, Role, User
from vault.sharing import service as sharing


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app, first="Karim", last="Benali")


@pytest.fixture
def client(app: Flask, person: Account) -> FlaskClient:
    return signed_in(app, person)


def document_of(app: Flask, location: str) -> Document:
    match = re.search(r"/documents/([0-9a-f-]{36})$", location)
    assert match, location
    with app.app_context():
        document = db_session().get(Document, uuid.UUID(match.group(1)))
        assert document is not None
        db_session().expunge(document)
        return document


def test_each_step_asks_one_question_with_an_example_and_a_pictogram(client: FlaskClient) -> None:
    page = text_of(client.get("/cv/etape/identite"))
    assert "Étape 1 sur 9" in page
    assert "Qui êtes-vous, et comment un employeur peut-il vous joindre" in page
    assert "Exemple : Karim Benali" in page
    assert 'class="icon icon-user"' in page
    # The step says why no prison address.
    assert "Jamais l'adresse de la prison" in page
    experience = text_of(client.get("/cv/etape/experience"))
    assert "sans nommer l'établissement" in experience
    assert "« Atelier de production, 2024–2025 »" in experience


def test_the_draft_is_saved_at_each_step_and_resumed(
    app: Flask, person: Account, client: FlaskClient
) -> None:
    assert (
        post_step(client, "identite", CV["identite"])
        .headers["Location"]
        .endswith("/cv/etape/emploi")
    )
    response = post_step(client, "emploi", CV["emploi"], action="leave")
    assert response.headers["Location"].endswith("/cv/")
    # Signed out and in again: the answers are there and the index resumes at step 3.
    again = signed_in(app, person)
    index = text_of(again.get("/cv/"))
    assert "Continuer mon CV" in index
    assert "/cv/etape/experience" in index
    assert 'value="Commis de cuisine"' in text_of(again.get("/cv/etape/emploi"))
    assert 'value="karim.benali@exemple.fr"' in text_of(again.get("/cv/etape/identite"))


def test_repeated_items_are_added_and_removed_without_script(client: FlaskClient) -> None:
    first = CV["experience"]
    response = post_step(client, "experience", first, action="add")
    assert response.headers["Location"].endswith("/cv/etape/experience#items")
    page = text_of(client.get("/cv/etape/experience"))
    assert "Expérience 2" in page and 'name="items-1-title"' in page
    two = {
        **first,
        "items-1-title": "Plongeur",
        "items-1-place": "Service général",
        "items-1-dates": "2023",
    }
    post_step(client, "experience", two, action="add")
    page = text_of(client.get("/cv/etape/experience"))
    assert 'value="Plongeur"' in page and "Expérience 3" in page
    # Removing the first keeps the second (and drops the blank third).
    post_step(client, "experience", two, action="remove-0")
    page = text_of(client.get("/cv/etape/experience"))
    assert 'value="Plongeur"' in page
    assert "Agent de conditionnement" not in page
    assert "Expérience 2" not in page


@pytest.mark.parametrize(
    ("slug", "data", "message"),
    [
        ("identite", {"first_name": "Karim", "last_name": ""}, "Remplissez cette case."),
        (
            "identite",
            {"first_name": "Karim", "last_name": "B", "town": "Maison d'arrêt de Lyon-Corbas"},
            "Ne nommez pas la prison",
        ),
        (
            "identite",
            {"first_name": "Karim", "last_name": "B", "email": "pas-une-adresse"},
            "Écrivez une adresse e-mail",
        ),
        (
            "identite",
            {"first_name": "Karim", "last_name": "B", "phone": "appelez-moi"},
            "Écrivez un numéro de téléphone",
        ),
        (
            "experience",
            {"items-0-title": "Cuisinier", "items-0-place": "Centre pénitentiaire de Meaux"},
            "Ne nommez pas la prison",
        ),
        ("experience", {"items-0-place": "Atelier", "items-0-dates": "2024"}, "Écrivez le poste"),
        ("emploi", {"title": "x" * 121}, "C'est trop long : 120 caractères au plus."),
        (
            "langues",
            {"items-0-language": "Anglais", "items-0-level": "Z9"},
            "Choisissez dans la liste.",
        ),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_saved(
    app: Flask, client: FlaskClient, slug: str, data: dict[str, str], message: str
) -> None:
    response = post_step(client, slug, data)
    assert response.status_code == 400
    page = text_of(response)
    # Under its field, tied to it (docs/decisions.md D-081): <p class="error" id="…-error">.
    assert re.search(
        r'<p class="error" id="[\w-]+-error">[^<]*(<svg.*?</svg>)?\s*<span>' + re.escape(message),
        page,
        re.S,
    ), page
    assert "Vérifiez les champs signalés plus bas." in page
    with app.app_context():
        assert db_session().execute(select(CvDraft)).first() is None


def test_the_pdf_holds_what_was_typed_and_each_pdf_is_a_new_version(
    app: Flask, client: FlaskClient
) -> None:
    write_cv(client)
    response = make_pdf(client, template="columns")
    assert response.status_code == 302
    document = document_of(app, response.headers["Location"])
    assert (document.category, document.doc_type, document.current_version) == ("work", "cv", 1)
    shown = text_of(client.get(response.headers["Location"]))
    assert "CV – Commis de cuisine" in shown
    pdf = client.get(response.headers["Location"] + "/telecharger").data
    text = pdf_text(pdf)
    for typed in (
        "Karim Benali",
        "Commis de cuisine",
        "Atelier de production",
        "CAP Cuisine",
        "Cuisine",
        "Travail en équipe",
        "Couture",
        "Arabe",
        "Langue maternelle",
        "Permis voiture (B)",
        "Football en club",
        "karim.benali@exemple.fr",
    ):
        assert typed in text.replace("\r", ""), typed
    assert "COMPÉTENCES" in text
    # Edited later, made again: a new version of the same document.
    post_step(client, "emploi", {"title": "Cuisinier"})
    again = make_pdf(client, labels="en")
    assert again.headers["Location"] == response.headers["Location"]
    with app.app_context():
        versions = (
            db_session()
            .execute(
                select(DocumentVersion.version).where(DocumentVersion.document_id == document.id)
            )
            .scalars()
            .all()
        )
    assert sorted(versions) == [1, 2]
    second = pdf_text(client.get(again.headers["Location"] + "/telecharger").data)
    assert "Cuisinier" in second and "SKILLS" in second


def test_the_pdf_fits_one_page_when_the_content_allows(client: FlaskClient) -> None:
    from tests.helpers import pdf_pages_text

    write_cv(client)
    for template in ("sober", "classic", "columns"):
        response = make_pdf(client, template=template)
        pdf = client.get(response.headers["Location"] + "/telecharger").data
        assert len(pdf_pages_text(pdf)) == 1, template


def test_a_pdf_without_a_name_or_a_job_sends_back_to_the_first_step(client: FlaskClient) -> None:
    response = make_pdf(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cv/etape/identite")
    assert "Votre CV doit avoir au moins votre nom" in text_of(client.get("/cv/etape/fin"))


def test_a_deleted_cv_document_is_made_again(app: Flask, client: FlaskClient) -> None:
    write_cv(client)
    first = make_pdf(client).headers["Location"]
    token = csrf_token(client, first + "/supprimer")
    client.post(first + "/supprimer", data={"csrf_token": token})
    second = make_pdf(client).headers["Location"]
    assert second != first
    assert document_of(app, second).current_version == 1


def test_on_a_kiosk_network_the_cv_is_a_page_to_print_never_an_attachment(
    make_app,
    database_url: str,
    connection,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from vault.core.db import get_database

    app = make_app(database_url=database_url, kiosk_networks=("127.0.0.0/8",))
    get_database(app).bind_to(connection)
    person = make_account(app, first="Karim", last="Benali")
    client = signed_in(app, person)
    write_cv(client)
    response = make_pdf(client)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert response.headers["Cache-Control"].startswith("no-store")
    page = text_of(response)
    assert "Mon CV, à imprimer" in page and "Atelier de production" in page
    assert "js/print.js" in page
    # Filed in the vault all the same.
    with app.app_context():
        owned = (
            db_session()
            .execute(select(Document.doc_type).where(Document.vault_id == person.user.id))
            .scalars()
            .all()
        )
    assert owned == ["cv"]


def test_another_person_sees_an_empty_builder(app: Flask, client: FlaskClient) -> None:
    write_cv(client)
    other = signed_in(app, make_account(app, first="Sam", last="Autre"))
    page = text_of(other.get("/cv/etape/identite"))
    assert 'value="Karim"' not in page
    assert "Écrire mon CV" in text_of(other.get("/cv/"))
    assert "Continuer mon CV" in text_of(client.get("/cv/"))


def test_a_counsellors_request_for_a_cv_offers_to_write_it(
    app: Flask, person: Account, client: FlaskClient
) -> None:
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    with app.app_context():
        db = db_session()
        owner, staff, boss = (db.get(User, a.user.id) for a in (person, counsellor, admin))
        assert owner and staff and boss
        sharing.assign(db, owner, staff, by=boss)
        sharing.request_document(db, staff, owner, "cv", "")
        sharing.request_document(db, staff, owner, "payslip", "")
        db.commit()
    page = text_of(client.get("/demandes/"))
    # The CV request's card (the menu's "Mon CV" link aside) offers to write one.
    assert page.count('href="/cv/"') == 2
    assert page.count("Écrire mon CV") == 1
    assert page.count("Ajouter d'abord ce document") == 2


def test_a_model_not_offered_is_refused_next_to_the_choice(client: FlaskClient) -> None:
    write_cv(client)
    response = make_pdf(client, template="fancy")
    assert response.status_code == 400
    assert 'id="template-error">Choisissez dans la liste.' in text_of(response)


def test_a_step_that_does_not_exist_is_not_found(client: FlaskClient) -> None:
    assert client.get("/cv/etape/adresse").status_code == 404
    assert client.get("/cv/lettre/etape/adresse").status_code == 404
