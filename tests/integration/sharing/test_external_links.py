"""External links: made by the person through HTTP, opened by anyone with the address."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crypto import wrap_key
from tests.conftest import make_settings
from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    make_establishment,
    pdf_bytes,
    signed_in,
)
from tests.helpers import new_ring_key, post
from tests.integration.served_app import fresh_postgresql
from vault import create_app
from vault.core import migrate
from vault.core.db import db_session, get_database
from vault.core.errors import Throttled
from vault.core.extensions import get_keyring, get_store
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.models import Establishment, ExternalLink, JournalEvent, Role, User
from vault.models.base import utcnow
from vault.sharing import link_approvals, links
from vault.sharing import service as sharing

CONTENT = pdf_bytes("contrat de travail")


@dataclass
class Setup:
    alice: Account
    client: FlaskClient
    doc: uuid.UUID


@pytest.fixture
def setup(app: Flask) -> Setup:
    alice = make_account(app, first="Alice", last="Arnaud")
    doc = make_document(app, alice, CONTENT, title="Attestation employeur", category="work")
    return Setup(alice, signed_in(app, alice), doc.id)


def make_link(client: FlaskClient, doc: uuid.UUID, **fields: str) -> tuple[uuid.UUID, str]:
    """Make a link through the form; return its id and the token shown once."""
    data = {"recipient": "employer", "days": "7"} | fields
    response = post(client, f"/liens/nouveau/{doc}", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    link_id = uuid.UUID(re.search(r"/liens/([0-9a-f-]{36})/adresse", location).group(1))  # type: ignore[union-attr]
    page = client.get(location).get_data(as_text=True)
    token = re.search(r'value="http://localhost/lien/([A-Za-z0-9_-]+)"', page).group(1)  # type: ignore[union-attr]
    return link_id, token


def anonymous_open(app: Flask, token: str, pin: str | None = None):  # type: ignore[no-untyped-def]
    """A recipient: opens the page, then asks for the document (with the page's token)."""
    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}")
    if page.status_code != 200:
        return page
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert match
    data = {"csrf_token": match.group(1)} | ({"pin": pin} if pin is not None else {})
    return visitor.post(f"/lien/{token}", data=data)


def link_count(app: Flask) -> int:
    with app.app_context():
        return int(
            db_session().execute(select(func.count()).select_from(ExternalLink)).scalar_one()
        )


def update_link(app: Flask, link_id: uuid.UUID, **values: object) -> None:
    with app.app_context():
        db = db_session()
        link = db.get(ExternalLink, link_id)
        assert link is not None
        for name, value in values.items():
            setattr(link, name, value)
        db.commit()


def test_make_a_link_and_a_stranger_downloads_the_document(app: Flask, setup: Setup) -> None:
    client = setup.client
    form = client.get(f"/liens/nouveau/{setup.doc}").get_data(as_text=True)
    assert 'name="recipient"' in form and 'id="justice-warning"' not in form
    link_id, token = make_link(client, setup.doc)
    created = client.get(f"/liens/{link_id}/adresse").get_data(as_text=True)
    assert f"http://localhost/lien/{token}" in created  # still there after a reload
    assert (
        client.post(
            f"/liens/{link_id}/adresse", data={"csrf_token": csrf_token(client, "/partages/")}
        ).status_code
        == 302
    )
    # Shown once: after "I have noted it", the address is gone for good.
    assert client.get(f"/liens/{link_id}/adresse").status_code == 302
    with app.app_context():
        link = db_session().get(ExternalLink, link_id)
        assert link is not None and links.state(link) == "active"
        assert link.recipient == "employer" and not link.has_pin
        assert timedelta(days=6) < link.expires_at - utcnow() <= timedelta(days=7)
        assert link.wrapped is not None and token not in (link.token_hash, link.wrapped.hex())

    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Attestation employeur" in html
    # Nothing about the person who sent it.
    for private in ("Alice", "Arnaud", setup.alice.username):
        assert private not in html
    assert page.headers["Cache-Control"] == "no-store"
    # The token stays on the site: no Referer to another origin.
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in html
    assert "noindex" in page.headers["X-Robots-Tag"]
    response = anonymous_open(app, token)
    assert response.status_code == 200
    assert response.get_data() == CONTENT
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Attestation" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "sandbox" in response.headers["Content-Security-Policy"]

    listing = client.get("/liens/").get_data(as_text=True)
    assert "Attestation employeur" in listing and f"/liens/{link_id}/retirer" in listing
    with app.app_context():
        opened = (
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.vault_id == setup.alice.user.id,
                    JournalEvent.action == "link.opened",
                )
            )
            .scalar_one()
        )
        assert opened.actor_id is None and opened.document_id == setup.doc
    assert "Attestation employeur" in client.get("/journal/?quoi=partages").get_data(as_text=True)


