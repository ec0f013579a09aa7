"""The counsellor's side over HTTP: home, person page, shared documents, deposits,
requests, link approvals; and the release checklist. Real databases (SQLite and
PostgreSQL) through the `app` fixture.
"""

from __future__ import annotations

import html
import io
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.clock import utc_today
from tests.conftest import make_settings
from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    make_establishment,
    open_pending,
    pdf_bytes,
    png_bytes,
    signed_in,
)
from tests.helpers import fail_commits_once_a_blob_is_stored, text_of
from tests.helpers import user as _user
from tests.integration.served_app import fresh_postgresql
from vault import create_app
from vault.core.catalog import TYPE_LABELS
from vault.core.db import db_session, get_database
from vault.core.extensions import get_keyring, get_store
from vault.documents import deposits
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.documents.uploads import clean_title
from vault.lifecycle import checklist
from vault.lifecycle import service as lifecycle
from vault.lifecycle.checklist import RELEASE_CHECKLIST, Status, evaluate
from vault.models import (
    Blob,
    Document,
    DocumentRequest,
    ExternalLink,
    JournalEvent,
    Role,
    Share,
    User,
)
from vault.models.base import utcnow
from vault.sharing import links
from vault.sharing import service as sharing
from vault.sharing.views.counsellor import caseload


@dataclass
class People:
    a: Account  # followed by cpip; shares a document with them
    b: Account  # followed by cpip; shares nothing
    c: Account  # followed by nobody
    cpip: Account
    other_cpip: Account  # follows nobody
    admin: Account


def _assign(app: Flask, person: Account, counsellor: Account, admin: Account) -> None:
    with app.app_context():
        db = db_session()
        sharing.assign(db, _user(person), _user(counsellor), by=_user(admin))
        db.commit()


def _share(app: Flask, owner: Account, document: Document, counsellor: Account) -> Share:
    with app.app_context():
        db = db_session()
        doc = db.get(Document, document.id)
        assert doc is not None
        share = sharing.share_document(
            db, get_keyring(), Unlocked(_user(owner), owner.key), doc, counsellor.user.id
        )
        db.commit()
        return share


@pytest.fixture
def people(app: Flask) -> People:
    group = People(
        a=make_account(app, first="Alice", last="Arnaud", prison_number="E-1001"),
        b=make_account(app, first="Bruno", last="Barre", prison_number="E-2002"),
        c=make_account(app, first="Chloé", last="Colin", prison_number="E-3003"),
        cpip=make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip"),
        other_cpip=make_account(app, Role.COUNSELLOR, first="Otto", last="Autre"),
        admin=make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"),
    )
    _assign(app, group.a, group.cpip, group.admin)
    _assign(app, group.b, group.cpip, group.admin)
    return group


