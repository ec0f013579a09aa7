"""The add form of issue 13: type follows category, errors next to their field,
photos of a paper made into one PDF. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import (
    EXIF_MARKER,
    Account,
    csrf_token,
    make_account,
    pdf_bytes,
    photo_bytes,
    png_bytes,
    signed_in,
)
from tests.helpers import pdf_page_sizes, text_of
from vault.core.db import db_session, get_database
from vault.core.extensions import get_store
from vault.models import Document

ADD = "/documents/ajouter"


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app)


def post_add(
    client: FlaskClient,
    *,
    photos: list[bytes] = (),  # type: ignore[assignment]
    file: bytes | None = None,
    category: str = "identity",
    doc_type: str = "id_card",
    expiry: str = "",
    title: str = "",
) -> object:
    """Posts the add form in the page's order: token, photos, details, file."""
    data: dict[str, object] = {"csrf_token": csrf_token(client, ADD)}
    if photos:
        data["photos"] = [(io.BytesIO(p), f"IMG_{i}.jpg") for i, p in enumerate(photos)]
    data.update({"title": title, "category": category, "doc_type": doc_type, "expiry_date": expiry})
    data["file"] = (io.BytesIO(file), "carte.pdf") if file is not None else (io.BytesIO(), "")
    return client.post(ADD, data=data, content_type="multipart/form-data")


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        documents = db_session().execute(select(func.count()).select_from(Document)).scalar_one()
    return documents, len(list(get_store(app).list("documents")))


def newest(app: Flask) -> Document:
    with app.app_context():
        db = db_session()
        document = db.execute(
            select(Document).order_by(Document.created_at.desc()).limit(1)
        ).scalar_one()
        db.expunge(document)
        return document


def download(client: FlaskClient, response: object) -> bytes:
    location = response.headers["Location"]  # type: ignore[attr-defined]
    got = client.get(location + "/telecharger")
    assert got.status_code == 200
    return bytes(got.get_data())


def checked_category(page: str) -> str:
    match = re.search(r'<input type="radio" name="category" value="(\w+)"[^>]*checked', page)
    assert match, "no category checked"
    return match.group(1)


def selected_type(page: str) -> str:
    match = re.search(r'<option value="(\w+)" selected>', page)
    assert match, "no type selected"
    return match.group(1)


# --- type follows category (finding 1) ----------------------------------------------------


def test_a_type_of_another_category_is_filed_as_the_categorys_other(
    app: Flask, person: Account
) -> None:
    client = signed_in(app, person)
    # "Aides et argent" with the type left on an identity card: filed, as an
    # "other money document", not refused and not an identity card.
    response = post_add(client, file=pdf_bytes(), category="benefits", doc_type="id_card")
    assert response.status_code == 302  # type: ignore[attr-defined]
    document = newest(app)
    assert (document.category, document.doc_type) == ("benefits", "benefits_other")
    # A type of the category is kept as chosen.
    post_add(client, file=pdf_bytes(), category="benefits", doc_type="tax_notice")
    assert newest(app).doc_type == "tax_notice"