def test_revoked_expired_capped_links_answer_410(app: Flask, setup: Setup) -> None:
    revoked_id, revoked = make_link(setup.client, setup.doc)
    expired_id, expired = make_link(setup.client, setup.doc)
    capped_id, capped = make_link(setup.client, setup.doc, max_downloads="1")

    assert setup.client.get(f"/liens/{revoked_id}/retirer").status_code == 200
    assert post(setup.client, f"/liens/{revoked_id}/retirer").status_code == 302
    update_link(app, expired_id, expires_at=utcnow() - timedelta(minutes=1))
    assert anonymous_open(app, capped).status_code == 200

    for token, state in ((revoked, "revoked"), (expired, "expired"), (capped, "used_up")):
        visitor = app.test_client()
        page = visitor.get(f"/lien/{token}")
        assert page.status_code == 410, state
        assert 'id="gone-message"' in page.get_data(as_text=True)
        # A POST with the session's token is refused the same way.
        match = re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"',
            visitor.get("/activer").get_data(as_text=True),
        )
        assert match
        answer = visitor.post(f"/lien/{token}", data={"csrf_token": match.group(1)})
        assert answer.status_code == 410, state
        assert answer.get_data() != CONTENT
    with app.app_context():
        db = db_session()
        states = {link.id: links.state(link) for link in links.links_of(db, setup.alice.user.id)}
    assert states == {revoked_id: "revoked", expired_id: "expired", capped_id: "used_up"}
    listing = setup.client.get("/liens/").get_data(as_text=True)
    assert "/retirer" not in listing  # nothing left to stop


def test_unknown_token_is_404(app: Flask, setup: Setup) -> None:
    visitor = app.test_client()
    assert visitor.get("/lien/" + "A" * 43).status_code == 404
    assert visitor.get("/lien/" + "A" * 150).status_code == 404
    token = csrf_token(visitor, "/activer")
    assert visitor.post("/lien/" + "A" * 43, data={"csrf_token": token}).status_code == 404


def test_wrong_pin_is_refused_then_throttled_with_growing_delays(app: Flask, setup: Setup) -> None:
    link_id, token = make_link(setup.client, setup.doc, pin="482916")
    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}").get_data(as_text=True)
    # Behind a PIN, even the title waits for the code.
    assert 'name="pin"' in page and "Attestation employeur" not in page
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def attempt(pin: str):  # type: ignore[no-untyped-def]
        return visitor.post(f"/lien/{token}", data={"csrf_token": csrf, "pin": pin})

    for _ in range(links.FREE_PIN_FAILURES):
        refused = attempt("000000")
        assert refused.status_code == 403
        html = refused.get_data(as_text=True)
        assert 'id="link-error"' in html and "000000" not in html  # the PIN is not echoed
    waits = []
    for _ in range(3):
        throttled = attempt("482916")  # even the right PIN waits
        assert throttled.status_code == 429
        waits.append(int(throttled.headers["Retry-After"]))
        # Time passes; the next wrong PIN makes the wait longer.
        update_link(app, link_id, pin_failed_at=utcnow() - timedelta(hours=1))
        assert attempt("111111").status_code == 403
    assert waits == sorted(waits) and waits[0] < waits[-1], waits
    update_link(app, link_id, pin_failed_at=utcnow() - timedelta(hours=1))
    opened = attempt("482916")
    assert opened.status_code == 200 and opened.get_data() == CONTENT
    with app.app_context():
        db = db_session()
        wrong = db.execute(
            select(func.count())
            .select_from(JournalEvent)
            .where(JournalEvent.action == "link.wrong_pin", JournalEvent.outcome == "refused")
        ).scalar_one()
        assert wrong == links.FREE_PIN_FAILURES + 3
        link = db.get(ExternalLink, link_id)
        assert link is not None and link.downloads == 1 and link.pin_failures == 0