@contextmanager
def rendered(app: Flask) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The (template name, context) of each page rendered meanwhile."""
    recorded: list[tuple[str, dict[str, Any]]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        recorded.append((template.name, context))

    template_rendered.connect(record, app)
    try:
        yield recorded
    finally:
        template_rendered.disconnect(record, app)


def events(app: Flask, vault_id: uuid.UUID, action: str) -> list[JournalEvent]:
    with app.app_context():
        return list(
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.vault_id == vault_id, JournalEvent.action == action
                )
            )
            .scalars()
        )


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        db = db_session()
        docs = db.execute(select(func.count()).select_from(Document)).scalar_one()
        blobs = db.execute(select(func.count()).select_from(Blob)).scalar_one()
    return docs, blobs, len(list(get_store(app).list("documents")))


# --- home ---------------------------------------------------------------------------------


def test_home_lists_followed_people_with_their_numbers(app: Flask, people: People) -> None:
    shared = make_document(app, people.a, title="Carte d'identité", doc_type="id_card")
    _share(app, people.a, shared, people.cpip)
    make_document(app, people.a, title="Mon CV", category="work", doc_type="cv")
    with app.app_context():
        db = db_session()
        sharing.request_document(db, _user(people.cpip), _user(people.a), "bank_details", "")
        # Another counsellor's request to the same person is not "mine".
        sharing.assign(db, _user(people.a), _user(people.other_cpip), by=_user(people.admin))
        sharing.request_document(db, _user(people.other_cpip), _user(people.a), "cv", "")
        db.commit()
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        response = client.get("/suivi/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Alice Arnaud" in page and "Bruno Barre" in page
    assert "Chloé Colin" not in page
    rows = {row.person.display_name: row for row in pages[0][1]["rows"]}
    assert set(rows) == {"Alice Arnaud", "Bruno Barre"}
    alice = rows["Alice Arnaud"]
    assert (alice.shared, alice.open_requests) == (1, 1)
    assert alice.checklist.done == 2  # identity and CV
    assert rows["Bruno Barre"].shared == 0
    # Activation is the person's own doing: it counts as activity.
    assert alice.last_activity is not None


def test_home_reads_its_page_in_one_statement(
    app: Flask, people: People, detained: Account
) -> None:
    """Every figure and every count waiting is a column of the page's statement (D-207).

    With something of each kind to count: a share, a request, a document
    for the checklist, a link waiting. A figure read apart, or per person,
    adds statements.
    """
    card = make_document(app, people.a, title="Carte", doc_type="id_card")
    _share(app, people.a, card, people.cpip)
    diploma = make_document(
        app, detained, title="Diplôme", category="education", doc_type="diploma"
    )
    _link(app, detained, diploma, "employer")  # her establishment asks for an approval
    with app.app_context():
        db = db_session()
        sharing.request_document(db, _user(people.cpip), _user(people.a), "cv", "")
        db.commit()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with app.app_context():
        db = db_session()
        me = db.get(User, people.cpip.user.id)  # the signed-in account, as every page loads it
        assert me is not None
        event.listen(Engine, "before_cursor_execute", count)
        try:
            home = caseload(db, me, "")
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    [alice] = [row for row in home.rows if row.person.id == people.a.user.id]
    assert (alice.shared, alice.open_requests, home.pending_links) == (1, 1, 1)


def test_home_checklists_are_each_persons_checklist(app: Flask, people: People) -> None:
    """Read with the page's statement (D-207), as `checklist.for_people` reads them apart."""
    today = utc_today()
    for doc_type, category, expiry in [
        ("id_card", "identity", today + timedelta(days=30)),  # expires soon
        ("passport", "identity", today - timedelta(days=400)),
        ("cv", "work", None),
        ("bank_details", "benefits", today - timedelta(days=10)),
        ("bank_details", "benefits", today - timedelta(days=2)),
        ("payslip", "work", today - timedelta(days=1)),  # in no item
    ]:
        make_document(app, people.a, category=category, doc_type=doc_type, expiry_date=expiry)
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        assert client.get("/suivi/").status_code == 200
    shown = {row.person.id: row.checklist for row in pages[0][1]["rows"]}
    with app.app_context():
        expected = checklist.for_people(db_session(), list(shown), today=today)

    def states(c: checklist.Checklist) -> list[tuple[str, Status, date | None]]:
        return [(s.item.code, s.status, s.expiry_date) for s in c.items]

    assert {k: states(v) for k, v in shown.items()} == {k: states(v) for k, v in expected.items()}
    alice = states(shown[people.a.user.id])
    assert ("identity", Status.EXPIRING, today + timedelta(days=30)) in alice
    assert ("bank_details", Status.EXPIRED, today - timedelta(days=2)) in alice
    assert states(shown[people.b.user.id]) == states(evaluate([], today=today))


