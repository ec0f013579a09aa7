"""Small helpers several test modules used to copy: one definition each.

Factories that build accounts and documents live in tests/factories.py; these
read answers (HTTP pages, PDFs) and post forms the way a browser would.
"""

from __future__ import annotations

import base64
import html
import secrets

import pypdfium2 as pdfium
import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import BlobStore
from tests.factories import Account, csrf_token
from vault.core.db import db_session
from vault.models import User


def pdf_pages_text(data: bytes) -> list[str]:
    """The text of each page of a PDF."""
    document = pdfium.PdfDocument(data)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def pdf_page_sizes(data: bytes) -> list[tuple[float, float]]:
    """The width and height of each page of a PDF, in points."""
    document = pdfium.PdfDocument(data)
    try:
        return [document.get_page_size(index) for index in range(len(document))]
    finally:
        document.close()


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, pages joined by newlines."""
    return "\n".join(pdf_pages_text(data))


def text_of(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def post_form(client: FlaskClient, path: str, data: dict[str, str], form_path: str | None = None):  # type: ignore[no-untyped-def]
    """Post `data` to `path` with the CSRF token of the form at `form_path` (default `path`)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_path or path)})


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, *, page: str = ""):  # type: ignore[no-untyped-def]
    """Post `data` to `path` with the CSRF token of `page` (default: the person's shares)."""
    token = csrf_token(client, page or "/partages/")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def new_ring_key() -> str:
    """A fresh server key ring entry's key (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def user(account: Account) -> User:
    """The account's user row, in the current app context's session."""
    found = db_session().get(User, account.user.id)
    assert found is not None
    return found


def fail_commits_once_a_blob_is_stored(monkeypatch: pytest.MonkeyPatch, store: BlobStore) -> None:
    """From the first blob `store` writes on, every database commit fails (the database is gone).

    The fault lands after the upload streamed, encrypted and stored its blob:
    what is left to prove is that no blob stays that no row names.
    `monkeypatch.undo()` ends it.
    """
    real_put, real_commit = store.put, Session.commit
    blob_stored = False

    def put(*args: object, **kwargs: object) -> object:
        nonlocal blob_stored
        info = real_put(*args, **kwargs)  # type: ignore[arg-type]
        blob_stored = True
        return info

    def commit(self: Session) -> None:
        if blob_stored:
            raise OperationalError("COMMIT", {}, ConnectionError("the database went away"))
        real_commit(self)

    monkeypatch.setattr(store, "put", put)
    monkeypatch.setattr(Session, "commit", commit)
