"""The person's shares, requests, deposit notice and journal through HTTP (SQLite, PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import Account, make_account, make_document, pdf_bytes, signed_in
from tests.helpers import post, user
from vault.core.db import db_session
from vault.core.errors import NotFound
from vault.core.extensions import get_keyring, get_store
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.journal.text import describe
from vault.models import Document, DocumentRequest, JournalEvent, Role, Share, ShareKey, User
from vault.models.base import utcnow
from vault.sharing import service as sharing


@dataclass
class Cast:
    alice: Account
    bruno: Account
    claire: Account  # counsellor of Alice only
    otto: Account  # counsellor of Bruno only
    admin: Account
    doc: uuid.UUID  # Alice's identity card


@pytest.fixture
def cast(app: Flask) -> Cast:
    alice = make_account(app, first="Alice", last="Arnaud")
    bruno = make_account(app, first="Bruno", last="Blanc")
    claire = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    otto = make_account(app, Role.COUNSELLOR, first="Otto", last="Autre")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    doc = make_document(app, alice, title="Carte d'identité")
    with app.app_context():
        db = db_session()
        by = user(admin)
        sharing.assign(db, user(alice), user(claire), by=by)
        sharing.assign(db, user(bruno), user(otto), by=by)
        db.commit()
    return Cast(alice, bruno, claire, otto, admin, doc.id)


def owner(account: Account) -> Unlocked:
    return Unlocked(user(account), account.key)


def share_count(app: Flask) -> int:
    with app.app_context():
        return int(db_session().execute(select(func.count()).select_from(Share)).scalar_one())


def open_as_claire(app: Flask, cast: Cast, document_id: uuid.UUID) -> sharing.OpenedShare:
    with app.app_context():
        return sharing.open_shared(
            db_session(), user(cast.claire), cast.claire.key, user(cast.alice), document_id
        )


def test_share_a_document_see_it_and_revoke_it(app: Flask, cast: Cast) -> None:
    client = signed_in(app, cast.alice)
    form = client.get(f"/partages/document/{cast.doc}")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "Claire Conseil" in html and "Otto" not in html
    response = post(
        client,
        f"/partages/document/{cast.doc}",
        {"counsellor": str(cast.claire.user.id), "duration": "90"},
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        share = db_session().execute(select(Share)).scalar_one()
        assert share.document_id == cast.doc and not share.until_release
        assert share.expires_at is not None
        assert timedelta(days=89) < share.expires_at - utcnow() <= timedelta(days=90)
        share_id = share.id
    assert open_as_claire(app, cast, cast.doc).title == "Carte d'identité"

    listing = client.get("/partages/").get_data(as_text=True)
    assert "Carte d&#39;identité" in listing and "Claire Conseil" in listing
    assert f"/partages/{share_id}/retirer" in listing
    assert client.get(f"/partages/{share_id}/retirer").status_code == 200
    assert post(client, f"/partages/{share_id}/retirer").status_code == 302  # type: ignore[attr-defined]

    with app.app_context():
        db = db_session()
        share = db.get(Share, share_id)
        assert share is not None and share.revoked_at is not None
        assert not sharing.share_is_active(share, user(cast.alice))
        assert db.execute(select(ShareKey).where(ShareKey.share_id == share_id)).first() is None
    with pytest.raises(NotFound):
        open_as_claire(app, cast, cast.doc)
    assert f"/partages/{share_id}/retirer" not in client.get("/partages/").get_data(as_text=True)
    # The confirmation of an ended share says so and goes back to the list.
    assert client.get(f"/partages/{share_id}/retirer").status_code == 302


def test_revoked_share_fails_the_permission_and_the_key(app: Flask, cast: Cast) -> None:
    """A restored key row does not reopen a revoked share; nor does un-revoking a keyless one."""
    with app.app_context():
        db = db_session()
        document = db.get(Document, cast.doc)
        assert document is not None
        share = sharing.share_document(
            db, get_keyring(), owner(cast.alice), document, cast.claire.user.id
        )
        db.commit()
        key = db.execute(select(ShareKey).where(ShareKey.share_id == share.id)).scalar_one()
        saved = (key.document_id, key.version, key.sealed)
    client = signed_in(app, cast.alice)
    assert post(client, f"/partages/{share.id}/retirer").status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        db = db_session()
        # Permission: the key comes back (a restored backup), the share stays revoked.
        db.add(ShareKey(share_id=share.id, document_id=saved[0], version=saved[1], sealed=saved[2]))
        db.commit()
        with pytest.raises(NotFound):
            sharing.open_shared(db, user(cast.claire), cast.claire.key, user(cast.alice), cast.doc)
        # Key: the revocation is undone in the database, but the key is gone.
        db.execute(ShareKey.__table__.delete().where(ShareKey.share_id == share.id))
        revived = db.get(Share, share.id)
        assert revived is not None
        revived.revoked_at = None
        db.commit()
        with pytest.raises(NotFound):
            sharing.open_shared(db, user(cast.claire), cast.claire.key, user(cast.alice), cast.doc)


def test_until_release_and_category_shares(app: Flask, cast: Cast) -> None:
    client = signed_in(app, cast.alice)
    response = post(
        client,
        f"/partages/document/{cast.doc}",
        {"counsellor": str(cast.claire.user.id), "duration": "release"},
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert client.get("/partages/categorie").status_code == 200
    response = post(
        client,
        "/partages/categorie",
        {"counsellor": str(cast.claire.user.id), "duration": "30", "category": "housing"},
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        shares = {
            (s.document_id is not None): s for s in db_session().execute(select(Share)).scalars()
        }
        assert shares[True].until_release and shares[True].expires_at is None
        assert shares[False].category == "housing" and not shares[False].until_release
    # A document added later to the category is shared at once.
    lease = make_document(app, cast.alice, title="Bail", category="housing", doc_type="lease")
    assert open_as_claire(app, cast, lease.id).title == "Bail"
    listing = client.get("/partages/").get_data(as_text=True)
    assert listing.count("/retirer") == 2


def test_forms_refuse_bad_and_foreign_choices(app: Flask, cast: Cast) -> None:
    client = signed_in(app, cast.alice)
    # Otto follows Bruno, not Alice: not a valid choice.
    for data in (
        {"counsellor": str(cast.otto.user.id), "duration": "90"},
        {"counsellor": str(cast.claire.user.id), "duration": "1000"},
        {"counsellor": "not-an-id", "duration": "90"},
    ):
        response = post(client, f"/partages/document/{cast.doc}", data)
        assert response.status_code == 400, data  # type: ignore[attr-defined]
    response = post(
        client,
        "/partages/categorie",
        {"counsellor": str(cast.claire.user.id), "duration": "90", "category": "weapons"},
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert share_count(app) == 0


def test_another_persons_ids_are_refused_and_nothing_changes(app: Flask, cast: Cast) -> None:
    with app.app_context():
        db = db_session()
        document = db.get(Document, cast.doc)
        assert document is not None
        share = sharing.share_document(
            db, get_keyring(), owner(cast.alice), document, cast.claire.user.id
        )
        request = sharing.request_document(db, user(cast.claire), user(cast.alice), "cv", "")
        db.commit()
        share_id, request_id = share.id, request.id
    bruno_doc = make_document(app, cast.bruno, title="CV de Bruno", category="work", doc_type="cv")
    bruno = signed_in(app, cast.bruno)
    before = share_count(app)
    # Alice's document, share and request, seen from Bruno's session.
    for path in (
        f"/partages/document/{cast.doc}",
        f"/partages/{share_id}/retirer",
        f"/demandes/{request_id}",
        f"/liens/nouveau/{cast.doc}",
    ):
        assert bruno.get(path).status_code == 404, path
    assert (
        post(
            bruno,
            f"/partages/document/{cast.doc}",
            {"counsellor": str(cast.claire.user.id), "duration": "90"},
        ).status_code  # type: ignore[attr-defined]
        == 404
    )
    assert post(bruno, f"/partages/{share_id}/retirer").status_code == 404  # type: ignore[attr-defined]
    assert (
        post(bruno, f"/demandes/{request_id}", {"document": str(bruno_doc.id)}).status_code  # type: ignore[attr-defined]
        == 404
    )
    # Alice answering her own request with Bruno's document: refused too.
    alice = signed_in(app, cast.alice)
    assert (
        post(alice, f"/demandes/{request_id}", {"document": str(bruno_doc.id)}).status_code  # type: ignore[attr-defined]
        == 404
    )
    assert post(alice, f"/demandes/{request_id}", {"document": "nonsense"}).status_code == 404  # type: ignore[attr-defined]
    with app.app_context():
        db = db_session()
        share = db.get(Share, share_id)
        request = db.get(DocumentRequest, request_id)
        assert share is not None and share.revoked_at is None
        assert request is not None and request.status == "open" and request.document_id is None
    assert share_count(app) == before
    assert open_as_claire(app, cast, cast.doc).title == "Carte d'identité"


def test_requests_are_listed_counted_and_answered(app: Flask, cast: Cast) -> None:
    cv = make_document(app, cast.alice, title="Mon CV", category="work", doc_type="cv")
    with app.app_context():
        db = db_session()
        request = sharing.request_document(
            db, user(cast.claire), user(cast.alice), "cv", "Pour l'entretien de mardi"
        )
        db.commit()
        request_id = request.id
    client = signed_in(app, cast.alice)
    listing = client.get("/documents/").get_data(as_text=True)
    assert 'id="open-requests-notice"' in listing
    assert re.search(r'class="count">1<', listing), "the menu shows one open request"
    page = client.get("/demandes/").get_data(as_text=True)
    assert "Pour l&#39;entretien de mardi" in page and "Claire Conseil" in page
    assert f"/demandes/{request_id}" in page
    # The form opens with the type asked for, and so its category (issue 13, D-080).
    assert "/documents/ajouter?type=cv" in page
    answer = client.get(f"/demandes/{request_id}").get_data(as_text=True)
    # The CV comes first, before the identity card.
    assert answer.index("Mon CV") < answer.index("Carte d&#39;identité")
    assert post(client, f"/demandes/{request_id}", {}).status_code == 400  # type: ignore[attr-defined]
    response = post(client, f"/demandes/{request_id}", {"document": str(cv.id)})
    assert response.status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        found = db_session().get(DocumentRequest, request_id)
        assert found is not None and found.status == "answered" and found.document_id == cv.id
    assert open_as_claire(app, cast, cv.id).title == "Mon CV"
    page = client.get("/demandes/").get_data(as_text=True)
    assert 'id="answered-requests"' in page and 'id="open-requests"' not in page
    assert 'class="count"' not in client.get("/documents/").get_data(as_text=True)
    # Answered: the form sends back to the list, and a second answer changes nothing.
    assert client.get(f"/demandes/{request_id}").status_code == 302
    assert post(client, f"/demandes/{request_id}", {"document": str(cast.doc)}).status_code == 302  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        open_as_claire(app, cast, cast.doc)


def test_a_new_upload_is_offered_as_the_answer(app: Flask, cast: Cast) -> None:
    with app.app_context():
        db = db_session()
        request = sharing.request_document(db, user(cast.claire), user(cast.alice), "lease", "")
        db.commit()
        request_id = request.id
    lease = make_document(app, cast.alice, title="Bail", category="housing", doc_type="lease")
    client = signed_in(app, cast.alice)
    page = client.get(f"/documents/{lease.id}").get_data(as_text=True)
    assert f'action="/demandes/{request_id}"' in page
    # Not offered on a document of another category.
    assert f"/demandes/{request_id}" not in client.get(f"/documents/{cast.doc}").get_data(
        as_text=True
    )
    response = post(client, f"/demandes/{request_id}", {"document": str(lease.id)})
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert open_as_claire(app, cast, lease.id).title == "Bail"


def test_no_counsellor_explains_who_assigns_them(app: Flask) -> None:
    alone = make_account(app, first="Solo", last="Seul")
    doc = make_document(app, alone)
    client = signed_in(app, alone)
    page = client.get(f"/partages/document/{doc.id}").get_data(as_text=True)
    assert 'name="counsellor"' not in page
    assert 'name="counsellor"' not in client.get("/partages/categorie").get_data(as_text=True)


def deposit(app: Flask, cast: Cast, title: str) -> uuid.UUID:
    with app.app_context():
        db = db_session()
        document = sharing.deposit_document(
            db,
            get_store(),
            get_keyring(),
            user(cast.claire),
            user(cast.alice),
            [pdf_bytes(title)],
            mime="application/pdf",
            title=title,
            filename="depot.pdf",
            category="justice",
            doc_type="detention_certificate",
        )
        db.commit()
        return document.id


def test_deposit_notice_counts_what_came_since_the_last_sign_in(app: Flask, cast: Cast) -> None:
    old = deposit(app, cast, "Ancien dépôt")
    with app.app_context():
        db = db_session()
        document = db.get(Document, old)
        assert document is not None
        # Before the activation, which was Alice's previous sign-in.
        document.created_at = utcnow() - timedelta(hours=1)
        db.commit()
    first = signed_in(app, cast.alice)
    assert 'id="new-deposits"' not in first.get("/documents/").get_data(as_text=True)
    deposit(app, cast, "Attestation de détention")
    second = signed_in(app, cast.alice)
    listing = second.get("/documents/").get_data(as_text=True)
    assert 'data-count="1"' in listing
    # The document page says who deposited it.
    new = [d for d in re.findall(r"/documents/([0-9a-f-]{36})", listing) if d != str(old)]
    assert any(
        "Claire Conseil" in second.get(f"/documents/{d}").get_data(as_text=True) for d in new
    )


def lines(client: FlaskClient, query: str = "") -> list[str]:
    html = client.get(f"/journal/{query}").get_data(as_text=True)
    return re.findall(r"<li[^>]*>\s*<time[^>]*>[^<]*</time>\s*<span>(.*?)</span>", html, re.S)


def test_journal_tells_who_did_what_with_filters(app: Flask, cast: Cast) -> None:
    client = signed_in(app, cast.alice)
    post(
        client,
        f"/partages/document/{cast.doc}",
        {"counsellor": str(cast.claire.user.id), "duration": "90"},
    )
    deposit(app, cast, "Certificat de présence")
    with app.app_context():
        db = db_session()
        sharing.request_document(db, user(cast.claire), user(cast.alice), "cv", "")
        # What the counsellor side journals when Claire opens the shared card.
        journal.append(
            db,
            vault_id=cast.alice.user.id,
            action="document.viewed",
            actor=user(cast.claire),
            document_id=cast.doc,
        )
        db.commit()
    everything = lines(client)
    by_counsellors = lines(client, "?qui=conseillers")
    assert len(by_counsellors) == 3  # deposit, request, view
    assert all("Claire Conseil" in line for line in by_counsellors)
    assert any("Certificat de présence" in line for line in by_counsellors)
    assert any("Carte d&#39;identité" in line for line in by_counsellors)
    with app.app_context():
        by_alice = (
            db_session()
            .execute(
                select(func.count())
                .select_from(JournalEvent)
                .where(JournalEvent.actor_id == cast.alice.user.id)
            )
            .scalar_one()
        )
    assert len(lines(client, "?qui=moi")) == by_alice >= 3  # activation, sign-in, share
    sharing_lines = lines(client, "?quoi=partages")
    # The assignment by the administrator, Alice's share, Claire's request.
    assert len(sharing_lines) == 3
    assert any("Ada Admin" in line and "Claire Conseil" in line for line in sharing_lines)
    others = lines(client, "?qui=autres&quoi=partages")
    assert len(others) == 1 and "Ada Admin" in others[0]
    documents_by_counsellors = lines(client, "?qui=conseillers&quoi=documents")
    assert len(documents_by_counsellors) == 2
    account = lines(client, "?quoi=connexions")
    assert account and len(account) < len(everything)
    # Unknown filter values show everything.
    assert len(lines(client, "?qui=x&quoi=y")) == len(everything)


@pytest.mark.parametrize(
    ("action", "actor_role", "details"),
    [
        ("share.created", "person", {"counsellor": "C"}),
        ("share.category_created", "person", {"counsellor": "C", "category": "health"}),
        ("share.revoked", "person", {"counsellor": "C", "category": None}),
        ("share.revoked", "person", {"counsellor": "C", "category": "health"}),
        ("document.deposited", "counsellor", {"category": "justice", "type": "judgment"}),
        ("request.created", "counsellor", {"type": "cv"}),
        ("request.answered", "person", {"type": "cv"}),
        ("link.created", "person", {"recipient": "employer", "status": "active", "days": 7}),
        ("link.created", "person", {"recipient": "lawyer", "status": "pending", "days": 7}),
        ("link.revoked", "person", {}),
        ("link.opened", None, {"recipient": "employer"}),
        ("link.wrong_pin", None, {}),
        ("link.approved", "counsellor", {}),
        ("link.refused", "counsellor", {}),
        ("assignment.started", "administrator", {"counsellor": "C"}),
        ("assignment.ended", "administrator", {"counsellor": "C"}),
        ("document.viewed", "counsellor", {}),
        ("document.downloaded", "counsellor", {}),
    ],
)
def test_every_sharing_action_reads_as_a_sentence(
    app: Flask, action: str, actor_role: str | None, details: dict[str, object]
) -> None:
    import json

    person = User(id=uuid.uuid4(), role="person", display_name="Alice Arnaud")
    counsellor = User(id=uuid.uuid4(), role="counsellor", display_name="Claire Conseil")
    admin = User(id=uuid.uuid4(), role="administrator", display_name="Ada Admin")
    actors = {"person": person, "counsellor": counsellor, "administrator": admin, None: None}
    actor = actors[actor_role]
    document_id = uuid.uuid4()
    filled = {k: (str(counsellor.id) if v == "C" else v) for k, v in details.items()}
    event = JournalEvent(
        vault_id=person.id,
        seq=1,
        time=utcnow(),
        actor_id=actor.id if actor else None,
        actor_role=actor_role or "system",
        action=action,
        document_id=document_id,
        outcome="refused" if action == "link.wrong_pin" else "ok",
        details=json.dumps(filled),
    )
    with app.test_request_context():
        line = describe(
            event, person, actor, {document_id: "Carte Vitale"}, {counsellor.id: counsellor}
        )
    assert action not in line.text, line.text  # not the "Other operation (...)" fallback
    if filled.get("counsellor") and actor_role != "counsellor":
        assert "Claire Conseil" in line.text
    if actor_role in ("counsellor", "administrator"):
        assert actor.display_name in line.text  # type: ignore[union-attr]
    if action.startswith(("share.created", "document.", "link.", "request.answered")):
        assert "Carte Vitale" in line.text
