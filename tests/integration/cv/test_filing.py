"""A CV's PDF enters the vault through the one intake, with its checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.factories import make_account, pdf_bytes, signed_in
from tests.helpers import text_of
from tests.integration.cv.steps import make_pdf, write_cv
from vault.core.db import db_session, get_database
from vault.core.extensions import get_keyring, get_store
from vault.documents.intake import Details, Intake, IntakeRefused, Limits
from vault.models import CvDraft, Document, User


def test_a_full_vault_refuses_the_pdf_with_a_message_and_files_nothing(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> None:
    app = make_app(database_url=database_url, vault_quota_bytes=2000)
    get_database(app).bind_to(connection)
    person = make_account(app)
    client = signed_in(app, person)
    write_cv(client)
    response = make_pdf(client)
    assert response.headers["Location"].endswith("/cv/etape/fin")
    assert "Votre coffre est plein." in text_of(client.get("/cv/etape/fin"))
    with app.app_context():
        db = db_session()
        assert (
            db.execute(select(Document).where(Document.vault_id == person.user.id)).first() is None
        )
        # The draft is as it was before: it names no document.
        assert db.execute(select(CvDraft)).scalar_one() is not None
    assert "Continuer mon CV" in text_of(client.get("/cv/"))
    assert list(get_store(app).list()) == []


@pytest.mark.parametrize(
    ("content", "category", "doc_type", "code"),
    [
        (b"not a pdf at all", "work", "cv", "bad_type"),
        (pdf_bytes("x"), "identity", "cv", "bad_details"),
        (pdf_bytes("x") + b" " * 5000, "work", "cv", "too_large"),
    ],
)
def test_a_generated_file_gets_the_uploads_checks(
    app: Flask, content: bytes, category: str, doc_type: str, code: str
) -> None:
    person = make_account(app)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        details = Details(title="CV", category=category, doc_type=doc_type, expiry_date=None)
        with pytest.raises(IntakeRefused) as refused:
            Intake.generated(
                db,
                get_store(),
                get_keyring(),
                user.id,
                Limits(4000, 10**9),
                content,
                details=details,
                filename="cv.pdf",
            )
    assert refused.value.code == code
