"""Every route that sends a document: the person's, the counsellor's, an external link's.

What they share (vault/documents/downloads.py): the length announced comes from the
store, not from the clear `size` column; the first segment is verified before
the response starts; a failure is journaled as failed, before or after the
headers left.
"""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from crypto import CryptoError
from tests.cookies import cookie_header, keep_cookies
from tests.factories import Account, make_account, make_document, pdf_bytes, signed_in
from tests.helpers import user as _user
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_store
from vault.documents.service import Unlocked
from vault.models import Blob, Document, DocumentVersion, ExternalLink, JournalEvent, Role
from vault.sharing import links
from vault.sharing import service as sharing

ROUTES = ["person", "counsellor", "link"]
# Three VSF1 segments of 1 MiB: a failure in the last one comes after two
# segments were sent.
BIG = pdf_bytes("gros document") + os.urandom(2 * 1024 * 1024 + 300_000)


@dataclass
class Scene:
    person: Account
    counsellor: Account
    document: uuid.UUID
    token: str


def make_scene(app: Flask, content: bytes = BIG) -> Scene:
    """A person with one document, shared with their counsellor and behind a link."""
    person = make_account(app, first="Alice", last="Arnaud")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    document = make_document(app, person, content, title="Jugement", category="justice")
    with app.app_context():
        db = db_session()
        owner = Unlocked(_user(person), person.key)
        sharing.assign(db, owner.user, _user(counsellor), by=_user(admin))
        doc = db.get(Document, document.id)
        assert doc is not None
        sharing.share_document(db, get_keyring(), owner, doc, counsellor.user.id)
        _link, token = links.create_link(
            db, get_keyring(), owner, document.id, recipient="lawyer", days=7
        )
        db.commit()
    return Scene(person, counsellor, document.id, token)


def request_download(app: Flask, scene: Scene, route: str) -> TestResponse:
    """Ask for the document the way each route's user does; the body is not read yet."""
    if route == "person":
        client = signed_in(app, scene.person)
        return client.get(f"/documents/{scene.document}/telecharger", buffered=False)
    if route == "counsellor":
        client = signed_in(app, scene.counsellor)
        path = f"/suivi/{scene.person.user.id}/documents/{scene.document}/telecharger"
        return client.get(path, buffered=False)
    visitor: FlaskClient = app.test_client()
    page = visitor.get(f"/lien/{scene.token}").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    return visitor.post(f"/lien/{scene.token}", data={"csrf_token": match.group(1)}, buffered=False)


def download_events(app: Flask, scene: Scene, route: str) -> list[tuple[str, str]]:
    """The route's journal lines about the document: (actor role, outcome)."""
    action = "link.opened" if route == "link" else "document.downloaded"
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent.actor_role, JournalEvent.outcome)
            .where(
                JournalEvent.vault_id == scene.person.user.id,
                JournalEvent.document_id == scene.document,
                JournalEvent.action == action,
            )
            .order_by(JournalEvent.seq)
        )
        return [(role, outcome) for role, outcome in rows]


def blob_path(app: Flask, document_id: uuid.UUID) -> Path:
    with app.app_context():
        db = db_session()
        version = db.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        ).scalar_one()
        blob = db.get(Blob, version.blob_id)
        assert blob is not None
        root = Path(get_store().describe().removeprefix("file://"))
        return root / blob.key


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def link_downloads(app: Flask, scene: Scene) -> int:
    with app.app_context():
        return int(
            db_session()
            .execute(
                select(ExternalLink.downloads).where(ExternalLink.document_id == scene.document)
            )
            .scalar_one()
        )


ROLE_OF = {"person": "person", "counsellor": "counsellor", "link": "system"}


# --- item 2: a failure after the headers left ---------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_a_failure_mid_stream_breaks_the_download_and_is_journaled_as_failed(
    app: Flask, route: str
) -> None:
    scene = make_scene(app)
    path = blob_path(app, scene.document)
    flip(path, path.stat().st_size - 100)  # in the last segment

    response = request_download(app, scene, route)
    assert response.status_code == 200  # the first segment verified: the headers left
    assert int(response.headers["Content-Length"]) == len(BIG)
    received = bytearray()
    with pytest.raises(CryptoError):
        for chunk in response.response:  # type: ignore[union-attr]
            received += chunk
    response.close()
    assert 0 < len(received) < len(BIG)
    role = ROLE_OF[route]
    # The line written when the download started stays (the journal is
    # append-only); the failure follows it.
    assert download_events(app, scene, route) == [(role, "ok"), (role, "failed")]
    with app.app_context():
        [failed] = (
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.document_id == scene.document, JournalEvent.outcome == "failed"
                )
            )
            .scalars()
        )
        assert '"reason":"integrity"' in failed.details