def test_home_counts_each_shared_document_once_and_only_while_shared(
    app: Flask, people: People
) -> None:
    card = make_document(app, people.a, title="Carte d'identité", doc_type="id_card")
    cv = make_document(app, people.a, title="Mon CV", category="work", doc_type="cv")
    payslip = make_document(app, people.a, title="Bulletin", category="work", doc_type="payslip")
    _share(app, people.a, card, people.cpip)
    revoked = _share(app, people.a, cv, people.cpip)
    expired = _share(app, people.a, payslip, people.cpip)
    with app.app_context():
        db = db_session()
        owner = Unlocked(_user(people.a), people.a.key)
        # The card again, through a standing share of its category.
        sharing.share_category(db, get_keyring(), owner, "identity", people.cpip.user.id)
        sharing.revoke(db, owner, revoked.id)
        row = db.get(Share, expired.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        assert client.get("/suivi/").status_code == 200
    rows = {row.person.display_name: row for row in pages[0][1]["rows"]}
    assert rows["Alice Arnaud"].shared == 1  # the card, once


def test_last_activity_is_what_the_person_did(app: Flask, people: People) -> None:
    document = make_document(app, people.a)
    _share(app, people.a, document, people.cpip)
    with app.app_context():
        before = (
            db_session()
            .execute(
                select(func.max(JournalEvent.time)).where(
                    JournalEvent.vault_id == people.a.user.id,
                    JournalEvent.actor_id == people.a.user.id,
                )
            )
            .scalar_one()
        )
    client = signed_in(app, people.cpip)
    assert client.get(f"/suivi/{people.a.user.id}/documents/{document.id}").status_code == 200
    with rendered(app) as pages:
        client.get("/suivi/")
    rows = {row.person.id: row for row in pages[0][1]["rows"]}
    # The counsellor's own reading is on the person's chain, but is not their activity.
    assert rows[people.a.user.id].last_activity == before


@pytest.mark.parametrize(
    ("query", "expected"),
    [("bruno", {"Bruno Barre"}), ("E-1001", {"Alice Arnaud"}), ("e-", None), ("Chloé", set())],
)
def test_home_search_by_name_or_prison_number(
    app: Flask, people: People, query: str, expected: set[str] | None
) -> None:
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        assert client.get("/suivi/", query_string={"q": query}).status_code == 200
    names = {row.person.display_name for row in pages[0][1]["rows"]}
    assert names == (expected if expected is not None else {"Alice Arnaud", "Bruno Barre"})


def test_the_home_shows_twenty_people_a_page_in_name_order(app: Flask, people: People) -> None:
    """D-203: a page of the caseload at a time; the total counts only those followed now."""
    names = ["Alice Arnaud", "Bruno Barre"]
    for k in range(21):
        new = open_pending(app, first=f"Zoé{k:02d}", last="Zed")
        with app.app_context():
            db = db_session()
            person = db.get(User, new.user.id)
            assert person is not None
            sharing.assign(db, person, _user(people.cpip), by=_user(people.admin))
            if k == 20:
                # Released without follow-up, grace period over: no longer followed.
                lifecycle.record_release(
                    db,
                    person,
                    utc_today() - timedelta(days=40),
                    followup_continues=False,
                    by=_user(people.admin),
                    grace_days=30,
                    today=utc_today(),
                )
            else:
                names.append(person.display_name)
            db.commit()
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        first = client.get("/suivi/")
        client.get("/suivi/", query_string={"page": "2"})
        client.get("/suivi/", query_string={"page": "9"})  # beyond the end
        client.get("/suivi/", query_string={"page": "deux"})  # not a number
        client.get("/suivi/", query_string={"page": "2", "q": "zoé1"})

    def shown(k: int) -> list[str]:
        return [row.person.display_name for row in pages[k][1]["rows"]]

    assert len(shown(0)) == 20 and len(shown(1)) == 2
    assert shown(0) + shown(1) == sorted(names)
    assert pages[0][1]["total"] == 22 and pages[0][1]["pages"] == 2
    assert shown(2) == shown(1)  # the last page
    assert shown(3) == shown(0)  # the first
    # A search has its own pages: ten names begin with Zoé1, one page.
    assert pages[4][1]["page"] == 1 and shown(4) == [f"Zoé1{k} Zed" for k in range(10)]
    html = first.get_data(as_text=True)
    assert "Page 1 sur 2" in html and "page=2" in html


def test_home_of_a_counsellor_who_follows_nobody(app: Flask, people: People) -> None:
    client = signed_in(app, people.other_cpip)
    with rendered(app) as pages:
        response = client.get("/suivi/")
    assert response.status_code == 200
    assert pages[0][1]["rows"] == []
    assert "administrateur" in response.get_data(as_text=True)


# --- person page --------------------------------------------------------------------------


def test_person_page_is_404_unless_followed(app: Flask, people: People) -> None:
    client = signed_in(app, people.cpip)
    for person_id in (people.c.user.id, people.cpip.user.id, people.admin.user.id, uuid.uuid4()):
        assert client.get(f"/suivi/{person_id}/").status_code == 404
    other = signed_in(app, people.other_cpip)
    assert other.get(f"/suivi/{people.a.user.id}/").status_code == 404


def test_person_page_shows_shared_titles_checklist_and_requests(app: Flask, people: People) -> None:
    shared = make_document(
        app, people.a, title="Carte Vitale", category="health", doc_type="social_security_card"
    )
    make_document(
        app, people.a, title="Lettre très privée", category="family", doc_type="family_other"
    )
    _share(app, people.a, shared, people.cpip)
    with app.app_context():
        db = db_session()
        sharing.request_document(
            db, _user(people.cpip), _user(people.a), "proof_of_address", "Pour le logement"
        )
        db.commit()
    client = signed_in(app, people.cpip)
    with rendered(app) as pages:
        response = client.get(f"/suivi/{people.a.user.id}/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Carte Vitale" in page
    assert "Lettre très privée" not in page
    assert "Pour le logement" in page
    assert f"/depots/{people.a.user.id}" in page
    assert f"/suivi/{people.a.user.id}/demander" in page
    context = pages[0][1]
    states = {s.item.code: s.status for s in context["checklist"].items}
    assert states["social_security"] == Status.PRESENT
    assert states["address"] == Status.MISSING
    assert [r.status for r in context["requests"]] == ["open"]


# --- reading a shared document --------------------------------------------------------------


def test_counsellor_reads_and_downloads_and_the_person_journal_says_so(
    app: Flask, people: People
) -> None:
    content = pdf_bytes("attestation-secu")
    document = make_document(
        app,
        people.a,
        content,
        title="Attestation Sécu",
        category="health",
        doc_type="social_security_certificate",
    )
    _share(app, people.a, document, people.cpip)
    client = signed_in(app, people.cpip)
    base = f"/suivi/{people.a.user.id}/documents/{document.id}"
    page = client.get(base)
    assert page.status_code == 200
    assert "Attestation Sécu" in page.get_data(as_text=True)
    response = client.get(base + "/telecharger")
    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    for action in ("document.viewed", "document.downloaded"):
        [event] = events(app, people.a.user.id, action)
        assert event.actor_id == people.cpip.user.id
        assert event.actor_role == "counsellor"
        assert event.document_id == document.id
    # Not on the counsellor's own chain.
    assert events(app, people.cpip.user.id, "document.viewed") == []
    journal = signed_in(app, people.a).get("/journal/").get_data(as_text=True)
    assert "<bdi>Claire Cpip</bdi>" in journal and "« <bdi>Attestation Sécu</bdi> »" in journal


def test_person_b_documents_are_unreachable_through_person_a(app: Flask, people: People) -> None:
    a_doc = make_document(app, people.a, title="Doc d'Alice")
    b_doc = make_document(app, people.b, title="Doc de Bruno")
    c_doc = make_document(app, people.c, title="Doc de Chloé")
    _share(app, people.a, a_doc, people.cpip)
    client = signed_in(app, people.cpip)
    a, b, c = people.a.user.id, people.b.user.id, people.c.user.id
    paths = [
        f"/suivi/{a}/documents/{b_doc.id}",  # B's document under A's id
        f"/suivi/{b}/documents/{b_doc.id}",  # followed, but not shared
        f"/suivi/{b}/documents/{a_doc.id}",  # A's shared document under B's id
        f"/suivi/{c}/documents/{c_doc.id}",  # not followed
        f"/suivi/{c}/documents/{a_doc.id}",
        f"/suivi/{a}/documents/{uuid.uuid4()}",
    ]
    for path in paths:
        for suffix in ("", "/telecharger"):
            response = client.get(path + suffix)
            assert response.status_code == 404, path + suffix
            assert "Doc de" not in response.get_data(as_text=True)
    # The share is the counsellor's alone: another counsellor, even assigned, gets 404.
    _assign(app, people.a, people.other_cpip, people.admin)
    other = signed_in(app, people.other_cpip)
    assert other.get(f"/suivi/{a}/documents/{a_doc.id}").status_code == 404
    assert other.get(f"/suivi/{a}/documents/{a_doc.id}/telecharger").status_code == 404
    for vault in (a, b, c):
        assert events(app, vault, "document.viewed") == []
        assert events(app, vault, "document.downloaded") == []


def test_revoked_and_expired_shares_fail_on_every_route(app: Flask, people: People) -> None:
    revoked = make_document(app, people.a, title="Révoqué")
    expired = make_document(app, people.a, title="Expiré", category="work", doc_type="cv")
    revoked_share = _share(app, people.a, revoked, people.cpip)
    expired_share = _share(app, people.a, expired, people.cpip)
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    assert client.get(f"/suivi/{a}/documents/{revoked.id}").status_code == 200
    with app.app_context():
        db = db_session()
        sharing.revoke(db, Unlocked(_user(people.a), people.a.key), revoked_share.id)
        share = db.get(Share, expired_share.id)
        assert share is not None
        share.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    for document in (revoked, expired):
        base = f"/suivi/{a}/documents/{document.id}"
        assert client.get(base).status_code == 404
        assert client.get(base + "/telecharger").status_code == 404
    page = client.get(f"/suivi/{a}/").get_data(as_text=True)
    assert "Révoqué" not in page and "Expiré" not in page


def test_ending_the_assignment_closes_every_route(app: Flask, people: People) -> None:
    document = make_document(app, people.a)
    _share(app, people.a, document, people.cpip)
    with app.app_context():
        db = db_session()
        assignment = sharing.active_assignment(db, people.a.user.id, people.cpip.user.id)
        assert assignment is not None
        sharing.end_assignment(db, assignment, by=_user(people.admin))
        db.commit()
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    for path in (
        f"/suivi/{a}/",
        f"/suivi/{a}/documents/{document.id}",
        f"/suivi/{a}/documents/{document.id}/telecharger",
        f"/suivi/{a}/demander",
        f"/depots/{a}",
    ):
        assert client.get(path).status_code == 404, path


# --- deposits ---------------------------------------------------------------------------


def deposit(
    client: FlaskClient,
    person_id: uuid.UUID,
    content: bytes,
    *,
    token: str | None = None,
    title: str = "Attestation d'hébergement",
    category: str = "housing",
    doc_type: str = "accommodation_certificate",
    expiry: str = "",
    filename: str = "attestation.pdf",
    headers: dict[str, str] | None = None,
) -> Any:
    data: dict[str, object] = {}
    if token != "":
        data["csrf_token"] = token or csrf_token(client, f"/depots/{person_id}")
    data |= {
        "title": title,
        "category": category,
        "doc_type": doc_type,
        "expiry_date": expiry,
        "file": (io.BytesIO(content), filename),
    }
    return client.post(
        f"/depots/{person_id}", data=data, content_type="multipart/form-data", headers=headers
    )


def test_counsellor_deposits_and_cannot_read_it_back(app: Flask, people: People) -> None:
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    assert client.get(f"/depots/{a}").status_code == 200
    response = deposit(client, a, pdf_bytes("hébergement"), expiry="2031-05-01")
    assert response.status_code == 302
    assert response.location.endswith(f"/suivi/{a}/")
    notice = client.get(response.location).get_data(as_text=True)
    assert "Vous ne pouvez pas" in notice
    with app.app_context():
        [document] = (
            db_session().execute(select(Document).where(Document.vault_id == a)).scalars().all()
        )
        assert document.deposited_by_id == people.cpip.user.id
        assert document.meta_sealed
        assert (document.doc_type, document.expiry_date) == (
            "accommodation_certificate",
            date(2031, 5, 1),
        )
    base = f"/suivi/{a}/documents/{document.id}"
    assert client.get(base).status_code == 404
    assert client.get(base + "/telecharger").status_code == 404
    # Listed as a deposit, by type only: the title is sealed to the person.
    with rendered(app) as pages:
        client.get(f"/suivi/{a}/")
    assert [d.id for d in pages[0][1]["deposits"]] == [document.id]
    [event] = events(app, a, "document.deposited")
    assert event.actor_id == people.cpip.user.id
    # The person finds it, with its title, at their next visit.
    page = signed_in(app, people.a).get("/documents/").get_data(as_text=True)
    assert "Attestation d'hébergement" in html.unescape(page)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # A right-to-left override shows "Convocation JAPexe.pdf" for an .exe name.
        ("Convocation JAP\u202efdp.exe", "Convocation JAPfdp.exe"),
        ("Relevé\u200b\u2066 de\tcompte\x00 ", "Relevé de compte"),
        (" .Attestation\u2028CAF. ", "Attestation CAF"),
    ],
)
def test_deposit_titles_are_cleaned_like_the_persons_own(
    app: Flask, people: People, typed: str, stored: str
) -> None:
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    assert deposit(client, a, pdf_bytes("convocation"), title=typed).status_code == 302
    # The person's own upload of the same title keeps exactly the same thing.
    assert clean_title(typed) == stored
    signed_in(app, people.a).get("/documents/")  # takes the deposit in
    with app.app_context():
        db = db_session()
        [document] = db.execute(select(Document).where(Document.vault_id == a)).scalars().all()
        person = db.get(User, a)
        assert person is not None
        assert documents.document_meta(Unlocked(person, people.a.key), document).title == stored


