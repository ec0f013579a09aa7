"""A counsellor reads a shared document page by page (D-101), and sees the recoveries waiting.

Real databases (SQLite and PostgreSQL) through the `app` fixture; the pages come
from the real sandboxed worker.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

from flask import Flask
from PIL import Image
from sqlalchemy import select

from tests.factories import Account, make_account, make_document, signed_in
from tests.helpers import post_form, text_of
from tests.helpers import user as _user
from tests.integration.documents.test_pages import pdf_of
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Document, JournalEvent, Role, Share
from vault.models.base import utcnow
from vault.recovery import service as recovery
from vault.sharing import service as sharing


def assign(app: Flask, person: Account, counsellor: Account) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", f"Admin{uuid.uuid4().hex[:6]}")
    with app.app_context():
        db = db_session()
        sharing.assign(db, _user(person), _user(counsellor), by=_user(admin))
        db.commit()


def share(app: Flask, owner: Account, document: Document, counsellor: Account) -> Share:
    with app.app_context():
        db = db_session()
        doc = db.get(Document, document.id)
        assert doc is not None
        made = sharing.share_document(
            db, get_keyring(), Unlocked(_user(owner), owner.key), doc, counsellor.user.id
        )
        db.commit()
        return made


def viewed(app: Flask, vault_id: uuid.UUID) -> list[JournalEvent]:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent).where(
                JournalEvent.vault_id == vault_id, JournalEvent.action == "document.viewed"
            )
        )
        return list(rows.scalars())


def test_the_counsellor_sees_every_page_of_a_shared_document_inline(app: Flask) -> None:
    person = make_account(app, first="Alice", last="Arnaud")
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    assign(app, person, cpip)
    document = make_document(app, person, pdf_of(2), title="Attestation CAF")
    share(app, person, document, cpip)
    client = signed_in(app, cpip)
    base = f"/suivi/{person.user.id}/documents/{document.id}"
    html = client.get(base).get_data(as_text=True)
    images = re.findall(r'<img src="([^"]*/page/\d+)" alt="([^"]*)"', html)
    assert images == [(f"{base}/page/1", "Page 1 sur 2"), (f"{base}/page/2", "Page 2 sur 2")]
    for src, _alt in images:
        response = client.get(src)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Cache-Control"] == "no-store"
        assert not response.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in response.headers["Content-Security-Policy"]
        Image.open(io.BytesIO(response.data)).verify()
    # The document page is the one line in the person's history; pages add none.
    [event] = viewed(app, person.user.id)
    assert event.actor_id == cpip.user.id


def test_pages_are_refused_for_what_is_not_shared_with_this_counsellor(app: Flask) -> None:
    alice = make_account(app, first="Alice", last="Arnaud")
    bruno = make_account(app, first="Bruno", last="Barre")
    chloe = make_account(app, first="Chloé", last="Colin")
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    other = make_account(app, Role.COUNSELLOR, first="Otto", last="Autre")
    assign(app, alice, cpip)
    assign(app, bruno, cpip)
    assign(app, alice, other)
    shared = make_document(app, alice, pdf_of(1))
    unshared = make_document(app, alice, pdf_of(1), title="Pas partagé")
    brunos = make_document(app, bruno, pdf_of(1))
    chloes = make_document(app, chloe, pdf_of(1))
    share(app, alice, shared, cpip)
    client = signed_in(app, cpip)
    a, b, c = alice.user.id, bruno.user.id, chloe.user.id
    for path in (
        f"/suivi/{a}/documents/{unshared.id}/page/1",  # followed, not shared
        f"/suivi/{a}/documents/{brunos.id}/page/1",  # someone else's, under Alice
        f"/suivi/{b}/documents/{shared.id}/page/1",  # Alice's, under Bruno
        f"/suivi/{c}/documents/{chloes.id}/page/1",  # not followed
        f"/suivi/{a}/documents/{uuid.uuid4()}/page/1",
        f"/suivi/{a}/documents/{shared.id}/page/2",  # past the last page
        f"/suivi/{a}/documents/{shared.id}/page/0",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert not response.data.startswith(b"\x89PNG")
    # Shared with Claire alone: another counsellor of Alice gets nothing.
    response = signed_in(app, other).get(f"/suivi/{a}/documents/{shared.id}/page/1")
    assert response.status_code == 404
    # The person, or an administrator, cannot use the counsellor's route.
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Boss")
    for account in (alice, admin):
        path = f"/suivi/{a}/documents/{shared.id}/page/1"
        assert signed_in(app, account).get(path).status_code == 403
    assert viewed(app, a) == [] and viewed(app, b) == [] and viewed(app, c) == []


def test_revoked_and_expired_shares_show_no_page(app: Flask) -> None:
    person = make_account(app)
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    assign(app, person, cpip)
    revoked = make_document(app, person, pdf_of(1))
    expired = make_document(app, person, pdf_of(1), category="work", doc_type="cv")
    revoked_share = share(app, person, revoked, cpip)
    expired_share = share(app, person, expired, cpip)
    client = signed_in(app, cpip)
    base = f"/suivi/{person.user.id}/documents"
    assert client.get(f"{base}/{revoked.id}/page/1").status_code == 200
    with app.app_context():
        db = db_session()
        sharing.revoke(db, Unlocked(_user(person), person.key), revoked_share.id)
        row = db.get(Share, expired_share.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    for document in (revoked, expired):
        assert client.get(f"{base}/{document.id}/page/1").status_code == 404


def test_the_home_page_counts_recoveries_waiting_for_this_counsellor(app: Flask) -> None:
    person = make_account(app, first="Nadia", last="Recover")
    stranger = make_account(app, first="Sam", last="Ailleurs")
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    assign(app, person, cpip)
    client = signed_in(app, cpip)
    assert "/recuperation/approbations" not in _main(client.get("/suivi/").get_data(as_text=True))
    anonymous = app.test_client()
    for account in (person, stranger):  # the stranger's counsellor is not Claire
        start = {"username": account.username, "code": account.recovery_code}
        assert post_form(anonymous, "/recuperation", start).status_code == 200
    page = client.get("/suivi/")
    text = text_of(page)
    assert "1 récupération de coffre attend votre accord." in text
    assert "/recuperation/approbations" in _main(page.get_data(as_text=True))
    # Approved: nothing waits any more.
    with app.app_context():
        [pending] = recovery.approvals_for(db_session(), _user(cpip))
        request_id = pending.request.id
    approval = f"/recuperation/approbations/{request_id}/approuver"
    assert post_form(client, approval, {}, "/recuperation/approbations").status_code == 302
    assert "attend votre accord" not in text_of(client.get("/suivi/"))


def _main(html: str) -> str:
    """The page's main content, without the site menu (which links to approvals always)."""
    return html.split("<main", 1)[1]