def test_form_checks_and_nothing_is_made_on_bad_input(app: Flask, setup: Setup) -> None:
    for fields in (
        {"recipient": "employer", "days": "31"},
        {"recipient": "employer", "days": "0"},
        {"recipient": "spy", "days": "7"},
        {"recipient": "employer", "days": "7", "pin": "12ab"},
        {"recipient": "employer", "days": "7", "pin": "123"},
        {"recipient": "employer", "days": "7", "max_downloads": "0"},
    ):
        response = post(setup.client, f"/liens/nouveau/{setup.doc}", fields)
        assert response.status_code == 400, fields
    assert link_count(app) == 0


def test_justice_documents_need_the_warning_confirmed(app: Flask, setup: Setup) -> None:
    judgment = make_document(
        app, setup.alice, title="Jugement", category="justice", doc_type="judgment"
    )
    form = setup.client.get(f"/liens/nouveau/{judgment.id}").get_data(as_text=True)
    assert 'id="justice-warning"' in form and 'name="understood"' in form
    data = {"recipient": "lawyer", "days": "3"}
    refused = post(setup.client, f"/liens/nouveau/{judgment.id}", data)
    assert refused.status_code == 400 and 'id="understood-error"' in refused.get_data(as_text=True)
    assert link_count(app) == 0
    make_link(setup.client, judgment.id, recipient="lawyer", days="3", understood="y")
    assert link_count(app) == 1


def detained_at(app: Flask, policy: str) -> tuple[Account, FlaskClient, uuid.UUID]:
    place = make_establishment(app, f"Maison d'arrêt ({policy})")
    with app.app_context():
        db = db_session()
        establishment = db.get(Establishment, place.id)
        assert establishment is not None
        establishment.external_links = policy
        db.commit()
    person = make_account(app, first="Dan", last="Detenu", establishment_id=place.id)
    doc = make_document(app, person, CONTENT, title="CV", category="work", doc_type="cv")
    return person, signed_in(app, person), doc.id


def test_policy_off_explains_and_refuses(app: Flask) -> None:
    _person, client, doc = detained_at(app, "off")
    form = client.get(f"/liens/nouveau/{doc}").get_data(as_text=True)
    assert 'id="links-off"' in form and 'name="recipient"' not in form
    response = post(client, f"/liens/nouveau/{doc}", {"recipient": "employer", "days": "7"})
    assert response.status_code == 403
    assert link_count(app) == 0


def test_policy_approval_makes_a_pending_link_until_a_counsellor_approves(app: Flask) -> None:
    person, client, doc = detained_at(app, "approval")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    assert 'id="needs-approval"' in client.get(f"/liens/nouveau/{doc}").get_data(as_text=True)
    link_id, token = make_link(client, doc)
    assert 'id="needs-approval"' in client.get(f"/liens/{link_id}/adresse").get_data(as_text=True)
    assert anonymous_open(app, token).status_code == 410
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        staff = db.get(User, counsellor.user.id)
        assert user and staff
        sharing.assign(db, user, staff, by=staff)
        link_approvals.decide(db, staff, link_id, approve=True)
        db.commit()
    response = anonymous_open(app, token)
    assert response.status_code == 200 and response.get_data() == CONTENT


def test_refused_link_is_gone(app: Flask) -> None:
    person, client, doc = detained_at(app, "approval")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    link_id, token = make_link(client, doc)
    with app.app_context():
        db = db_session()
        user, staff = db.get(User, person.user.id), db.get(User, counsellor.user.id)
        assert user and staff
        sharing.assign(db, user, staff, by=staff)
        link_approvals.decide(db, staff, link_id, approve=False)
        db.commit()
    assert anonymous_open(app, token).status_code == 410


def test_another_persons_links_are_out_of_reach(app: Flask, setup: Setup) -> None:
    link_id, token = make_link(setup.client, setup.doc)
    bruno = make_account(app, first="Bruno", last="Blanc")
    other = signed_in(app, bruno)
    assert other.get(f"/liens/nouveau/{setup.doc}").status_code == 404
    response = post(other, f"/liens/nouveau/{setup.doc}", {"recipient": "employer", "days": "7"})
    assert response.status_code == 404
    assert other.get(f"/liens/{link_id}/retirer").status_code == 404
    assert post(other, f"/liens/{link_id}/retirer").status_code == 404
    assert other.get(f"/liens/{link_id}/adresse").status_code == 404
    assert link_count(app) == 1
    assert anonymous_open(app, token).status_code == 200
    # Bruno's list shows none of Alice's links.
    assert str(link_id) not in other.get("/liens/").get_data(as_text=True)