# --- item 2: a failure in the first segment -------------------------------------------------


def _damage_header(app: Flask, scene: Scene) -> None:
    flip(blob_path(app, scene.document), 5)  # a byte of the salt


def _damage_first_segment(app: Flask, scene: Scene) -> None:
    flip(blob_path(app, scene.document), 1000)


def _swap_blobs(app: Flask, scene: Scene) -> None:
    """The version points at another document's blob (a database edit)."""
    other = make_document(app, scene.person, pdf_bytes("autre"), title="Autre")
    with app.app_context():
        db = db_session()
        theirs = db.execute(
            select(DocumentVersion.blob_id).where(DocumentVersion.document_id == other.id)
        ).scalar_one()
        db.execute(
            update(DocumentVersion)
            .where(DocumentVersion.document_id == scene.document)
            .values(blob_id=theirs)
        )
        db.commit()


DAMAGES: dict[str, Callable[[Flask, Scene], None]] = {
    "header": _damage_header,
    "first-segment": _damage_first_segment,
    "swapped-blobs": _swap_blobs,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("route", ROUTES)
def test_a_damaged_first_segment_gives_the_french_page_and_sends_nothing(
    app: Flask, route: str, damage: str
) -> None:
    scene = make_scene(app)
    DAMAGES[damage](app, scene)

    response = request_download(app, scene, route)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert "contrôle d'intégrité" in body and "Internal Server Error" not in body
    assert "%PDF" not in body
    # Journaled once, as failed; a link's use is not spent on it.
    assert download_events(app, scene, route) == [(ROLE_OF[route], "failed")]
    if route == "link":
        assert link_downloads(app, scene) == 0


def test_the_person_reads_failed_downloads_in_their_journal(app: Flask) -> None:
    scene = make_scene(app)
    _damage_first_segment(app, scene)
    for route in ROUTES:
        request_download(app, scene, route).close()
    page = html.unescape(signed_in(app, scene.person).get("/journal/").get_data(as_text=True))
    assert "Votre téléchargement de « <bdi>Jugement</bdi> » a été arrêté" in page
    assert (
        "<bdi>Claire Cpip</bdi> a voulu télécharger « <bdi>Jugement</bdi> », mais le téléchargement"
        in page
    )
    assert "Le lien vers « <bdi>Jugement</bdi> » envoyé à un avocat a été ouvert, mais" in page
    assert page.count("n'a pas passé le contrôle d'intégrité") == 3


def test_a_sound_document_still_downloads_whole_on_every_route(app: Flask) -> None:
    scene = make_scene(app)
    for route in ROUTES:
        response = request_download(app, scene, route)
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(BIG)
        assert response.get_data() == BIG
        assert download_events(app, scene, route)[-1] == (ROLE_OF[route], "ok")
        assert all(outcome == "ok" for _role, outcome in download_events(app, scene, route))


def test_ranges_are_not_offered_so_a_resumed_download_gets_the_whole_document(
    app: Flask,
) -> None:
    """No route serves a byte range: a browser resuming a download gets it whole,
    with the stored length, rather than a slice whose bounds came from the database."""
    scene = make_scene(app)
    client = signed_in(app, scene.person)
    response = client.get(
        f"/documents/{scene.document}/telecharger", headers={"Range": "bytes=100-199"}
    )
    assert response.status_code == 200
    assert "Accept-Ranges" not in response.headers
    assert response.headers["Content-Length"] == str(len(BIG))
    assert response.get_data() == BIG


def test_an_edited_size_changes_nothing_sent(app: Flask) -> None:
    """In process: the announced length is the stored document's, whatever the row says."""
    scene = make_scene(app)
    with app.app_context():
        db = db_session()
        for model in (DocumentVersion, Document):
            key = model.document_id if model is DocumentVersion else model.id  # type: ignore[attr-defined]
            db.execute(update(model).where(key == scene.document).values(size=1000))
        db.commit()
    for route in ROUTES:
        response = request_download(app, scene, route)
        assert response.headers["Content-Length"] == str(len(BIG))
        assert response.get_data() == BIG


# --- item 1: a real server and a client that can tell a short body -------------------------

REPO = Path(__file__).resolve().parents[3]
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class HttpClient:
    """One browser against a real server: its own cookies (kept as a browser would)."""

    def __init__(self, base: str) -> None:
        from urllib3 import PoolManager

        self.base = base
        self.http = PoolManager(maxsize=1)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        headers = {"Cookie": cookie_header(self.cookies)}
        options = {"headers": headers if self.cookies else {}, "redirect": False, "retries": False}
        if method == "POST":
            response = self.http.request_encode_body(
                method, self.base + path, fields=fields, encode_multipart=False, **options
            )
        else:
            response = self.http.request(method, self.base + path, **options)
        keep_cookies(self.cookies, response.headers.getlist("Set-Cookie"))
        return response

    def post_form(self, path: str, fields: dict[str, str]):  # type: ignore[no-untyped-def]
        page = self.request("GET", path).data.decode()
        match = CSRF_RE.search(page)
        assert match, path
        return self.request("POST", path, {"csrf_token": match.group(1), **fields})

    def sign_in(self, account: Account) -> None:
        response = self.post_form(
            "/connexion", {"username": account.username, "passphrase": account.passphrase}
        )
        assert response.status == 302, response.status


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The app under gunicorn as in the image (docker/gunicorn.conf.py), one worker.

    The embedded database and blob folder are prepared here first, through the
    real services, with this process's app on the same settings.
    """
    import secrets
    import subprocess
    import sys
    import time

    from urllib3 import PoolManager
    from urllib3.exceptions import HTTPError

    from crypto import KeyRing
    from tests.conftest import TEST_ESCROW
    from tests.services import free_port
    from vault import create_app
    from vault.core import migrate
    from vault.core.config import Settings
    from vault.core.db import get_database

    environment = {
        "VAULT_ENV": "development",
        "VAULT_INSTANCE_PATH": str(tmp_path),
        "VAULT_DATABASE_URL": f"sqlite:///{tmp_path / 'vault.sqlite3'}",
        "VAULT_STORAGE_URL": (tmp_path / "blobs").as_uri(),
        "VAULT_SECRET_KEY": secrets.token_urlsafe(48),
        "VAULT_SERVER_KEYS": KeyRing.generate_string(),
        "VAULT_ESCROW_PUBLIC_KEY": TEST_ESCROW["escrow_public_key"],
        "VAULT_LOG_LEVEL": "WARNING",
    }
    app = create_app(Settings.from_env(environment))
    migrate.upgrade(get_database(app).engine)
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "docker" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "wsgi:app",
        ],
        cwd=REPO,
        env={**os.environ, **environment},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        http = PoolManager()
        for _ in range(600):
            try:
                if http.request("GET", base + "/health", retries=False).status == 200:
                    break
            except HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer /health")
        yield app, base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        get_database(app).dispose()
        get_store(app).close()


def test_a_database_edit_of_the_size_never_shortens_a_download_under_gunicorn(
    served: tuple[Flask, str],
) -> None:
    """Someone with the database sets the clear size smaller, then larger: every route
    still sends the whole document, or a response the client sees is broken."""
    from urllib3.exceptions import HTTPError

    app, base = served
    scene = make_scene(app)
    routes = {
        "person": (scene.person, f"/documents/{scene.document}/telecharger"),
        "counsellor": (
            scene.counsellor,
            f"/suivi/{scene.person.user.id}/documents/{scene.document}/telecharger",
        ),
        "link": (None, f"/lien/{scene.token}"),
    }
    for size in (len(BIG) - 1000, 1000, len(BIG) + 5000):
        with app.app_context():
            db = db_session()
            db.execute(
                update(DocumentVersion)
                .where(DocumentVersion.document_id == scene.document)
                .values(size=size)
            )
            db.execute(update(Document).where(Document.id == scene.document).values(size=size))
            db.commit()
        for route, (account, path) in routes.items():
            client = HttpClient(base)
            if account is not None:
                client.sign_in(account)
            try:
                if route == "link":
                    response = client.post_form(path, {})
                else:
                    response = client.request("GET", path)
            except HTTPError as e:  # the client saw a broken response: not what we want either
                pytest.fail(f"{route}, size {size}: broken response ({type(e).__name__})")
            assert response.status == 200, (route, size)
            # A complete response (the client read every announced byte)...
            assert len(response.data) == len(BIG), (route, size)
            # ...is the whole document.
            assert response.data == BIG, (route, size)
            assert response.headers["Content-Length"] == str(len(BIG)), (route, size)
