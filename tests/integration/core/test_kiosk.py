"""Kiosk mode (docs/kiosk.md): which requests it covers, the idle sign-out and its
countdown, and nothing that lands on a shared terminal's disk.

The app is the real one on the test database; only the client's address
changes (the WSGI REMOTE_ADDR, and X-Forwarded-For through the real ProxyFix).
"""

from __future__ import annotations

import base64
import html
import io
import re
import zipfile
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    open_pending,
    pdf_bytes,
)
from tests.helpers import post_form
from vault.accounts import sessions
from vault.accounts.sessions import SessionTicket
from vault.core.db import db_session, get_database
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Document, Role, ServerSession, User
from vault.models.base import utcnow
from vault.sharing import links
from vault.sharing import service as sharing

KIOSK_NET = "10.20.0.0/16"
KIOSK = "10.20.3.4"
OUTSIDE = "203.0.113.9"
PROXY = "192.0.2.1"
NEW_PASSPHRASE = "lune verte sous la pluie"


@pytest.fixture
def kiosk_app(make_app: Callable[..., Flask], database_url: str, connection: Connection) -> Flask:
    """The app behind one proxy, with kiosks on 10.20.0.0/16 and a 1-minute kiosk idle time."""
    app = make_app(
        database_url=database_url,
        kiosk_networks=(KIOSK_NET,),
        kiosk_idle_minutes=1,
        session_idle_minutes=30,
        proxy_hops=1,
    )
    get_database(app).bind_to(connection)
    return app


def client_at(app: Flask, address: str) -> FlaskClient:
    """A browser at `address`, seen through the proxy (which appends it to X-Forwarded-For)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def sign_in_at(app: Flask, account: Account, address: str) -> FlaskClient:
    client = client_at(app, address)
    response = post_form(
        client, "/connexion", {"username": account.username, "passphrase": account.passphrase}
    )
    assert response.status_code == 302, response.status_code
    return client


def text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def attachment(response: object) -> bool:
    disposition = response.headers.get("Content-Disposition", "")  # type: ignore[attr-defined]
    return "attachment" in disposition.lower()


def session_row(app: Flask) -> ServerSession:
    rows = db_session().execute(select(ServerSession)).scalars().all()
    assert len(rows) == 1
    return rows[0]


def age_session(app: Flask, seconds: float) -> None:
    """Move the only session's last activity `seconds` into the past."""
    with app.app_context():
        row = session_row(app)
        row.last_seen_at = row.last_seen_at - timedelta(seconds=seconds)
        db_session().commit()


# --- which requests are kiosk requests -----------------------------------------------------