def test_service_refuses_a_link_on_another_vault(app: Flask, setup: Setup, db: Session) -> None:
    bruno = make_account(app, first="Bruno", last="Blanc")
    from vault.core.errors import NotFound

    user = db.get(User, bruno.user.id)
    assert user is not None
    with pytest.raises(NotFound):
        links.create_link(
            db, get_keyring(), Unlocked(user, bruno.key), setup.doc, recipient="other", days=1
        )


# --- PIN throttle under concurrency (PostgreSQL, real commits) ---------------------------


@pytest.fixture
def committed_pg(tmp_path: Path) -> Iterator[Flask]:
    """The app on a PostgreSQL schema of its own where every commit is real.

    Concurrent requests need their own connections and must see each other's
    commits, which the suite's rolled-back transaction cannot give.
    """
    with fresh_postgresql() as url:
        app = create_app(replace(make_settings(tmp_path), database_url=url))
        try:
            yield app
        finally:
            get_database(app).dispose()
            get_store(app).close()


def test_a_burst_of_wrong_pins_verifies_no_more_than_the_free_ones(committed_pg: Flask) -> None:
    app = committed_pg
    alice = make_account(app, first="Alice", last="Arnaud")
    doc = make_document(app, alice, CONTENT, title="Attestation employeur", category="work")
    with app.app_context():
        db = db_session()
        user = db.get(User, alice.user.id)
        assert user is not None
        link, token = links.create_link(
            db,
            get_keyring(),
            Unlocked(user, alice.key),
            doc.id,
            recipient="employer",
            days=7,
            pin="482916",
        )
        db.commit()
        link_id = link.id
    # One instant for the whole burst: no delay may run out while it lasts,
    # however slow the machine.
    now = utcnow()
    burst = 30
    start = threading.Barrier(burst)
    outcomes: list[str] = []

    def recipient() -> None:
        # Each thread is one request: its own app context, session and connection.
        with app.app_context():
            db = db_session()
            start.wait()
            try:
                links.open_link(db, get_keyring(), token, "000000", now=now)
            except links.WrongPin:
                db.commit()  # as the view does: the failure and its journal line
                outcomes.append("verified")
            except Throttled:
                outcomes.append("throttled")

    threads = [threading.Thread(target=recipient) for _ in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == burst
    verified = outcomes.count("verified")
    assert verified == links.FREE_PIN_FAILURES, outcomes
    with app.app_context():
        db = db_session()
        stored = db.get(ExternalLink, link_id)
        assert stored is not None and stored.pin_failures == verified
        journaled = db.execute(
            select(func.count())
            .select_from(JournalEvent)
            .where(JournalEvent.action == "link.wrong_pin", JournalEvent.document_id == doc.id)
        ).scalar_one()
        assert journaled == verified


def test_too_many_wrong_pins_stop_the_link_and_the_person_sees_why(
    app: Flask, setup: Setup
) -> None:
    link_id, token = make_link(setup.client, setup.doc, pin="482916")
    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def attempt(pin: str):  # type: ignore[no-untyped-def]
        # Time passes between attempts: no delay is running, only the cap counts.
        update_link(app, link_id, pin_failed_at=utcnow() - timedelta(hours=1))
        return visitor.post(f"/lien/{token}", data={"csrf_token": csrf, "pin": pin})

    first = links.MAX_WRONG_PINS // 2
    for _ in range(first):
        assert attempt("000000").status_code == 403
    # The right PIN resets the delays, not the count towards the cap.
    assert attempt("482916").status_code == 200
    for _ in range(links.MAX_WRONG_PINS - first - 1):
        assert attempt("000000").status_code == 403
    stopped = attempt("000000")
    assert stopped.status_code == 410
    assert "trop de codes faux" in stopped.get_data(as_text=True)
    # Stopped for good: the right PIN does not open it any more.
    assert attempt("482916").status_code == 410
    assert visitor.get(f"/lien/{token}").status_code == 410
    with app.app_context():
        db = db_session()
        link = db.get(ExternalLink, link_id)
        assert link is not None and links.state(link) == "blocked"
        assert link.wrong_pins == links.MAX_WRONG_PINS and link.wrapped is None
        stop = db.execute(
            select(JournalEvent).where(
                JournalEvent.vault_id == setup.alice.user.id,
                JournalEvent.action == "link.revoked",
            )
        ).scalar_one()
        assert stop.actor_id is None and '"reason":"wrong_pins"' in stop.details
    listing = setup.client.get("/liens/").get_data(as_text=True)
    assert "Arrêté après trop de codes faux" in listing
    history = setup.client.get("/journal/?quoi=partages").get_data(as_text=True)
    assert "a été arrêté après trop de codes faux" in history


def test_the_link_key_needs_the_server_ring_and_the_pin(
    app: Flask,
    setup: Setup,
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
) -> None:
    plain_id, plain = make_link(setup.client, setup.doc)
    protected_id, protected = make_link(setup.client, setup.doc, pin="482916")
    with app.app_context():
        db = db_session()
        ring = get_keyring()
        for link_id in (plain_id, protected_id):
            link = db.get(ExternalLink, link_id)
            assert link is not None and link.wrapped is not None
            assert ring.version_of(link.wrapped) == ring.current_version
        # The server, with the ring and the token but without the PIN, opens nothing.
        link = db.get(ExternalLink, protected_id)
        assert link is not None and links.title_of(ring, link, protected) is None
        with pytest.raises(links.WrongPin):
            links.open_link(db, ring, protected, None)
        db.rollback()
    # The same database and tokens under another server key ring: nothing opens.
    other = make_app(database_url=database_url, server_keys="1:" + new_ring_key())
    get_database(other).bind_to(connection)
    assert anonymous_open(other, plain).status_code == 404
    assert anonymous_open(other, protected, "482916").status_code == 404
    # With its own ring, the app opens both.
    assert anonymous_open(app, plain).get_data() == CONTENT
    assert anonymous_open(app, protected, "482916").get_data() == CONTENT


def test_links_of_the_first_key_format_are_stopped_by_the_upgrade(
    app: Flask, setup: Setup, connection: Connection
) -> None:
    legacy_id, token = make_link(setup.client, setup.doc, pin="482916")
    stopped_id, _stopped = make_link(setup.client, setup.doc)
    assert post(setup.client, f"/liens/{stopped_id}/retirer").status_code == 302
    # The document's key, read through today's models before the schema goes back.
    with app.app_context():
        db = db_session()
        version = documents.current_version(
            db, documents.get_document(db, setup.alice.user.id, setup.doc)
        )
        dek = documents.version_dek(
            get_keyring(), Unlocked(db.get(User, setup.alice.user.id), setup.alice.key), version
        )  # type: ignore[arg-type]
    migrate.downgrade(connection, "0008_preview_failures")
    # The rows as the first release wrote them: the key from the token alone
    # (whose tokens reached the access log), a PIN hash beside it.
    token_key = hashlib.sha256(b"vault/link-key|" + token.encode()).digest()
    payload = dek + json.dumps({"t": "Attestation employeur", "f": "document.pdf"}).encode()
    connection.execute(
        text(
            "UPDATE external_links SET wrapped = :wrapped, pin_hash = :pin_hash, "
            "revoked_at = NULL WHERE id = :id"
        ),
        {
            "wrapped": wrap_key(token_key, payload, b"vault/link|" + legacy_id.bytes),
            "pin_hash": PasswordHasher().hash("482916"),
            "id": legacy_id if connection.dialect.name == "postgresql" else legacy_id.hex,
        },
    )
    migrate.upgrade(connection)

    with app.app_context():
        db = db_session()
        legacy = db.get(ExternalLink, legacy_id)
        stopped = db.get(ExternalLink, stopped_id)
        assert legacy is not None and stopped is not None
        assert links.state(legacy) == "retired" and legacy.has_pin
        assert links.state(stopped) == "revoked"  # the person's own stop is kept
        # Nothing is left that a logged token could open.
        assert legacy.wrapped is None and stopped.wrapped is None
    assert anonymous_open(app, token, "482916").status_code == 410
    listing = setup.client.get("/liens/").get_data(as_text=True)
    assert "Arrêté par une mise à jour de sécurité" in listing


def test_a_link_post_cannot_choose_its_own_budget(app: Flask, setup: Setup) -> None:
    """The limit on a link's posts is keyed by the link in the URL: a field the
    client adds (a different "username" each time) does not buy a fresh budget."""
    from vault.accounts.limits import SIGNIN_RATE

    per_minute = int(SIGNIN_RATE.split()[0])
    _link_id, token = make_link(setup.client, setup.doc)
    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    statuses = [
        visitor.post(f"/lien/{token}", data={"csrf_token": csrf, "username": f"x{i}"}).status_code
        for i in range(per_minute + 1)
    ]
    assert statuses[:per_minute] == [200] * per_minute
    assert statuses[per_minute] == 429
