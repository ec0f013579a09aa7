"""The cover-letter builder through HTTP: the job, three guided paragraphs, the PDF."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from tests.factories import Account, csrf_token, make_account, signed_in
from tests.helpers import pdf_text, text_of
from tests.integration.cv.steps import post_step, write_cv
from vault.core.db import db_session
from vault.cv import making
from vault.cv.content import suggestions
from vault.models import Document

LETTER = "/cv/lettre/etape/"
JOB = {
    "title": "Commis de cuisine",
    "employer": "Restaurant Le Bon Goût",
    "town": "Lyon",
    "name": "Karim Benali",
}


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app, first="Karim", last="Benali")


@pytest.fixture
def client(app: Flask, person: Account) -> FlaskClient:
    return signed_in(app, person)


def letter_step(client: FlaskClient, slug: str, data: dict[str, object], action: str = "next"):  # type: ignore[no-untyped-def]
    return post_step(client, slug, data, action, prefix=LETTER)


def make_letter(client: FlaskClient):  # type: ignore[no-untyped-def]
    token = csrf_token(client, LETTER + "fin")
    return client.post("/cv/lettre/pdf", data={"csrf_token": token})


def letters(app: Flask, person: Account) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db_session().execute(
            select(Document.doc_type, Document.current_version).where(
                Document.vault_id == person.user.id
            )
        )
        return sorted((r[0], r[1]) for r in rows)


def test_the_name_comes_from_the_cv_and_sentences_are_suggested(client: FlaskClient) -> None:
    write_cv(client)
    page = text_of(client.get(LETTER + "poste"))
    assert 'value="Karim Benali"' in page
    assert letter_step(client, "poste", JOB).headers["Location"].endswith(LETTER + "vous")
    first = text_of(client.get(LETTER + "vous"))
    # The empty paragraph starts with the first suggestion, job and employer filled in.
    assert (
        "Je vous propose ma candidature au poste de Commis de cuisine chez Restaurant Le Bon Goût."
        in first
    )
    assert "Prendre cette phrase" in first
    # "Use this sentence" puts another in its place, to edit on the same step.
    response = letter_step(client, "vous", {"paragraph": "x"}, action="use-1")
    assert response.headers["Location"].endswith(LETTER + "vous#paragraph")
    assert "J'ai vu que Restaurant Le Bon Goût cherche" in text_of(client.get(LETTER + "vous"))


def test_a_letter_is_written_and_filed_and_a_new_employer_is_a_new_document(
    app: Flask, person: Account, client: FlaskClient
) -> None:
    write_cv(client)
    letter_step(client, "poste", JOB)
    letter_step(client, "vous", {"paragraph": "Votre restaurant est connu dans mon quartier."})
    letter_step(client, "moi", {"paragraph": "J'ai préparé des repas pour 300 personnes."})
    letter_step(client, "nous", {"paragraph": "Je suis libre dès le 3 mars."})
    final = text_of(client.get(LETTER + "fin"))
    assert "Votre restaurant est connu dans mon quartier." in final
    response = make_letter(client)
    assert response.status_code == 302
    pdf = client.get(response.headers["Location"] + "/telecharger").data
    text = pdf_text(pdf)
    for typed in (
        "Karim Benali",
        "Restaurant Le Bon Goût",
        "Commis de cuisine",
        "Votre restaurant est connu",
        "300 personnes",
        "le 3 mars",
        "Madame, Monsieur,",
        "06 12 34 56 78",
    ):
        assert typed in text, typed
    assert "Lettre de motivation – Restaurant Le Bon Goût" in text_of(
        client.get(response.headers["Location"])
    )
    # The same employer again: a new version. Another employer: another letter.
    make_letter(client)
    assert letters(app, person) == [("cover_letter", 2)]
    letter_step(client, "poste", {**JOB, "employer": "Boulangerie Martin"})
    make_letter(client)
    assert [v for t, v in letters(app, person) if t == "cover_letter"] == [1, 2]


@pytest.mark.parametrize(
    ("slug", "data", "message"),
    [
        ("poste", {"title": "Commis", "employer": "", "name": "K"}, "Remplissez cette case."),
        ("vous", {"paragraph": ""}, "Remplissez cette case."),
        ("moi", {"paragraph": "J'ai travaillé à la maison centrale"}, "Ne nommez pas la prison"),
        ("nous", {"paragraph": "x" * 1201}, "C'est trop long : 1200 caractères au plus."),
    ],
)
def test_bad_input_is_refused_next_to_the_field(
    client: FlaskClient, slug: str, data: dict[str, str], message: str
) -> None:
    response = letter_step(client, slug, data)
    assert response.status_code == 400
    # Under its field, tied to it (docs/decisions.md D-081): <p class="error" id="…-error">.
    assert re.search(
        r'id="[\w-]+-error">[^<]*(<svg.*?</svg>)?\s*<span>' + re.escape(message),
        text_of(response),
        re.S,
    ), text_of(response)


def test_a_letter_without_employer_goes_back_to_the_first_step(client: FlaskClient) -> None:
    response = make_letter(client)
    assert response.headers["Location"].endswith(LETTER + "poste")


def test_on_a_kiosk_network_the_letter_is_a_page_to_print(
    make_app,
    database_url: str,
    connection,  # type: ignore[no-untyped-def]
) -> None:
    from vault.core.db import get_database

    app = make_app(database_url=database_url, kiosk_networks=("127.0.0.1/32",))
    get_database(app).bind_to(connection)
    client = signed_in(app, make_account(app))
    letter_step(client, "poste", JOB)
    letter_step(client, "vous", {"paragraph": "Votre restaurant me plaît."})
    response = make_letter(client)
    assert response.status_code == 200
    assert "Content-Disposition" not in response.headers
    page = text_of(response)
    assert "Ma lettre de motivation, à imprimer" in page
    assert "Votre restaurant me plaît." in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_letter_is_in_french_whatever_the_interface_language(app: Flask) -> None:
    """An employer in France reads French: the letter's fixed words and the
    sentences it suggests are French, and a person reading the interface in
    another language sees each suggestion in that language too (D-141)."""
    record = {"job": JOB, "p1": "Je suis cariste depuis dix ans."}
    with app.test_request_context(), force_locale("ru"):
        offered = suggestions("vous", record)
        pdf = making.render_letter(record, {"name": "Karim Benali", "town": "Lyon"})
    first = offered[0]
    assert first.text.startswith("Je ") and "Restaurant Le Bon Goût" in first.text
    assert first.gloss and first.gloss != first.text  # the interface's language beside it
    text = " ".join(pdf_text(pdf).split())
    assert "Objet :" in text and "Madame, Monsieur," in text, text
    assert "Je vous prie d'agréer" in text, text
    with app.test_request_context(), force_locale("fr"):
        assert all(s.gloss is None for s in suggestions("moi", record))  # nothing to repeat
