"""Sharing, deposits, requests and external links at the service level (real databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import decrypt_bytes
from tests.factories import Account, make_account, make_document, pdf_bytes
from tests.helpers import user
from vault.core.db import db_session
from vault.core.errors import NotFound, PolicyError, Throttled
from vault.core.extensions import get_keyring, get_store
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.models import Document, Role, Share, ShareKey, User
from vault.models.base import utcnow
from vault.sharing import links
from vault.sharing import service as sharing


@pytest.fixture
def people(app: Flask) -> dict[str, Account]:
    accounts = {
        "a": make_account(app, first="Alice", last="A"),
        "b": make_account(app, first="Bruno", last="B"),
        "cpip": make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip"),
        "other_cpip": make_account(app, Role.COUNSELLOR, first="Otto", last="Cpip"),
        "admin": make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"),
    }
    with app.app_context():
        db = db_session()
        admin = db.get(User, accounts["admin"].user.id)
        for person in ("a", "b"):
            sharing.assign(
                db,
                db.get(User, accounts[person].user.id),
                db.get(User, accounts["cpip"].user.id),
                by=admin,
            )  # type: ignore[arg-type]
        db.commit()
    return accounts


def owner(account: Account) -> Unlocked:
    user = db_session().get(User, account.user.id)
    assert user is not None
    return Unlocked(user, account.key)


def read(app: Flask, opened: sharing.OpenedShare) -> bytes:
    with get_store(app).open(opened.version.blob.key) as reader:
        blob = reader.read()
    from crypto import blob_aad

    return decrypt_bytes(
        opened.dek,
        blob_aad(opened.document.vault_id, opened.document.id, opened.version.version),
        blob,
    )


def test_share_open_revoke(app: Flask, people: dict[str, Account], db: Session) -> None:
    content = pdf_bytes("vitale")
    doc = make_document(
        app,
        people["a"],
        content,
        title="Carte Vitale",
        category="health",
        doc_type="social_security_card",
    )
    share = sharing.share_document(
        db, get_keyring(), owner(people["a"]), db.get(Document, doc.id), people["cpip"].user.id
    )  # type: ignore[arg-type]
    db.commit()
    cpip, key = user(people["cpip"]), people["cpip"].key
    listed = sharing.shared_with(db, cpip, key, user(people["a"]))
    assert [s.title for s in listed] == ["Carte Vitale"]
    opened = sharing.open_shared(db, cpip, key, user(people["a"]), doc.id)
    assert read(app, opened) == content
    # Not shared with the other counsellor, who is not even assigned.
    with pytest.raises(NotFound):
        sharing.open_shared(
            db, user(people["other_cpip"]), people["other_cpip"].key, user(people["a"]), doc.id
        )
    # Person B's id with A's document: refused.
    with pytest.raises(NotFound):
        sharing.open_shared(db, cpip, key, user(people["b"]), doc.id)
    sharing.revoke(db, owner(people["a"]), share.id)
    db.commit()
    with pytest.raises(NotFound):
        sharing.open_shared(db, cpip, key, user(people["a"]), doc.id)
    assert db.execute(select(ShareKey).where(ShareKey.share_id == share.id)).first() is None


def test_expired_share_fails_the_check_and_the_key(
    app: Flask, people: dict[str, Account], db: Session
) -> None:
    doc = make_document(app, people["a"])
    share = sharing.share_document(
        db,
        get_keyring(),
        owner(people["a"]),
        db.get(Document, doc.id),
        people["cpip"].user.id,
        days=1,
    )  # type: ignore[arg-type]
    db.commit()
    cpip = user(people["cpip"])
    share.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert not sharing.share_is_active(share, user(people["a"]))
    with pytest.raises(NotFound):
        sharing.open_shared(db, cpip, people["cpip"].key, user(people["a"]), doc.id)
    # Pushing the date back in the database does not reopen the sealed key.
    share.expires_at = utcnow() + timedelta(days=365)
    db.commit()
    with pytest.raises(NotFound):
        sharing.open_shared(db, cpip, people["cpip"].key, user(people["a"]), doc.id)


def test_standing_category_share_covers_uploads_and_deposits(
    app: Flask, people: dict[str, Account]
) -> None:
    with app.app_context():
        db = db_session()
        sharing.share_category(
            db, get_keyring(), owner(people["a"]), "housing", people["cpip"].user.id
        )
        db.commit()
    uploaded = make_document(app, people["a"], title="Bail", category="housing", doc_type="lease")
    make_document(app, people["a"], title="Passeport", category="identity", doc_type="passport")
    with app.app_context():
        db = db_session()
        deposit = sharing.deposit_document(
            db,
            get_store(),
            get_keyring(),
            user(people["admin"]),
            user(people["a"]),
            [pdf_bytes("attestation")],
            mime="application/pdf",
            title="Attestation d'hébergement",
            filename="h.pdf",
            category="housing",
            doc_type="accommodation_certificate",
        )
        db.commit()
        titles = {
            s.title
            for s in sharing.shared_with(
                db, user(people["cpip"]), people["cpip"].key, user(people["a"])
            )
        }
        assert titles == {"Bail", "Attestation d'hébergement"}
        assert uploaded.id in {
            s.document.id
            for s in sharing.shared_with(
                db, user(people["cpip"]), people["cpip"].key, user(people["a"])
            )
        }
        assert deposit.meta_sealed


def test_depositor_cannot_read_back_and_owner_takes_it_in(
    people: dict[str, Account], db: Session
) -> None:
    content = pdf_bytes("certificat")
    deposit = sharing.deposit_document(
        db,
        get_store(),
        get_keyring(),
        user(people["cpip"]),
        user(people["a"]),
        [content],
        mime="application/pdf",
        title="Certificat",
        filename="c.pdf",
        category="justice",
        doc_type="detention_certificate",
    )
    db.commit()
    with pytest.raises(NotFound):
        sharing.open_shared(
            db, user(people["cpip"]), people["cpip"].key, user(people["a"]), deposit.id
        )
    # An unassigned counsellor cannot deposit.
    with pytest.raises(NotFound):
        sharing.deposit_document(
            db,
            get_store(),
            get_keyring(),
            user(people["other_cpip"]),
            user(people["a"]),
            [content],
            mime="application/pdf",
            title="x",
            filename="x.pdf",
            category="other",
            doc_type="other",
        )
    assert sharing.take_in_deposits(db, get_keyring(), owner(people["a"])) == 1
    db.commit()
    doc = db.get(Document, deposit.id)
    assert doc is not None and not doc.meta_sealed
    assert documents.document_meta(owner(people["a"]), doc).title == "Certificat"
    version = documents.current_version(db, doc)
    assert (
        b"".join(documents.read_content(get_store(), get_keyring(), owner(people["a"]), version))
        == content
    )


def test_requests_are_answered_by_sharing(
    app: Flask, people: dict[str, Account], db: Session
) -> None:
    doc = make_document(app, people["a"], title="CV", category="work", doc_type="cv")
    request = sharing.request_document(
        db, user(people["cpip"]), user(people["a"]), "cv", "Pour le rendez-vous"
    )
    db.commit()
    with pytest.raises(NotFound):
        sharing.request_document(db, user(people["other_cpip"]), user(people["a"]), "cv", "")
    with pytest.raises(NotFound):  # B cannot answer A's request
        sharing.answer_request(
            db, get_keyring(), owner(people["b"]), request.id, db.get(Document, doc.id)
        )  # type: ignore[arg-type]
    sharing.answer_request(
        db, get_keyring(), owner(people["a"]), request.id, db.get(Document, doc.id)
    )  # type: ignore[arg-type]
    db.commit()
    assert request.status == "answered"
    assert [
        s.title
        for s in sharing.shared_with(
            db, user(people["cpip"]), people["cpip"].key, user(people["a"])
        )
    ] == ["CV"]


def test_ending_an_assignment_ends_access(
    app: Flask, people: dict[str, Account], db: Session
) -> None:
    doc = make_document(app, people["a"])
    sharing.share_document(
        db, get_keyring(), owner(people["a"]), db.get(Document, doc.id), people["cpip"].user.id
    )  # type: ignore[arg-type]
    assignment = sharing.active_assignment(db, people["a"].user.id, people["cpip"].user.id)
    assert assignment is not None
    sharing.end_assignment(db, assignment, by=user(people["admin"]))
    db.commit()
    with pytest.raises(NotFound):
        sharing.shared_with(db, user(people["cpip"]), people["cpip"].key, user(people["a"]))
    assert all(
        s.revoked_at
        for s in db.execute(select(Share)).scalars()
        if s.vault_id == people["a"].user.id
    )


def test_external_link_lifecycle(app: Flask, people: dict[str, Account], db: Session) -> None:
    content = pdf_bytes("diplome")
    doc = make_document(
        app, people["a"], content, title="Diplôme", category="education", doc_type="diploma"
    )
    with pytest.raises(PolicyError):
        links.create_link(
            db, get_keyring(), owner(people["a"]), doc.id, recipient="employer", days=31
        )
    link, token = links.create_link(
        db,
        get_keyring(),
        owner(people["a"]),
        doc.id,
        recipient="employer",
        days=7,
        pin="4321",
        max_downloads=2,
    )
    db.commit()
    assert link.status == "active"  # no establishment: no detention policy
    with pytest.raises(links.WrongPin):
        links.open_link(db, get_keyring(), token, "0000")
    opened = links.open_link(db, get_keyring(), token, "4321")
    assert opened.title == "Diplôme"
    links.open_link(db, get_keyring(), token, "4321")
    with pytest.raises(links.LinkGone):  # capped
        links.open_link(db, get_keyring(), token, "4321")
    with pytest.raises(NotFound):
        links.open_link(db, get_keyring(), token + "x", "4321")
    link2, token2 = links.create_link(
        db, get_keyring(), owner(people["a"]), doc.id, recipient="lawyer", days=1
    )
    links.revoke_link(db, owner(people["a"]), link2.id)
    with pytest.raises(links.LinkGone):
        links.open_link(db, get_keyring(), token2, None)
    link3, token3 = links.create_link(
        db, get_keyring(), owner(people["a"]), doc.id, recipient="landlord", days=1, pin="1234"
    )
    for _ in range(links.FREE_PIN_FAILURES):
        with pytest.raises(links.WrongPin):
            links.open_link(db, get_keyring(), token3, "9999")
    with pytest.raises(Throttled):
        links.open_link(db, get_keyring(), token3, "1234")
    link3.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(links.LinkGone):
        links.open_link(db, get_keyring(), token3, "1234")