def test_administrator_deposits_too(app: Flask, people: People) -> None:
    client = signed_in(app, people.admin)
    c = people.c.user.id  # administrators need no assignment
    response = deposit(client, c, png_bytes(), category="justice", doc_type="release_certificate")
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/comptes/{c}")
    with app.app_context():
        [document] = (
            db_session().execute(select(Document).where(Document.vault_id == c)).scalars().all()
        )
        assert (document.mime, document.deposited_by_id) == ("image/png", people.admin.user.id)


def test_deposit_by_script_gets_204_and_the_next_page(app: Flask, people: People) -> None:
    client = signed_in(app, people.cpip)
    response = deposit(
        client, people.a.user.id, pdf_bytes(), headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.status_code == 204
    assert response.headers["X-Vault-Location"].endswith(f"/suivi/{people.a.user.id}/")


def test_deposit_where_not_allowed_is_404_and_stores_nothing(app: Flask, people: People) -> None:
    before = counts(app)
    other = signed_in(app, people.other_cpip)
    assert other.get(f"/depots/{people.a.user.id}").status_code == 404
    token = csrf_token(other, "/activer")
    assert deposit(other, people.a.user.id, pdf_bytes(), token=token).status_code == 404
    cpip = signed_in(app, people.cpip)
    token = csrf_token(cpip, f"/depots/{people.a.user.id}")
    for target in (people.c.user.id, people.other_cpip.user.id, uuid.uuid4()):
        assert deposit(cpip, target, pdf_bytes(), token=token).status_code == 404
    assert counts(app) == before


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"content": b"PK\x03\x04" + b"\0" * 100}, 415, "pas accepté"),
        ({"content": b""}, 400, "vide"),
        ({"token": ""}, 400, "expiré"),
        # A type of another category is filed as the category's "other" (D-080):
        # only a missing or unknown category is refused.
        ({"category": "", "doc_type": "passport"}, 400, "catégorie"),
        ({"category": "nope", "doc_type": "nope"}, 400, "catégorie"),
        ({"expiry": "31/12/2030"}, 400, "Cette date n&#39;est pas possible"),
    ],
)
def test_bad_deposits_are_refused_and_nothing_is_stored(
    app: Flask, people: People, fields: dict[str, Any], status: int, message: str
) -> None:
    client = signed_in(app, people.cpip)
    before = counts(app)
    fields = dict(fields)  # parameters are shared by the runs on each database
    content = fields.pop("content", pdf_bytes())
    response = deposit(client, people.a.user.id, content, **fields)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert counts(app) == before
    assert events(app, people.a.user.id, "document.deposited") == []


