"""The app served as in the image, a service made to fail under it, and what must hold after.

Every fault test follows the same shape: a person's vault with documents is
prepared through the real services; the app runs under gunicorn with
docker/gunicorn.conf.py (tests/integration/served_app.py); a request streams
over real HTTP and, half-way, a service is killed or stopped; then
:func:`assert_sound` checks, with the app's own code and commands, that no
row names a missing or partial blob, that `vault storage gc --delete`
leaves no orphan, that `vault journal verify` passes and that every
document still decrypts to its sealed SHA-256.

The private PostgreSQL and the small disk are in tests/faults/breakable.py.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

import storage
from tests.cookies import cookie_header, keep_cookies
from tests.factories import Account, make_account, make_document, pdf_bytes
from tests.helpers import user
from tests.integration.served_app import Client, Deployment, Server, gunicorn, new_deployment
from vault.core import migrate
from vault.core.db import db_session, make_engine
from vault.core.extensions import get_keyring, get_store
from vault.documents import blobs
from vault.documents.keys import Unlocked, document_meta
from vault.documents.service import current_version
from vault.models import Blob, Document

MiB = 1024 * 1024
# Larger than the socket buffers between the app and the client (whose
# receive buffer download() keeps small) together, so that a fault half-way
# lands while the app still streams.
BIG = 24 * MiB
# When the store is the one to fail, larger than every buffer from the store
# to the client as well: Linux lets a receive buffer grow to tcp_rmem's
# maximum (32 MiB here) on the app's side of its connection to the store.
HUGE = 64 * MiB
# The big document of a test that cuts no download: it is read back in every check.
SMALL = 4 * MiB
# download()'s receive buffer: setting it turns the kernel's autotuning off.
CLIENT_RECEIVE_BUFFER = 256 * 1024
UPLOAD = 20 * MiB  # under the 25 MB upload limit; spans three S3 parts of 8 MiB

# What the person reads (vault/translations/fr): the 503 page, and the upload form's refusal.
UNAVAILABLE = "Le coffre-fort ne répond pas pour le moment. Vos documents sont en sécurité."
NOTHING_SAVED = "Le coffre-fort ne répond pas pour le moment. Rien n'a été enregistré."


def content(label: str, size: int) -> bytes:
    """A PDF of `size` bytes (its head is a real PDF; random bytes make up the rest)."""
    head = pdf_bytes(label)
    return head + os.urandom(size - len(head))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the vault the tests work on -------------------------------------------------------------


@dataclass
class Scene:
    """A person and the SHA-256 of each of their documents, as they must stay."""

    deployment: Deployment
    person: Account
    expected: dict[uuid.UUID, str] = field(default_factory=dict)
    big: uuid.UUID | None = None


def prepare(deployment: Deployment, big: int = BIG) -> Scene:
    """A person with a small document and a big one, stored through the real services."""
    with deployment.app() as app:
        person = make_account(app, first="Inès", last="Moreau")
        scene = Scene(deployment, person)
        for title, size in (("Carte d'identité", 200_000), ("Jugement", big)):
            data = content(title, size)
            document = make_document(app, person, data, title=title)
            scene.expected[document.id] = sha256(data)
        scene.big = document.id
    return scene


def serve(deployment: Deployment, scratch: Path, workers: int = 1) -> Server:
    """gunicorn as in the image; one worker by default, so that a test knows which one serves."""
    scratch.mkdir(parents=True, exist_ok=True)
    return gunicorn(deployment.environment(), scratch, "--workers", str(workers))


def worker_pids(server: Server) -> list[int]:
    """The pids of the gunicorn master's worker processes."""
    pid = server.process.pid
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def wait_for_the_store(deployment: Deployment, timeout: float = 30.0) -> None:
    """Wait, outside the app, until the store reads back every blob a row names.

    A restarted SeaweedFS answers its readiness probe a little before its
    volumes serve old blobs again: the service is back only then.
    """
    with deployment.app() as app, app.app_context():
        store = get_store(app)
        keys = list(db_session().scalars(select(Blob.key)))
        deadline = time.monotonic() + timeout
        while True:
            try:
                for key in keys:
                    with store.open(key, 0, 1) as reader:
                        reader.read()
                return
            except storage.StorageError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def signed_in(server: Server, person: Account) -> Client:
    client = Client(server.base)
    client.sign_in(person.username, person.passphrase)
    return client


# --- requests that stream, with a fault half-way ---------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the browser got: `status` None means the connection was cut with no answer."""

    status: int | None
    body: str = ""
    location: str = ""


def upload(
    client: Client,
    data: bytes,
    title: str,
    fault: Callable[[], None] | None = None,
) -> Answer:
    """Post `data` through the upload form as a browser does; `fault` runs half-way through."""
    token = client.csrf("/documents/ajouter")
    boundary = secrets.token_hex(16)
    fields = {
        "csrf_token": token,
        "title": title,
        "category": "identity",
        "doc_type": "id_card",
        "expiry_date": "",
    }
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="document.pdf"'
        "\r\nContent-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    address = urlsplit(client.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    try:
        connection.putrequest("POST", "/documents/ajouter")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + len(data) + len(tail)))
        connection.putheader("Cookie", cookie_header(client.cookies))
        connection.endheaders()
        try:
            connection.send(head)
            for offset in range(0, len(data), MiB):
                if fault is not None and offset >= len(data) // 2:
                    fault()
                    fault = None
                connection.send(data[offset : offset + MiB])
            connection.send(tail)
        except OSError:
            pass  # the server stopped reading: its answer may be waiting all the same
        try:
            response = connection.getresponse()
            body = response.read().decode()
        except (OSError, http.client.HTTPException):
            return Answer(None)
        keep_cookies(client.cookies, response.headers.get_all("Set-Cookie") or [])
        return Answer(response.status, html.unescape(body), response.headers.get("Location", ""))
    finally:
        connection.close()


