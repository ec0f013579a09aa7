"""Previews cannot be used to tie up the server (issue 11, item 3, first bullet).

A document whose preview fails is remembered and never rendered again; each
person's renders are rate limited; when every worker is busy the preview
answers at once, without a preview, instead of holding a serving thread.
Workers are counted where they start (`previews._run_worker`), around the real
worker: nothing here is a stand-in.
"""

from __future__ import annotations

import html
import uuid

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import Account, make_account, make_document, png_bytes, signed_in
from vault.core.db import db_session
from vault.documents import previews
from vault.documents.views import reading as documents_views
from vault.models import DocumentVersion

NOT_A_PDF = b"%PDF-1.7\n" + b"this is not a PDF at all\n" * 20


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app)


@pytest.fixture
def worker_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How many preview workers were started (one entry each), the real ones still run."""
    started: list[str] = []
    run_worker = previews._run_worker

    def counted(command: list[str], *args: object, **kwargs: object) -> tuple[int, bytes]:
        started.append(command[-2])
        return run_worker(command, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(previews, "_run_worker", counted)
    return started


def failed_at(app: Flask, document_id: uuid.UUID) -> object:
    with app.app_context():
        return (
            db_session()
            .execute(
                select(DocumentVersion.preview_failed_at).where(
                    DocumentVersion.document_id == document_id
                )
            )
            .scalar_one()
        )


def test_a_document_without_a_preview_is_rendered_once(
    app: Flask, person: Account, worker_starts: list[str]
) -> None:
    document = make_document(app, person, NOT_A_PDF)
    client = signed_in(app, person)

    assert client.get(f"/documents/{document.id}/apercu").status_code == 404
    assert client.get(f"/documents/{document.id}/apercu").status_code == 404

    assert worker_starts == ["application/pdf"]
    assert failed_at(app, document.id) is not None

    # The page says so in plain French and asks the browser for nothing.
    page = html.unescape(client.get(f"/documents/{document.id}").get_data(as_text=True))
    assert "/apercu" not in page
    assert "Pas d'aperçu pour ce document." in page


def test_a_persons_excess_renders_are_refused(
    app: Flask, person: Account, worker_starts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/operations.md; lowered here so that three documents reach it.
    assert getattr(documents_views, "PREVIEW_RATE", None) == "10 per minute;100 per hour"
    monkeypatch.setattr(documents_views, "PREVIEW_RATE", "2 per hour")
    mine = [make_document(app, person, png_bytes(), mime="image/png") for _ in range(3)]
    client = signed_in(app, person)

    statuses = [client.get(f"/documents/{d.id}/apercu").status_code for d in mine]

    assert statuses == [200, 200, 429]
    assert len(worker_starts) == 2
    assert failed_at(app, mine[2].id) is None  # refused now, not for ever
    # Previews already made are still shown: only renders count.
    assert client.get(f"/documents/{mine[0].id}/apercu").status_code == 200
    # Another person's budget is their own.
    other = make_account(app)
    theirs = make_document(app, other, png_bytes(), mime="image/png")
    assert signed_in(app, other).get(f"/documents/{theirs.id}/apercu").status_code == 200


def test_with_every_worker_busy_the_preview_answers_at_once(
    app: Flask, person: Account, worker_starts: list[str]
) -> None:
    document = make_document(app, person, png_bytes(), mime="image/png")
    client = signed_in(app, person)
    slots, taken = previews._WORKER_SLOTS, 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        # Answered while the slots are still held: nothing waited for one
        # longer than the short slot wait, and nothing ran.
        response = client.get(f"/documents/{document.id}/apercu")
    finally:
        for _ in range(taken):
            slots.release()

    assert response.status_code == 503
    assert worker_starts == []
    assert failed_at(app, document.id) is None  # the machine was busy, not the document
    assert client.get(f"/documents/{document.id}/apercu").status_code == 200


@pytest.mark.parametrize("offset", [5, 1000], ids=["header", "first-segment"])
def test_a_damaged_document_gets_no_preview_and_the_view_is_journaled_as_failed(
    app: Flask, person: Account, worker_starts: list[str], offset: int
) -> None:
    """Like a download: the French "damaged" page, no worker started, nothing
    remembered as the document's fault, the view journaled as failed."""
    from tests.integration.documents.test_downloads import blob_path, flip
    from vault.models import JournalEvent

    document = make_document(app, person, png_bytes((400, 300)), mime="image/png")
    flip(blob_path(app, document.id), offset)
    response = signed_in(app, person).get(f"/documents/{document.id}/apercu")
    assert response.status_code == 500
    assert "Document abîmé" in html.unescape(response.get_data(as_text=True))
    assert worker_starts == []
    assert failed_at(app, document.id) is None
    with app.app_context():
        outcomes = db_session().execute(
            select(JournalEvent.outcome).where(
                JournalEvent.document_id == document.id, JournalEvent.action == "document.viewed"
            )
        )
        assert list(outcomes.scalars()) == ["failed"]
