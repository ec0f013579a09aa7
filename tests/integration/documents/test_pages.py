"""The person's page viewer: every page of a document as an image, rendered on request."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from tests.factories import Account, make_account, make_document, pdf_bytes, png_bytes, signed_in
from tests.integration.documents.test_downloads import blob_path, flip
from vault.core.db import db_session
from vault.documents import pages
from vault.documents.pages import PAGE_CAP
from vault.models import DocumentVersion, JournalEvent


def pdf_of(count: int) -> bytes:
    colours = ["red", "lime", "blue"] * (count // 3 + 1)
    pages = [Image.new("RGB", (300, 400), colour) for colour in colours[:count]]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def page_images(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<img src="([^"]*/page/\d+)" alt="([^"]*)"', html)


def viewed(app: Flask, account: Account) -> int:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent).where(
                JournalEvent.vault_id == account.user.id, JournalEvent.action == "document.viewed"
            )
        )
        return len(rows.all())


def test_each_page_is_an_image_with_its_number_and_nothing_is_stored(app: Flask) -> None:
    person = make_account(app)
    document = make_document(app, person, pdf_of(3), title="Courrier CAF")
    client = signed_in(app, person)
    html = client.get(f"/documents/{document.id}").get_data(as_text=True)
    images = page_images(html)
    assert [alt for _src, alt in images] == ["Page 1 sur 3", "Page 2 sur 3", "Page 3 sur 3"]
    # The first page comes at once; the others as they are scrolled to.
    tags = re.findall(r"<img [^>]*/page/\d+[^>]*>", html)
    assert ["lazy" in tag for tag in tags] == [False, True, True]
    colours = []
    for src, _alt in images:
        response = client.get(src)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Disposition"] == "inline"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        img = Image.open(io.BytesIO(response.data)).convert("RGB")
        assert max(img.size) == 1400
        colours.append(img.getpixel((img.width // 2, img.height // 2)))
    assert colours[0][0] > 200 and colours[1][1] > 200 and colours[2][2] > 200
    # Rendered and forgotten: no preview blob was written for the version.
    with app.app_context():
        version = (
            db_session()
            .execute(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
            .scalar_one()
        )
        assert version.preview_blob_id is None
    # One look, one line in the person's history (page 1), not one per page.
    assert viewed(app, person) == 1


def test_an_image_document_is_one_page(app: Flask) -> None:
    person = make_account(app)
    document = make_document(app, person, png_bytes((300, 200)), mime="image/png")
    client = signed_in(app, person)
    html = client.get(f"/documents/{document.id}").get_data(as_text=True)
    [(src, alt)] = page_images(html)
    assert alt == "Page 1 sur 1"
    assert client.get(src).data.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(src.replace("/page/1", "/page/2")).status_code == 404


def test_pages_past_the_cap_are_not_shown_and_the_page_says_so(app: Flask) -> None:
    person = make_account(app)
    document = make_document(app, person, pdf_of(PAGE_CAP + 2))
    client = signed_in(app, person)
    html = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert len(page_images(html)) == PAGE_CAP
    assert f"Seules les {PAGE_CAP} premières pages sur {PAGE_CAP + 2}" in html
    assert client.get(f"/documents/{document.id}/page/{PAGE_CAP + 1}").status_code == 404
    assert client.get(f"/documents/{document.id}/page/0").status_code == 404


def test_pages_of_a_document_of_someone_else_are_404(app: Flask) -> None:
    owner = make_account(app, first="Alice", last="Arnaud")
    other = make_account(app, first="Bruno", last="Barre")
    document = make_document(app, owner, pdf_of(2))
    client = signed_in(app, other)
    for number in (1, 2):
        response = client.get(f"/documents/{document.id}/page/{number}")
        assert response.status_code == 404
        assert not response.data.startswith(b"\x89PNG")
    assert viewed(app, owner) == 0
    # Signed out: sent to sign in, nothing rendered.
    assert app.test_client().get(f"/documents/{document.id}/page/1").status_code == 302


def test_a_document_that_breaks_the_renderer_is_remembered(app: Flask) -> None:
    person = make_account(app)
    document = make_document(app, person, b"%PDF-1.4\nnot a real pdf\n")
    client = signed_in(app, person)
    assert client.get(f"/documents/{document.id}/page/1").status_code == 404
    with app.app_context():
        version = (
            db_session()
            .execute(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
            .scalar_one()
        )
        assert version.preview_failed_at is not None
    html = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert page_images(html) == []


def test_renders_beyond_the_budget_are_refused_until_it_refills(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_RATE", "2 per minute")
    person = make_account(app)
    document = make_document(app, person, png_bytes((60, 40)), mime="image/png")
    client = signed_in(app, person)
    path = f"/documents/{document.id}/page/1"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    # Another person's budget is their own.
    other = make_account(app, first="Bruno", last="Barre")
    theirs = make_document(app, other, png_bytes((60, 40)), mime="image/png")
    assert signed_in(app, other).get(f"/documents/{theirs.id}/page/1").status_code == 200


def test_the_page_budget_and_cap_are_the_documented_ones() -> None:
    operations = Path(__file__).parents[3] / "docs" / "operations.md"
    text = " ".join(operations.read_text(encoding="utf-8").split())
    assert pages.PAGE_RATE == "60 per minute;600 per hour"
    assert "60 a minute and 600 an hour per user" in text
    assert pages.PAGE_CAP == 20 and "At most 20 pages are shown" in text


def test_a_damaged_document_shows_no_page_and_the_failure_is_journaled(app: Flask) -> None:
    person = make_account(app)
    document = make_document(app, person, pdf_of(2))
    flip(blob_path(app, document.id), 5)  # a byte of the salt: nothing decrypts
    client = signed_in(app, person)
    html = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert page_images(html) == []  # the count could not be made: no page offered
    response = client.get(f"/documents/{document.id}/page/1")
    assert response.status_code == 500
    assert not response.data.startswith(b"\x89PNG")
    assert "Document abîmé" in response.get_data(as_text=True)
    with app.app_context():
        [event] = (
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.vault_id == person.user.id,
                    JournalEvent.action == "document.viewed",
                )
            )
            .scalars()
        )
        assert event.outcome == "failed" and '"reason":"integrity"' in event.details


def test_a_pdf_is_counted_once_per_version_then_its_count_is_remembered(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = []
    real = pages.count_pages

    def counting(data: bytes, mime: str) -> int:
        counted.append(mime)
        return real(data, mime)

    monkeypatch.setattr(pages, "count_pages", counting)
    person = make_account(app)
    document = make_document(app, person, pdf_bytes("un"), mime="application/pdf")
    client = signed_in(app, person)
    first = client.get(f"/documents/{document.id}").get_data(as_text=True)
    second = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert len(counted) == 1
    assert page_images(first) == page_images(second) != []