def test_an_unknown_category_is_refused_next_to_the_categories(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    before = stored(app)
    response = post_add(client, file=pdf_bytes(), category="nowhere", doc_type="id_card")
    assert response.status_code == 400  # type: ignore[attr-defined]
    page = text_of(response)
    assert 'id="category-error"' in page
    assert re.search(
        r'<fieldset[^>]*aria-invalid="true"[^>]*aria-describedby="category-error"', page
    )
    assert stored(app) == before


def test_a_pdf_left_on_the_defaults_is_not_an_identity_card(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    page = client.get(ADD).get_data(as_text=True)
    category, doc_type = checked_category(page), selected_type(page)
    assert (category, doc_type) == ("other", "other")
    response = post_add(client, file=pdf_bytes(), category=category, doc_type=doc_type)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert newest(app).doc_type == "other"


def test_the_category_given_preselects_its_other_type(app: Flask, person: Account) -> None:
    page = signed_in(app, person).get(ADD + "?categorie=benefits").get_data(as_text=True)
    assert (checked_category(page), selected_type(page)) == ("benefits", "benefits_other")


def test_a_requested_type_preselects_category_and_type(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    page = client.get(ADD + "?type=tax_notice").get_data(as_text=True)
    assert (checked_category(page), selected_type(page)) == ("benefits", "tax_notice")
    # An unknown type falls back to the defaults rather than failing.
    page = client.get(ADD + "?type=nothing").get_data(as_text=True)
    assert (checked_category(page), selected_type(page)) == ("other", "other")


# --- errors next to their field (finding 11) ---------------------------------------------


@pytest.mark.parametrize("expiry", ["31/02/2020", "1899-12-31", "2200-01-02"])
def test_a_bad_date_is_shown_under_the_date_field(app: Flask, person: Account, expiry: str) -> None:
    client = signed_in(app, person)
    before = stored(app)
    response = post_add(client, file=pdf_bytes(), expiry=expiry)
    assert stored(app) == before
    assert response.status_code == 400  # type: ignore[attr-defined]
    page = text_of(response)
    assert re.search(
        r'id="expiry_date"[^>]*aria-describedby="expiry-hint expiry_date-error"'
        r'[^>]*aria-invalid="true"',
        page,
    )
    assert re.search(r'<p class="error" id="expiry_date-error">.*Cette date', page, re.S)
    # The summary at the top links to the field.
    assert '<a href="#expiry_date">Cette date' in page
    # The other fields are not marked.
    assert 'id="file" name="file"' in page
    assert not re.search(r'id="file"[^>]*aria-invalid', page)


def test_no_file_nor_photo_is_shown_under_the_photo_button(app: Flask, person: Account) -> None:
    response = post_add(signed_in(app, person))
    assert response.status_code == 400  # type: ignore[attr-defined]
    page = text_of(response)
    assert re.search(r'id="photos"[^>]*aria-describedby="photos-hint photos-error"', page)
    assert re.search(r'id="photos-error">.*Prenez une photo ou choisissez un fichier', page, re.S)


def test_a_file_of_the_wrong_kind_is_shown_under_the_file_field(
    app: Flask, person: Account
) -> None:
    response = post_add(signed_in(app, person), file=b"just some text, not a PDF")
    assert response.status_code == 415  # type: ignore[attr-defined]
    page = text_of(response)
    assert re.search(r'id="file"[^>]*aria-describedby="file-hint file-error"', page)
    assert re.search(r'id="file"[^>]*aria-invalid="true"', page)
    assert 'id="file-error"' in page


def test_sign_in_and_activation_errors_sit_under_their_field(app: Flask) -> None:
    client = app.test_client()
    for path in ("/connexion", "/activer"):
        token = csrf_token(client, path)
        page = text_of(client.post(path, data={"csrf_token": token, "username": ""}))
        field = re.search(r'<input[^>]*id="username"[^>]*>', page)
        assert field, path
        assert 'aria-invalid="true"' in field.group(0), path
        assert 'aria-describedby="username-error"' in field.group(0), path
        assert re.search(r'<p class="error" id="username-error"><svg[^>]*icon-warning', page), path


def test_every_page_loads_the_focus_script(app: Flask) -> None:
    page = app.test_client().get("/connexion").get_data(as_text=True)
    assert "/static/js/errors.js" in page


# --- photos of a paper (finding 6) ---------------------------------------------------------


def test_three_photos_become_one_three_page_pdf_without_exif(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    # The first is taken sideways (EXIF orientation 6): its page stands upright.
    photos = [
        photo_bytes((400, 200), orientation=6),
        photo_bytes((300, 420)),
        png_bytes((350, 500)),
    ]
    assert EXIF_MARKER.encode() in photos[0]
    response = post_add(client, photos=photos, category="housing", doc_type="lease")
    assert response.status_code == 302  # type: ignore[attr-defined]
    document = newest(app)
    assert (document.category, document.doc_type) == ("housing", "lease")
    pdf = download(client, response)
    assert pdf.startswith(b"%PDF-")
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == 3
    assert all(height > width for width, height in sizes), sizes
    # Neither EXIF (GPS, maker) nor any trace of the photos' metadata.
    assert EXIF_MARKER.encode() not in pdf
    assert b"Exif" not in pdf
    # With no title, the type's name, not a camera's file name.
    assert "Bail" in client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]


def test_photos_and_a_file_together_are_refused(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    before = stored(app)
    response = post_add(client, photos=[photo_bytes()], file=pdf_bytes())
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert 'id="photos-error"' in text_of(response)
    assert stored(app) == before


def test_more_photos_than_a_document_holds_are_refused(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    before = stored(app)
    response = post_add(client, photos=[png_bytes()] * 11)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "10 photos au maximum" in text_of(response)
    assert stored(app) == before


def test_a_photo_that_is_not_an_image_is_refused(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    before = stored(app)
    response = post_add(client, photos=[photo_bytes(), pdf_bytes()])
    assert response.status_code == 415  # type: ignore[attr-defined]
    assert 'id="photos-error"' in text_of(response)
    assert stored(app) == before


def test_photos_keep_the_size_limit_on_their_sum(
    make_app: Callable[..., Flask], database_url: str, connection: object
) -> None:
    one = photo_bytes((900, 700))
    # One photo fits; two do not, though each alone would.
    app = make_app(database_url=database_url, max_upload_bytes=len(one) * 3 // 2)
    get_database(app).bind_to(connection)  # type: ignore[arg-type]
    client = signed_in(app, make_account(app))
    before = stored(app)
    response = post_add(client, photos=[one, one])
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert stored(app) == before
    assert post_add(client, photos=[one]).status_code == 302  # type: ignore[attr-defined]


def test_a_new_version_from_photos(app: Flask, person: Account) -> None:
    client = signed_in(app, person)
    first = post_add(client, file=pdf_bytes())
    location = first.headers["Location"]  # type: ignore[attr-defined]
    token = csrf_token(client, location + "/remplacer")
    response = client.post(
        location + "/remplacer",
        data={
            "csrf_token": token,
            "photos": [(io.BytesIO(photo_bytes()), "a.jpg"), (io.BytesIO(photo_bytes()), "b.jpg")],
            "file": (io.BytesIO(), ""),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(pdf_page_sizes(download(client, response))) == 2
