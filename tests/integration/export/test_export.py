"""The exit pack (`/export/`) on each test database, on the local store and on S3."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection

from crypto import CryptoError, normalize_recovery_code
from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    pdf_bytes,
    png_bytes,
    signed_in,
)
from tests.helpers import pdf_text, post_form
from tests.s3server import S3Target
from vault.accounts import keys
from vault.core.db import db_session, get_database
from vault.core.extensions import get_keyring, get_store
from vault.documents.service import Unlocked
from vault.export import service as export
from vault.export.views import exit_pack
from vault.models import (
    Blob,
    DocumentVersion,
    JournalEvent,
    Role,
    ServerSession,
    SlotKind,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

VAULT = str(Path(sys.executable).with_name("vault"))
REPO = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024

# Titles a person (or a deposit, or old data) may hold; none may escape its folder.
HOSTILE_TITLES = [
    "../x",
    "../../etc/passwd",
    "a\x00b",
    "\u202egnp.exe",  # right-to-left override: "exe.png" on screen
    "T" * 300,
    "é" * 300,
    "Attestation",
    "Attestation",
    "attestation",
    "CON",
    "2024/2025",
    "..",
    "",
    "C:\\Windows\\win.ini",
    'a<b>c:d"e|f?g*h',
    "bulletin\r\nde paie",
]


def export_response(client: FlaskClient, passphrase: str) -> object:
    return client.post(
        "/export/",
        data={"csrf_token": csrf_token(client, "/export/"), "passphrase": passphrase},
    )


def download(client: FlaskClient, account: Account, target: Path) -> Path:
    response = export_response(client, account.passphrase)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "application/zip"  # type: ignore[attr-defined]
    target.write_bytes(response.get_data())  # type: ignore[attr-defined]
    return target


def verify(app: Flask, path: Path) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["export", "verify", str(path)])
    return result.exit_code, result.output


def opens_recovery_slot(app: Flask, account: Account, code: str) -> bool:
    with app.app_context():
        slot = keys.get_slot(db_session(), account.user.id, SlotKind.RECOVERY)
        assert slot is not None
        try:
            return keys.open_passphrase_slot(
                get_keyring(), slot, normalize_recovery_code(code)
            ) == (account.key)
        except CryptoError:
            return False


def journal_actions(app: Flask, account: Account) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent.action, JournalEvent.outcome)
            .where(JournalEvent.vault_id == account.user.id)
            .order_by(JournalEvent.seq)
        )
        return [(a, o) for a, o in rows]


def content_for(i: int) -> bytes:
    return pdf_bytes(f"document {i}") + os.urandom(2000 + i)


def test_exit_pack_holds_every_document_under_safe_names_and_verifies(
    app: Flask, tmp_path: Path
) -> None:
    account = make_account(app, first="Alex", last="Départ")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    soon = date.today() + timedelta(days=30)
    originals: dict[str, bytes] = {}
    plain = [
        ("Carte d'identité", "identity", "id_card", soon),
        ("Jugement", "justice", "judgment", None),
        ("CV 2025", "work", "cv", None),
    ]
    for i, (title, category, doc_type, expiry) in enumerate(plain):
        content = content_for(i)
        document = make_document(
            app,
            account,
            content,
            title=title,
            category=category,
            doc_type=doc_type,
            expiry_date=expiry,
        )
        originals[str(document.id)] = content
    picture = png_bytes()
    document = make_document(
        app,
        account,
        picture,
        title="Carte Vitale",
        category="health",
        doc_type="social_security_card",
        mime="image/png",
    )
    originals[str(document.id)] = picture
    for i, title in enumerate(HOSTILE_TITLES, start=10):
        content = content_for(i)
        document = make_document(
            app, account, content, title=title, category="other", doc_type="other"
        )
        originals[str(document.id)] = content
    with app.app_context():
        db = db_session()
        person, staff = db.get(User, account.user.id), db.get(User, counsellor.user.id)
        assert person and staff
        sharing.assign(db, person, staff, by=staff)
        db.commit()

    client = signed_in(app, account)
    page = client.get("/export/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'autocomplete="current-password"' in text and "leur liste, votre historique" in text

    response = export_response(client, account.passphrase)
    assert response.status_code == 200  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert re.fullmatch(
        r'attachment; filename="coffre-\d{4}-\d{2}-\d{2}\.zip"', headers["Content-Disposition"]
    )
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    path = tmp_path / "coffre.zip"
    path.write_bytes(response.get_data())  # type: ignore[attr-defined]

    code, output = verify(app, path)
    assert code == 0, output
    assert output.strip() == f"export verify: OK ({len(originals)} documents)"

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        # Files first, then what describes them (the manifest's digests come from the stream).
        assert names[-3:] == ["manifest.json", "journal.json", "resume.pdf"]
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "vault-export" and manifest["format_version"] == 1
        assert manifest["person"] == {"display_name": "Alex Départ", "username": account.username}
        assert manifest["documents"] == len(originals)
        assert "3" in manifest["retention"]["rule"]
        by_id = {entry["document_id"]: entry for entry in manifest["files"]}
        assert set(by_id) == set(originals)
        for document_id, content in originals.items():
            entry = by_id[document_id]
            assert archive.read(entry["path"]) == content  # byte-identical
            assert entry["sha256"] == hashlib.sha256(content).hexdigest()
            assert entry["size"] == len(content)
        identity = next(e for e in manifest["files"] if e["title"] == "Carte d'identité")
        assert identity["expiry_date"] == soon.isoformat()
        assert identity["path"] == "Identite/Carte d'identité.pdf"
        assert by_id[str(document.id)]["path"].endswith(".pdf")  # the last hostile one

        paths = [e["path"] for e in manifest["files"]]
        assert len({p.casefold() for p in paths}) == len(paths)
        for name in paths:
            folder, _, filename = name.partition("/")
            assert folder and filename and "/" not in filename
            assert folder.isascii() and len(folder) <= 60
            assert filename not in (".", "..") and not filename.startswith(".")
            assert len(filename.encode()) <= 200
            assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in name)
            assert not re.search(r'[<>:"\\|?*]', name)
        folders = {p.split("/")[0] for p in paths}
        assert {"Identite", "Justice", "Sante", "Travail et CV", "Autre"} <= folders
        others = sorted(p for p in paths if p.startswith("Autre/"))
        # Same title, or differing by case only: numbered, never overwriting each other.
        assert {p.casefold() for p in others if "ttestation" in p} == {
            "autre/attestation.pdf",
            "autre/attestation (2).pdf",
            "autre/attestation (3).pdf",
        }
        assert "Autre/CON_.pdf" in others

        events = json.loads(archive.read("journal.json"))["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["action"] == "export.created" and events[-1]["outcome"] == "ok"
        # An export issues no recovery kit (D-090).
        assert "recovery_kit.issued" not in [e["action"] for e in events]
        assert all(e["text"] and e["when"] for e in events)
        # The title between Unicode isolates (docs/export.md, docs/rtl.md).
        assert any("« \u2068Carte Vitale\u2069 »" in e["text"] for e in events)

        summary = archive.read("resume.pdf")
    words = re.sub(r"\s+", "", pdf_text(summary))
    assert account.username in words
    assert "Carted'identité" in words and "ClaireConseil" in words
    assert "http://localhost/connexion" in words
    # No code on the summary: the printed sheet the person has keeps working.
    assert not re.search(r"\d{32}", words)
    assert "Gardezlafeuilledesecoursquevousavezdéjà" in words
    assert opens_recovery_slot(app, account, account.recovery_code)
    assert journal_actions(app, account)[-1] == ("export.created", "ok")


def test_the_fresh_sign_in_is_required_and_throttled(app: Flask) -> None:
    account = make_account(app)
    make_document(app, account)
    client = signed_in(app, account)
    missing = client.post("/export/", data={"csrf_token": csrf_token(client, "/export/")})
    assert missing.status_code == 400 and missing.mimetype == "text/html"

    for _ in range(4):
        wrong = export_response(client, "not my phrase at all")
        assert wrong.status_code == 400  # type: ignore[attr-defined]
        assert wrong.mimetype == "text/html"  # type: ignore[attr-defined]
        assert b"PK" not in wrong.get_data()[:2]  # type: ignore[attr-defined]
    refused = [a for a in journal_actions(app, account) if a == ("export.created", "refused")]
    assert len(refused) == 4
    # Four failures: even the right phrase waits now (same bucket as a passphrase change).
    throttled = export_response(client, account.passphrase)
    assert throttled.status_code == 429  # type: ignore[attr-defined]
    assert opens_recovery_slot(app, account, account.recovery_code)  # nothing was issued


def test_a_blob_failing_its_tag_breaks_the_download(app: Flask, tmp_path: Path) -> None:
    account = make_account(app)
    make_document(app, account, content_for(1), title="Premier")
    damaged = make_document(app, account, content_for(2), title="Second")
    with app.app_context():
        db = db_session()
        version = db.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == damaged.id)
        ).scalar_one()
        blob = db.get(Blob, version.blob_id)
        assert blob is not None
        root = Path(get_store().describe().removeprefix("file://"))
        blob_path = root / blob.key
    data = bytearray(blob_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob_path.write_bytes(bytes(data))

    client = signed_in(app, account)
    response = client.post(
        "/export/",
        data={"csrf_token": csrf_token(client, "/export/"), "passphrase": account.passphrase},
        buffered=False,
    )
    assert response.status_code == 200  # the headers left before the damage was reached
    received = bytearray()
    with pytest.raises(CryptoError):
        for chunk in response.response:  # type: ignore[union-attr]
            received += chunk
    response.close()
    # What arrived is no archive: no central directory, nothing looks complete.
    partial = tmp_path / "partial.zip"
    partial.write_bytes(bytes(received))
    code, output = verify(app, partial)
    assert code == 1 and output.count("\n") == 1 and "FAILED" in output
    assert journal_actions(app, account)[-1] == ("export.created", "failed")
    # An export never replaces the kit, a broken one neither.
    assert opens_recovery_slot(app, account, account.recovery_code)


def test_roles_other_than_the_person_cannot_export(app: Flask) -> None:
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    client = signed_in(app, counsellor)
    assert client.get("/export/").status_code == 403
    assert app.test_client().get("/export/").status_code == 302


def test_an_empty_vault_exports_and_verifies(app: Flask, tmp_path: Path) -> None:
    account = make_account(app)
    path = download(signed_in(app, account), account, tmp_path / "empty.zip")
    code, output = verify(app, path)
    assert code == 0 and "OK (0 documents)" in output


def test_verify_needs_no_configuration_nor_database(app: Flask, tmp_path: Path) -> None:
    account = make_account(app)
    make_document(app, account)
    path = download(signed_in(app, account), account, tmp_path / "coffre.zip")
    # Production refuses to start without its secrets: verify must not need them.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "FLASK_"))}
    env.update(VAULT_ENV="production", VAULT_INSTANCE_PATH=str(tmp_path / "nowhere"))
    done = subprocess.run(
        [VAULT, "export", "verify", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "export verify: OK (1 documents)\n"
    bad = subprocess.run(
        [VAULT, "export", "verify", str(tmp_path / "absent.zip")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "nowhere").exists()


def test_exit_pack_from_s3(
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
    s3_server: S3Target,
    tmp_path: Path,
) -> None:
    app = make_app(database_url=database_url, storage_url=s3_server.url)
    get_database(app).bind_to(connection)
    account = make_account(app)
    # Several VSF1 segments, and more than one S3 part.
    big = pdf_bytes("gros") + os.urandom(9 * MIB)
    make_document(app, account, big, title="Gros document", category="work", doc_type="cv")
    make_document(app, account, png_bytes(), title="Photo", mime="image/png")
    path = download(signed_in(app, account), account, tmp_path / "s3.zip")
    code, output = verify(app, path)
    assert code == 0, output
    with zipfile.ZipFile(path) as archive:
        assert archive.read("Travail et CV/Gros document.pdf") == big


def _chunks(total: int, seed: int) -> Iterator[bytes]:
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    yield b"%PDF-1.4\n"
    left = total
    while left:
        piece = block[: min(len(block), left)]
        left -= len(piece)
        yield piece


def test_export_memory_stays_bounded(app: Flask) -> None:
    account = make_account(app)
    with app.app_context():
        db = db_session()
        user = db.get(User, account.user.id)
        assert user is not None
        owner = Unlocked(user, account.key)
        from vault.documents import service as documents

        for i in range(4):
            documents.add_document(
                db,
                get_store(),
                get_keyring(),
                owner,
                _chunks(16 * MIB, i),
                mime="application/pdf",
                title=f"Grand {i}",
                filename=f"grand-{i}.pdf",
                category="other",
                doc_type="other",
                expiry_date=None,
                actor=user,
            )
        db.commit()

    class Sink(io.RawIOBase):
        def __init__(self) -> None:
            self.digest = hashlib.sha256()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.digest.update(data)
            return len(data)

    with app.test_request_context("/export/", method="POST"):
        db = db_session()
        user = db.get(User, account.user.id)
        assert user is not None
        owner = Unlocked(user, account.key)
        tracemalloc.start()
        try:
            written = export.stream_to(exit_pack(owner), Sink())
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert written > 64 * MIB
    assert peak < 16 * MIB, f"traced peak {peak / MIB:.1f} MiB"


def test_the_fresh_phrase_guards_what_docs_export_says_and_no_more(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> None:
    """docs/export.md, "Fresh sign-in": what the check protects, and what it does not."""
    promise = (REPO / "docs" / "export.md").read_text(encoding="utf-8")
    assert "It protects the one-request archive." in promise
    assert "It does not make an open session safe." in promise
    assert "no phrase is asked for a\n  single document, on a kiosk or elsewhere" in promise

    # A session at a kiosk of the establishment (the test client is 127.0.0.1),
    # and one of the same person on their own phone, outside.
    app = make_app(database_url=database_url, kiosk_networks=("127.0.0.0/8",))
    get_database(app).bind_to(connection)
    account = make_account(app)
    contents = [content_for(i) for i in range(3)]
    papers = [make_document(app, account, c, title=f"Papier {i}") for i, c in enumerate(contents)]
    client = signed_in(app, account)
    phone = app.test_client()
    phone.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    post_form(phone, "/connexion", {"username": account.username, "passphrase": account.passphrase})

    # Without the phrase: no archive, and the recovery sheet is not replaced
    # (on a kiosk no archive at all: docs/kiosk.md).
    for phrase in ("", "not my phrase at all"):
        for who, status in ((phone, 400), (client, 403)):
            refused = export_response(who, phrase)
            assert refused.status_code == status  # type: ignore[attr-defined]
            assert refused.mimetype == "text/html"  # type: ignore[attr-defined]
    assert opens_recovery_slot(app, account, account.recovery_code)

    # Single documents ask no phrase: whoever sits at the open session reads
    # them one by one (on a kiosk on the screen, elsewhere also as files), and
    # each download is in the person's history.
    for i, paper in enumerate(papers):
        page = html.unescape(client.get(f"/documents/{paper.id}").get_data(as_text=True))
        assert f"Papier {i}" in page
    for paper, content in zip(papers, contents, strict=True):
        assert phone.get(f"/documents/{paper.id}/telecharger").data == content
    downloaded = [a for a in journal_actions(app, account) if a[0] == "document.downloaded"]
    assert downloaded == [("document.downloaded", "ok")] * 3
    history = client.get("/journal/").get_data(as_text=True)
    assert all(f"Vous avez téléchargé « <bdi>Papier {i}</bdi> »" in history for i in range(3))

    # What ends an unattended kiosk session: VAULT_KIOSK_IDLE_MINUTES without activity.
    with app.app_context():
        db = db_session()
        [row] = db.execute(
            select(ServerSession).where(
                ServerSession.user_id == account.user.id, ServerSession.idle_minutes == 10
            )
        ).scalars()
        row.last_seen_at = utcnow() - timedelta(minutes=11)
        db.commit()
    gone = client.get(f"/documents/{papers[0].id}/telecharger")
    assert gone.status_code == 302 and "/connexion" in gone.headers["Location"]