@dataclass(frozen=True)
class Download:
    status: int
    body: bytes
    complete: bool  # False: the connection ended before the announced length

    @property
    def text(self) -> str:
        return html.unescape(self.body.decode(errors="replace"))


def download(
    client: Client, document_id: uuid.UUID, fault: Callable[[], None] | None = None
) -> Download:
    """Download a document as its owner; `fault` runs once the first 2 MiB arrived.

    The client's receive buffer is small and fixed: what the server has sent
    but the client not yet read stays below a few MiB, so that the fault
    cuts the document short rather than find it already all in transit.
    """
    from urllib3 import PoolManager
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import HTTPError

    options = [
        *HTTPConnection.default_socket_options,
        (socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RECEIVE_BUFFER),
    ]
    http = PoolManager(maxsize=1, socket_options=options)
    response = http.request(
        "GET",
        f"{client.base}/documents/{document_id}/telecharger",
        headers={"Cookie": cookie_header(client.cookies)},
        preload_content=False,
        redirect=False,
        retries=False,
    )
    received = bytearray()
    complete = False
    try:
        for chunk in response.stream(256 * 1024):
            received += chunk
            if fault is not None and len(received) >= 2 * MiB:
                fault()
                fault = None
        complete = True
    except (HTTPError, OSError):
        pass
    finally:
        response.release_conn()
        http.clear()
    return Download(response.status, bytes(received), complete)


def assert_french_page(status: int | None, body: str, message: str, expect: int = 503) -> None:
    """The kind French error page: the status, the message, no trace of the machinery."""
    assert status == expect, (status, body[:2000])
    assert 'lang="fr"' in body
    assert message in body, body[:3000]
    for leak in ("Traceback", "Internal Server Error", "OperationalError", "psycopg", "Errno"):
        assert leak not in body


# --- what must hold after the fault -------------------------------------------------------------


def _backdate(root: Path, days: int = 2) -> None:
    """Age every file of a local store, as the nightly `storage gc` of a later day finds them."""
    then = time.time() - days * 86400
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def assert_sound(scene: Scene) -> None:
    """No row names a missing or partial blob; gc leaves no orphan; the journal verifies;
    every document of the person decrypts to the SHA-256 sealed in its metadata."""
    with scene.deployment.app() as app:
        store = get_store(app)
        if isinstance(store, storage.LocalBlobStore):
            _backdate(store.root)
        runner = app.test_cli_runner()
        gc = runner.invoke(args=["storage", "gc", "--delete"])
        assert gc.exit_code == 0, gc.output
        journal = runner.invoke(args=["journal", "verify"])
        assert journal.exit_code == 0 and "journal verify: OK" in journal.output, journal.output
        with app.app_context():
            db = db_session()
            for blob in db.scalars(select(Blob)):
                assert store.stat(blob.key).size == blob.size, blob.key
            later = datetime.now(UTC) + timedelta(days=1)
            left = [info.key for info in blobs.orphans(db, store, later)]
            assert left == [], f"blobs no row names: {left}"
            if isinstance(store, storage.LocalBlobStore):
                assert list((store.root / storage.local.PARTIAL_DIR).iterdir()) == []
            owner = Unlocked(user(scene.person), scene.person.key)
            documents = db.scalars(select(Document).where(Document.vault_id == owner.vault_id))
            found = {}
            for document in documents:
                digest = hashlib.sha256()
                for chunk in blobs.read_content(
                    store, get_keyring(app), owner, current_version(db, document)
                ):
                    digest.update(chunk)
                assert digest.hexdigest() == document_meta(owner, document).sha256
                found[document.id] = digest.hexdigest()
            assert found == scene.expected


def assert_serves_again(server: Server, scene: Scene, client: Client | None = None) -> None:
    """The same server, not restarted: a page, an upload and a download all work."""
    client = client or signed_in(server, scene.person)
    client.page("/documents/")
    data = content("Attestation", 3 * MiB)
    answer = upload(client, data, "Attestation après la panne")
    assert answer.status == 302, (answer.status, answer.body[:2000])
    document_id = uuid.UUID(answer.location.rstrip("/").split("/")[-1])
    scene.expected[document_id] = sha256(data)
    fetched = download(client, document_id)
    assert fetched.status == 200 and fetched.complete
    assert sha256(fetched.body) == scene.expected[document_id]
    if scene.big is not None:
        big = download(client, scene.big)
        assert big.complete and sha256(big.body) == scene.expected[scene.big]


# --- deployments ---------------------------------------------------------------------------------


def sqlite_deployment(root: Path, blobs_dir: Path | None = None) -> Deployment:
    """SQLite and a local blob folder (the embedded default), migrated."""
    database_url = migrated(f"sqlite:///{root / 'vault.sqlite3'}")
    folder = blobs_dir or root / "blobs"
    return new_deployment(database_url, folder.as_uri(), root / "instance")


def migrated(database_url: str) -> str:
    """`database_url`, migrated to head."""
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return database_url


def partial_files(deployment: Deployment) -> list[Path] | None:
    """The temporary files of puts in progress in a local store; None for S3."""
    if not deployment.storage_url.startswith("file:"):
        return None
    root = Path(urlsplit(deployment.storage_url).path)
    return list((root / storage.local.PARTIAL_DIR).iterdir())