def test_a_deposit_asked_for_a_type_opens_on_its_category(app: Flask, people: People) -> None:
    """`?type=` brings its category (D-080): the intake would otherwise file the
    paper as the "other" type of the category checked by default."""
    client = signed_in(app, people.cpip)
    page = client.get(f"/depots/{people.a.user.id}?type=tax_notice").get_data(as_text=True)
    assert re.search(r'name="category" value="benefits"[^>]*checked', page)
    assert '<option value="tax_notice" selected>' in page
    page = client.get(f"/depots/{people.a.user.id}").get_data(as_text=True)
    assert re.search(r'name="category" value="other"[^>]*checked', page)


def test_deposit_respects_the_person_quota(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> None:
    app = make_app(database_url=database_url, vault_quota_bytes=3000, max_upload_bytes=2000)
    get_database(app).bind_to(connection)
    person = make_account(app)
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    _assign(app, person, counsellor, admin)
    doc = pdf_bytes()
    doc += b"%" * (1800 - len(doc))
    make_document(app, person, doc)
    client = signed_in(app, counsellor)
    before = counts(app)
    response = deposit(client, person.user.id, doc)
    assert response.status_code == 413
    assert "coffre de cette personne est plein" in response.get_data(as_text=True)
    assert counts(app) == before


def test_two_concurrent_deposits_cannot_pass_the_quota_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each file fits the room left alone, not both: the intake re-checks the
    # quota under a lock of the person's row, so the second waits for the first
    # to commit and then counts it. Real commits on PostgreSQL, one connection
    # per request, both deposits held at the same point before the check.
    with fresh_postgresql() as url:
        app = create_app(
            replace(
                make_settings(tmp_path),
                database_url=url,
                vault_quota_bytes=3000,
                max_upload_bytes=2000,
            )
        )
        try:
            person = make_account(app)
            counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
            admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
            _assign(app, person, counsellor, admin)
            clients = [signed_in(app, counsellor) for _ in range(2)]
            tokens = [csrf_token(c, f"/depots/{person.user.id}") for c in clients]
            together = threading.Barrier(2, timeout=30)
            check_quota = deposits.check_quota

            def held(*args: Any, **kwargs: Any) -> None:
                together.wait()
                check_quota(*args, **kwargs)

            monkeypatch.setattr(deposits, "check_quota", held)
            doc = pdf_bytes()
            doc += b"%" * (1800 - len(doc))
            statuses: list[int] = []

            def one(i: int) -> None:
                response = deposit(clients[i], person.user.id, doc, token=tokens[i])
                statuses.append(response.status_code)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(statuses) == [302, 413]
            with app.app_context():
                db = db_session()
                assert documents.quota_used(db, person.user.id) == 1800
                stored = db.execute(select(func.count()).select_from(Blob)).scalar_one()
            # The refused deposit's blob went with it.
            assert stored == 1 == len(list(get_store(app).list("documents")))
        finally:
            get_database(app).dispose()
            get_store(app).close()


def test_a_deposit_named_only_by_its_file_gets_a_clean_title(app: Flask, people: People) -> None:
    # No title typed: the title comes from the file's name, cleaned of the bidi
    # override that would show "Convocation JAPexe.pdf" for an .exe.
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    response = deposit(
        client, a, pdf_bytes("convocation"), title="", filename="Convocation JAP\u202efdp.exe.pdf"
    )
    assert response.status_code == 302
    signed_in(app, people.a).get("/documents/")  # takes the deposit in
    with app.app_context():
        db = db_session()
        [document] = db.execute(select(Document).where(Document.vault_id == a)).scalars().all()
        person = db.get(User, a)
        assert person is not None
        meta = documents.document_meta(Unlocked(person, people.a.key), document)
        assert "\u202e" not in meta.title + meta.filename
        assert meta.title == "Convocation JAPfdp.exe"


def test_a_deposit_gets_the_full_csrf_check_with_its_referrer(app: Flask, people: People) -> None:
    # A valid token is not enough over HTTPS: like every form of the vault, a
    # deposit must come from the vault's own pages (Flask-WTF's strict
    # referrer check, which the token-only check skipped).
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    token = csrf_token(client, f"/depots/{a}")
    before = counts(app)
    for referrer in ({}, {"Referer": "https://elsewhere.example/depots"}):
        response = client.post(
            f"/depots/{a}",
            base_url="https://localhost",
            headers=referrer,
            data={
                "csrf_token": token,
                "title": "Attestation",
                "category": "housing",
                "doc_type": "accommodation_certificate",
                "file": (io.BytesIO(pdf_bytes()), "attestation.pdf"),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert "expiré" in response.get_data(as_text=True)
    assert counts(app) == before
    # From the vault's own page the same token passes.
    response = client.post(
        f"/depots/{a}",
        base_url="https://localhost",
        headers={"Referer": f"https://localhost/depots/{a}"},
        data={
            "csrf_token": token,
            "title": "Attestation",
            "category": "housing",
            "doc_type": "accommodation_certificate",
            "file": (io.BytesIO(pdf_bytes()), "attestation.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


# --- requests ---------------------------------------------------------------------------


def request_count(app: Flask) -> int:
    with app.app_context():
        return int(
            db_session().execute(select(func.count()).select_from(DocumentRequest)).scalar_one()
        )


def test_request_a_document(app: Flask, people: People) -> None:
    client = signed_in(app, people.cpip)
    a = people.a.user.id
    form = client.get(f"/suivi/{a}/demander", query_string={"type": "cv"})
    assert form.status_code == 200
    assert re.search(r'<option selected value="cv">', form.get_data(as_text=True))
    response = client.post(
        f"/suivi/{a}/demander",
        data={
            "doc_type": "bank_details",
            "message": "  Pour ouvrir vos droits  ",
            "csrf_token": csrf_token(client, f"/suivi/{a}/demander"),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        [request] = db_session().execute(select(DocumentRequest)).scalars().all()
        assert (request.vault_id, request.counsellor_id) == (a, people.cpip.user.id)
        assert (request.doc_type, request.status) == ("bank_details", "open")
        # Sealed to each of them; each opens their own copy, trimmed.
        for reader in (people.cpip, people.a):
            opened = sharing.request_messages([request], _user(reader), reader.key)
            assert opened == {request.id: "Pour ouvrir vos droits"}
        assert sharing.request_messages([request], _user(people.b), people.b.key) == {}
    page = client.get(f"/suivi/{a}/").get_data(as_text=True)
    assert str(TYPE_LABELS["bank_details"]) in page or "RIB" in page
    assert "Pour ouvrir vos droits" in page


def test_request_for_someone_not_followed_is_refused_and_creates_nothing(
    app: Flask, people: People
) -> None:
    client = signed_in(app, people.cpip)
    token = csrf_token(client, f"/suivi/{people.a.user.id}/demander")
    for target in (people.c.user.id, people.other_cpip.user.id, uuid.uuid4()):
        assert client.get(f"/suivi/{target}/demander").status_code == 404
        response = client.post(
            f"/suivi/{target}/demander", data={"doc_type": "cv", "csrf_token": token}
        )
        assert response.status_code == 404
    other = signed_in(app, people.other_cpip)
    response = other.post(
        f"/suivi/{people.a.user.id}/demander",
        data={"doc_type": "cv", "csrf_token": csrf_token(other, "/activer")},
    )
    assert response.status_code == 404
    assert request_count(app) == 0
    assert events(app, people.c.user.id, "request.created") == []


@pytest.mark.parametrize(
    "fields",
    [{"doc_type": ""}, {"doc_type": "not_a_type"}, {"doc_type": "cv", "message": "x" * 501}],
)
def test_bad_requests_create_nothing(app: Flask, people: People, fields: dict[str, str]) -> None:
    client = signed_in(app, people.cpip)
    path = f"/suivi/{people.a.user.id}/demander"
    response = client.post(path, data=fields | {"csrf_token": csrf_token(client, path)})
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert request_count(app) == 0


# --- links waiting for approval -----------------------------------------------------------


@pytest.fixture
def detained(app: Flask, people: People) -> Account:
    """A person detained where links need a counsellor's approval, followed by cpip."""
    place = make_establishment(app, "Maison d'arrêt de Test")
    person = make_account(app, first="Dora", last="Detenue", establishment_id=place.id)
    _assign(app, person, people.cpip, people.admin)
    return person


def _link(app: Flask, owner: Account, document: Document, recipient: str) -> ExternalLink:
    with app.app_context():
        db = db_session()
        link, _token = links.create_link(
            db,
            get_keyring(),
            Unlocked(_user(owner), owner.key),
            document.id,
            recipient=recipient,
            days=7,
        )
        db.commit()
        return link


def _link_row(app: Flask, link_id: uuid.UUID) -> ExternalLink:
    with app.app_context():
        link = db_session().get(ExternalLink, link_id)
        assert link is not None
        return link


def test_links_waiting_for_approval(app: Flask, people: People, detained: Account) -> None:
    document = make_document(
        app, detained, title="Titre confidentiel", category="education", doc_type="diploma"
    )
    first = _link(app, detained, document, "employer")
    second = _link(app, detained, document, "landlord")
    assert first.status == "pending"
    client = signed_in(app, people.cpip)
    page = client.get("/suivi/liens").get_data(as_text=True)
    assert "Dora Detenue" in page
    assert "employeur" in page.lower()
    assert str(TYPE_LABELS["diploma"]) in page or "Diplôme" in page
    assert "Titre confidentiel" not in page
    waiting = "2 liens vers des destinataires extérieurs attendent votre accord."
    assert waiting in text_of(client.get("/suivi/"))
    # Counted over the whole caseload, also when a search or a page shows nobody.
    assert waiting in text_of(client.get("/suivi/?q=personne"))
    assert waiting in text_of(client.get("/suivi/?page=7"))
    token = csrf_token(client, "/suivi/liens")
    assert (
        client.post(f"/suivi/liens/{first.id}/accepter", data={"csrf_token": token}).status_code
        == 302
    )
    assert (
        client.post(f"/suivi/liens/{second.id}/refuser", data={"csrf_token": token}).status_code
        == 302
    )
    approved, refused = _link_row(app, first.id), _link_row(app, second.id)
    assert (approved.status, approved.approved_by_id) == ("active", people.cpip.user.id)
    assert refused.status == "refused"
    assert len(events(app, detained.user.id, "link.approved")) == 1
    assert len(events(app, detained.user.id, "link.refused")) == 1
    # Decided once: a second decision is 404 and changes nothing.
    assert (
        client.post(f"/suivi/liens/{second.id}/accepter", data={"csrf_token": token}).status_code
        == 404
    )
    assert _link_row(app, second.id).status == "refused"
    assert "Dora Detenue" not in client.get("/suivi/liens").get_data(as_text=True)
    assert "destinataire" not in text_of(client.get("/suivi/"))


def test_links_of_people_not_followed_cannot_be_decided(
    app: Flask, people: People, detained: Account
) -> None:
    document = make_document(app, detained)
    link = _link(app, detained, document, "lawyer")
    other = signed_in(app, people.other_cpip)
    assert "Dora Detenue" not in other.get("/suivi/liens").get_data(as_text=True)
    token = csrf_token(other, "/suivi/liens")
    for action in ("accepter", "refuser"):
        response = other.post(f"/suivi/liens/{link.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    cpip = signed_in(app, people.cpip)
    response = cpip.post(
        f"/suivi/liens/{uuid.uuid4()}/accepter",
        data={"csrf_token": csrf_token(cpip, "/suivi/liens")},
    )
    assert response.status_code == 404
    assert _link_row(app, link.id).status == "pending"
    assert events(app, detained.user.id, "link.approved") == []


# --- the release checklist -----------------------------------------------------------------

TODAY = date(2026, 6, 1)


def test_checklist_types_exist_in_the_catalog() -> None:
    codes = [item.code for item in RELEASE_CHECKLIST]
    assert len(codes) == len(set(codes)) == 8
    for item in RELEASE_CHECKLIST:
        assert item.doc_types
        assert set(item.doc_types) <= set(TYPE_LABELS), item.code


@pytest.mark.parametrize(
    ("expiry", "status"),
    [
        (None, Status.PRESENT),
        (TODAY + timedelta(days=91), Status.PRESENT),
        (TODAY + timedelta(days=90), Status.EXPIRING),
        (TODAY, Status.EXPIRING),  # still valid on its last day
        (TODAY - timedelta(days=1), Status.EXPIRED),
    ],
)
def test_checklist_statuses(expiry: date | None, status: Status) -> None:
    result = evaluate([("passport", expiry)], today=TODAY)
    identity = next(s for s in result.items if s.item.code == "identity")
    assert identity.status == status
    shown = expiry if status in (Status.EXPIRING, Status.EXPIRED) else None
    assert identity.expiry_date == shown
    assert all(s.status == Status.MISSING for s in result.items if s.item.code != "identity")


def test_checklist_takes_the_best_document_of_each_item() -> None:
    result = evaluate(
        [
            ("passport", TODAY - timedelta(days=400)),  # expired...
            ("id_card", TODAY + timedelta(days=3000)),  # ...but the card is valid
            ("diploma", None),
            ("training_certificate", TODAY - timedelta(days=5)),
            ("residence_permit", TODAY - timedelta(days=10)),
            ("bank_details", TODAY - timedelta(days=10)),
            ("bank_details", TODAY - timedelta(days=2)),
            ("other", None),  # in no item
        ],
        today=TODAY,
    )
    states = {s.item.code: s for s in result.items}
    assert states["identity"].status == Status.PRESENT
    assert states["qualifications"].status == Status.PRESENT
    assert states["bank_details"].status == Status.EXPIRED
    assert states["bank_details"].expiry_date == TODAY - timedelta(days=2)
    assert (result.done, result.total, result.count(Status.EXPIRED)) == (2, 8, 1)


def test_checklist_reads_every_document_of_the_vault(
    app: Flask, people: People, db: Session
) -> None:
    # Neither shared nor taken in: the classification is in clear for everyone's checklist.
    make_document(app, people.a, category="work", doc_type="cv")
    make_document(
        app,
        people.a,
        category="identity",
        doc_type="residence_permit",
        expiry_date=date.today() + timedelta(days=30),
    )
    sharing.deposit_document(
        db,
        get_store(),
        get_keyring(),
        _user(people.cpip),
        _user(people.a),
        [pdf_bytes()],
        mime="application/pdf",
        title="RIB",
        filename="rib.pdf",
        category="benefits",
        doc_type="bank_details",
    )
    db.commit()
    lists = checklist.for_people(db, [people.a.user.id, people.b.user.id])
    a = {s.item.code: s.status for s in lists[people.a.user.id].items}
    assert a["cv"] == a["bank_details"] == Status.PRESENT
    assert a["identity"] == Status.EXPIRING
    assert lists[people.b.user.id].done == 0


def test_a_deposit_whose_commit_fails_leaves_no_blob_behind(
    app: Flask, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deposit goes through the same intake: a commit that fails removes what it stored."""
    client = signed_in(app, people.cpip)
    before = counts(app)
    fail_commits_once_a_blob_is_stored(monkeypatch, get_store(app))
    response = deposit(client, people.a.user.id, pdf_bytes())
    assert response.status_code == 503
    monkeypatch.undo()
    assert counts(app) == before
    assert events(app, people.a.user.id, "document.deposited") == []