def test_kiosk_mode_follows_the_address_the_proxy_vouches_for(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    document = make_document(kiosk_app, account)
    page = f"/documents/{document.id}"
    download = f"/documents/{document.id}/telecharger"

    inside = sign_in_at(kiosk_app, account, KIOSK)
    assert download not in text(inside.get(page))
    outside = sign_in_at(kiosk_app, account, OUTSIDE)
    assert download in text(outside.get(page))
    # A client cannot claim a kiosk's address: the proxy appends the real one,
    # and only the last hop is trusted (VAULT_PROXY_HOPS=1).
    outside.environ_base["HTTP_X_FORWARDED_FOR"] = f"{KIOSK}, {OUTSIDE}"
    assert download in text(outside.get(page))
    # Nor leave kiosk mode by adding a header of its own.
    inside.environ_base["HTTP_X_FORWARDED_FOR"] = f"{OUTSIDE}, {KIOSK}"
    assert download not in text(inside.get(page))


def test_without_a_trusted_proxy_forwarded_addresses_are_ignored(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> None:
    app = make_app(database_url=database_url, kiosk_networks=(KIOSK_NET,), proxy_hops=0)
    get_database(app).bind_to(connection)
    account = make_account(app)
    document = make_document(app, account)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = OUTSIDE
    client.environ_base["HTTP_X_FORWARDED_FOR"] = KIOSK
    post_form(
        client, "/connexion", {"username": account.username, "passphrase": account.passphrase}
    )
    assert f"/documents/{document.id}/telecharger" in text(client.get(f"/documents/{document.id}"))
    client.environ_base["REMOTE_ADDR"] = KIOSK
    assert f"/documents/{document.id}/telecharger" not in text(
        client.get(f"/documents/{document.id}")
    )


# --- idle sign-out ----------------------------------------------------------------------


def test_a_kiosk_session_gets_the_kiosk_idle_time_and_shows_the_countdown(
    kiosk_app: Flask,
) -> None:
    account = make_account(kiosk_app)
    inside = sign_in_at(kiosk_app, account, KIOSK)
    with kiosk_app.app_context():
        assert session_row(kiosk_app).idle_minutes == 1
    page = text(inside.get("/documents/"))
    match = re.search(r'id="idle-warning"[^>]*data-seconds-left="(\d+)"', page)
    assert match, "no countdown on a kiosk page"
    assert 55 <= int(match.group(1)) <= 60
    assert "Je suis encore là" in page and "js/idle.js" in page


def test_no_countdown_outside_kiosk_networks(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    outside = sign_in_at(kiosk_app, account, OUTSIDE)
    with kiosk_app.app_context():
        assert session_row(kiosk_app).idle_minutes == 30
    page = text(outside.get("/documents/"))
    assert "idle-warning" not in page and "js/idle.js" not in page


def test_the_server_refuses_a_kiosk_session_once_idle(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    inside = sign_in_at(kiosk_app, account, KIOSK)
    age_session(kiosk_app, 61)
    response = inside.get("/documents/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion")
    page = text(inside.get("/connexion"))
    assert "Votre connexion est terminée" in page
    with kiosk_app.app_context():
        assert db_session().execute(select(ServerSession)).first() is None


def test_still_here_starts_the_idle_time_again(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    inside = sign_in_at(kiosk_app, account, KIOSK)
    token = csrf_token(inside, "/documents/")
    age_session(kiosk_app, 50)
    answer = inside.post(
        "/session/encore-la",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    assert 59 <= answer.get_json()["seconds_left"] <= 60
    # 50 + 50 s after sign-in: past the first deadline, the session is alive.
    age_session(kiosk_app, 50)
    assert inside.get("/documents/").status_code == 200
    # Without the token, nothing moves.
    assert inside.post("/session/encore-la").status_code == 400


def test_still_here_needs_a_session(kiosk_app: Flask) -> None:
    anonymous = client_at(kiosk_app, KIOSK)
    token = csrf_token(anonymous, "/connexion")
    response = anonymous.post("/session/encore-la", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion")


# --- nothing lands on the kiosk's disk -------------------------------------------------


def test_documents_are_not_sent_as_files_on_a_kiosk(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    content = pdf_bytes("kiosk")
    document = make_document(kiosk_app, account, content)
    inside = sign_in_at(kiosk_app, account, KIOSK)
    refused = inside.get(f"/documents/{document.id}/telecharger")
    assert refused.status_code == 403 and not attachment(refused)
    assert content not in refused.data
    assert "jamais enregistrés" in text(refused)
    # The preview is shown in the page (inline), as before.
    preview = inside.get(f"/documents/{document.id}/apercu")
    assert not attachment(preview)
    outside = sign_in_at(kiosk_app, account, OUTSIDE)
    sent = outside.get(f"/documents/{document.id}/telecharger")
    assert sent.status_code == 200 and attachment(sent) and sent.data == content


def test_no_route_sends_a_document_as_a_file_on_a_kiosk(kiosk_app: Flask) -> None:
    """A counsellor's download and an external link's answer through the same helper."""
    person = make_account(kiosk_app)
    counsellor = make_account(kiosk_app, Role.COUNSELLOR, first="Claire", last="Conseil")
    admin = make_account(kiosk_app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    document = make_document(kiosk_app, person, pdf_bytes("partagé"))
    with kiosk_app.app_context():
        db = db_session()
        owner = db.get(User, person.user.id)
        staff = db.get(User, counsellor.user.id)
        doc = db.get(Document, document.id)
        by = db.get(User, admin.user.id)
        assert owner and staff and doc and by
        sharing.assign(db, owner, staff, by=by)
        unlocked = Unlocked(owner, person.key)
        sharing.share_document(db, get_keyring(kiosk_app), unlocked, doc, staff.id)
        _link, token = links.create_link(
            db, get_keyring(kiosk_app), unlocked, doc.id, recipient="employer", days=7
        )
        db.commit()
    path = f"/suivi/{person.user.id}/documents/{document.id}/telecharger"
    staff_inside = sign_in_at(kiosk_app, counsellor, KIOSK)
    refused = staff_inside.get(path)
    assert refused.status_code == 403 and not attachment(refused)
    assert attachment(sign_in_at(kiosk_app, counsellor, OUTSIDE).get(path))
    for address, sent in ((KIOSK, False), (OUTSIDE, True)):
        visitor = client_at(kiosk_app, address)
        answer = visitor.post(
            f"/lien/{token}", data={"csrf_token": csrf_token(visitor, f"/lien/{token}")}
        )
        assert attachment(answer) is sent, address


def activated_at(app: Flask, address: str) -> tuple[FlaskClient, str]:
    """A person activates their vault at `address`; the client, on the recovery sheet page."""
    new = open_pending(app)
    client = client_at(app, address)
    post_form(client, "/activer", {"username": new.user.username, "code": new.activation_code})
    response = post_form(
        client, "/activer/phrase-secrete", {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE}
    )
    assert response.headers["Location"].endswith("/activer/feuille-de-secours")
    return client, new.user.username


def test_the_recovery_sheet_is_a_page_to_print_on_a_kiosk(kiosk_app: Flask) -> None:
    client, username = activated_at(kiosk_app, KIOSK)
    kit = text(client.get("/activer/feuille-de-secours"))
    code = re.search(r'class="big-code"[^>]*>([\d ]+)<', kit).group(1).split()  # type: ignore[union-attr]
    sheet = client.get("/activer/feuille-de-secours.pdf")
    assert sheet.status_code == 200 and not attachment(sheet)
    assert sheet.mimetype == "text/html"
    page = text(sheet)
    assert "Feuille de secours" in page and username in page
    assert " ".join(code[:4]) in page and " ".join(code[4:]) in page
    assert "data-print" in page and "js/print.js" in page
    # The pictograms come from the static folder (the page is not under it).
    assert 'src="/static/icons/' in page
    # Outside, the same sheet is a PDF.
    outside, _username = activated_at(kiosk_app, OUTSIDE)
    pdf = outside.get("/activer/feuille-de-secours.pdf")
    assert pdf.data.startswith(b"%PDF") and attachment(pdf)


def test_the_new_recovery_sheet_after_a_recovery_is_a_page_to_print_on_a_kiosk(
    kiosk_app: Flask,
) -> None:
    account = make_account(kiosk_app)
    for address, on_screen in ((KIOSK, True), (OUTSIDE, False)):
        client = sign_in_at(kiosk_app, account, address)
        # The code a recovery just issued, kept for this session only (as recovery.views does).
        with client.session_transaction() as cookie:
            ticket = SessionTicket(cookie["t"], base64.b64decode(cookie["k"]))
        with kiosk_app.app_context():
            db = db_session()
            opened = sessions.resume(db, ticket)
            assert opened is not None
            issued = utcnow().isoformat()
            code = "1111 2222 3333 4444 5555 6666 7777 8888"
            sessions.set_pending(opened.row, ticket, {"recovery_code": code, "issued": issued})
            db.commit()
        sheet = client.get("/recuperation/feuille-de-secours.pdf")
        assert sheet.status_code == 200
        assert attachment(sheet) is not on_screen
        if on_screen:
            page = text(sheet)
            assert "Feuille de secours" in page and "1111 2222 3333 4444" in page
            assert 'href="/recuperation/feuille-de-secours"' in page  # « Retour »
        else:
            assert sheet.data.startswith(b"%PDF")


def test_the_activation_sheet_is_a_page_to_print_on_a_kiosk(kiosk_app: Flask) -> None:
    admin = make_account(kiosk_app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    inside = sign_in_at(kiosk_app, admin, KIOSK)
    response = post_form(
        inside,
        "/admin/comptes/nouveau",
        {"role": "counsellor", "first_name": "Claire", "last_name": "Conseil"},
        "/admin/comptes/nouveau",
    )
    assert response.status_code == 302, text(response)
    sheet = inside.get(response.headers["Location"] + "/feuille-activation.pdf")
    assert sheet.status_code == 200 and not attachment(sheet)
    page = text(sheet)
    assert "Feuille d'activation" in page and "claire.conseil" in page
    assert re.search(r"\d{4} \d{4} \d{4} \d{4}", page)
    assert 'src="data:image/svg+xml' in page  # the QR code, inline


def test_export_is_refused_on_a_kiosk(kiosk_app: Flask) -> None:
    account = make_account(kiosk_app)
    make_document(kiosk_app, account)
    inside = sign_in_at(kiosk_app, account, KIOSK)
    page = text(inside.get("/export/"))
    assert "Pas sur ce terminal" in page
    assert "Télécharger mon coffre" not in page and 'name="passphrase"' not in page
    refused = inside.post(
        "/export/",
        data={"csrf_token": csrf_token(inside, "/documents/"), "passphrase": account.passphrase},
    )
    assert refused.status_code == 403 and not attachment(refused)
    assert "Pas sur ce terminal" in text(refused)
    # Outside the kiosk network the pack is offered and sent.
    outside = sign_in_at(kiosk_app, account, OUTSIDE)
    sent = outside.post(
        "/export/",
        data={"csrf_token": csrf_token(outside, "/export/"), "passphrase": account.passphrase},
    )
    assert sent.status_code == 200 and attachment(sent)
    assert zipfile.ZipFile(io.BytesIO(sent.data)).namelist()


def test_passphrase_fields_are_not_offered_to_password_managers_on_a_kiosk(
    kiosk_app: Flask,
) -> None:
    kiosk_page = text(client_at(kiosk_app, KIOSK).get("/connexion"))
    field = re.search(r'<input[^>]*name="passphrase"[^>]*>', kiosk_page)
    assert field and 'autocomplete="off"' in field.group(0)
    outside_page = text(client_at(kiosk_app, OUTSIDE).get("/connexion"))
    field = re.search(r'<input[^>]*name="passphrase"[^>]*>', outside_page)
    assert field and 'autocomplete="current-password"' in field.group(0)
