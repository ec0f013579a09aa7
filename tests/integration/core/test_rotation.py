"""Server key ring rotation: `vault keys rotate` and `vault keys status`.

A vault is written under ring "1:A"; the app then runs with "1:A,2:B"; after
the rotation every stored key is under version 2, documents still decrypt,
deposits can still be taken in, the journal heads still verify, and the ring
"2:B" alone (version 1 removed) opens everything. Blobs are never rewritten.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.factories import Account, make_account, make_document, pdf_bytes, signed_in
from tests.helpers import new_ring_key as new_key
from vault.accounts import keys
from vault.core import rotation
from vault.core.config import Settings
from vault.core.db import db_session, get_database
from vault.core.envelope import slot_aad
from vault.core.extensions import get_keyring, get_store
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.models import Document, DocumentVersion, KeySlot, Role, SlotKind, User
from vault.sharing import links
from vault.sharing import service as sharing


@dataclass
class Vault:
    person: Account
    counsellor: Account
    contents: dict[str, bytes]  # document id -> plaintext
    deposit_id: str
    link_token: str
    link_document: str


LINK_PIN = "482916"


def fill(app: Flask) -> Vault:
    """Accounts (slots), documents (wrapped DEKs), a deposit (sealed DEK), journal heads."""
    person = make_account(app, first="Alex", last="Martin")
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    contents = {}
    for marker in ("premier", "second"):
        content = pdf_bytes(marker)
        contents[str(make_document(app, person, content).id)] = content
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        staff = db.get(User, counsellor.user.id)
        assert user and staff
        sharing.assign(db, user, staff, by=staff)
        content = pdf_bytes("dépôt")
        deposit = sharing.deposit_document(
            db,
            get_store(),
            get_keyring(),
            staff,
            user,
            [content],
            mime="application/pdf",
            title="Attestation",
            filename="attestation.pdf",
            category="justice",
            doc_type="release_certificate",
        )
        db.commit()
        contents[str(deposit.id)] = content
        # An external link: its key is under the ring too (and the token and PIN).
        linked = next(iter(contents))
        _link, token = links.create_link(
            db,
            get_keyring(),
            Unlocked(user, person.key),
            uuid.UUID(linked),
            recipient="employer",
            days=7,
            pin=LINK_PIN,
        )
        db.commit()
    return Vault(person, counsellor, contents, str(deposit.id), token, linked)


def open_link_as_recipient(app: Flask, token: str, pin: str) -> bytes:
    visitor = app.test_client()
    page = visitor.get(f"/lien/{token}")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert match
    response = visitor.post(f"/lien/{token}", data={"csrf_token": match.group(1), "pin": pin})
    assert response.status_code == 200
    return bytes(response.data)


def blob_digests(settings: Settings) -> dict[str, str]:
    root = Path(settings.storage_url.removeprefix("file://"))
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def app_with(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> Callable[[str], Flask]:
    """Another app on the same (rolled-back) database and blob store, with `server_keys`."""

    def build(server_keys: str) -> Flask:
        other = make_app(database_url=database_url, server_keys=server_keys)
        get_database(other).bind_to(connection)
        return other

    return build


def cli(app: Flask, *args: str) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["keys", *args])
    return result.exit_code, result.output.splitlines()


def versions(app: Flask) -> dict[str, dict[int, int]]:
    with app.app_context():
        return rotation.survey(db_session(), get_keyring())


def test_rotate_then_drop_the_old_version(
    app: Flask, settings: Settings, app_with: Callable[[str], Flask]
) -> None:
    vault = fill(app)
    before = blob_digests(settings)
    first = settings.server_keys
    second = "2:" + new_key()
    rotating = app_with(f"{first},{second}")

    code, lines = cli(rotating, "status")
    assert code == 1
    assert "not under the current version 2" in lines[-1]
    assert all(set(v) == {1} for v in versions(rotating).values())

    code, lines = cli(rotating, "rotate", "--batch-size", "2")
    assert code == 0, lines
    assert lines[-1].startswith("keys rotate: OK (")
    assert "key slots: " in lines[0] and " re-wrapped, 0 already under version 2" in lines[0]
    assert lines[2] == "deposit keys: 1 re-wrapped, 0 already under version 2"
    survey = versions(rotating)
    assert all(set(v) == {2} for v in survey.values()), survey
    assert survey["key slots"][2] == 6  # password, recovery, escrow of two accounts
    assert survey["document keys"][2] == 2
    assert survey["link keys"] == {2: 1}

    # Idempotent: a second run only verifies.
    code, lines = cli(rotating, "rotate")
    assert code == 0
    assert lines[-1].startswith("keys rotate: OK (0 re-wrapped, ")
    assert cli(rotating, "status")[0] == 0
    assert blob_digests(settings) == before  # blobs untouched

    # Version 1 leaves the ring: everything still opens.
    after = app_with(second)
    assert cli(after, "status")[1][-1].startswith(
        "keys status: OK (every stored key under version 2"
    )
    with after.app_context():
        db = db_session()
        ring = get_keyring()
        user = db.get(User, vault.person.user.id)
        assert user is not None
        owner = Unlocked(user, vault.person.key)
        for document in db.execute(
            select(Document).where(Document.vault_id == user.id, Document.meta_sealed.is_(False))
        ).scalars():
            version = documents.current_version(db, document)
            plain = b"".join(documents.read_content(get_store(), ring, owner, version))
            assert plain == vault.contents[str(document.id)]
            meta = documents.document_meta(owner, document)
            assert hashlib.sha256(plain).hexdigest() == meta.sha256
        # The escrow slot still opens under the new outer layer.
        slot = keys.get_slot(db, user.id, SlotKind.ESCROW)
        assert slot is not None
        ring.unwrap(slot.data, slot_aad(user.id, SlotKind.ESCROW))
        assert journal.verify(db, ring=ring)[1] == []
    # Sign-in (password slot) and taking in the deposit (sealed DEK) work too.
    client = signed_in(after, vault.person)
    assert client.get("/documents/").status_code == 200
    response = client.get(f"/documents/{vault.deposit_id}/telecharger")
    assert response.status_code == 200
    assert response.data == vault.contents[vault.deposit_id]
    # The link made before the rotation still opens, with its PIN.
    linked = open_link_as_recipient(after, vault.link_token, LINK_PIN)
    assert linked == vault.contents[vault.link_document]


def test_a_ring_without_the_old_version_fails_in_one_line(
    app: Flask, settings: Settings, app_with: Callable[[str], Flask]
) -> None:
    fill(app)
    lost = app_with("2:" + new_key())
    code, lines = cli(lost, "rotate")
    assert code == 1
    assert lines[-1].startswith("keys rotate: FAILED: ")
    assert "could not be re-wrapped (first: key slots " in lines[-1]
    assert "the key ring has no version 1" in lines[-1]
    # Nothing was damaged: the old ring still opens every row.
    assert all(set(v) == {1} for v in versions(app).values())
    assert cli(app, "rotate")[0] == 0


def test_a_row_rewritten_meanwhile_is_not_overwritten(
    app: Flask, settings: Settings, app_with: Callable[[str], Flask]
) -> None:
    person = make_account(app)
    rotating = app_with(f"{settings.server_keys},2:{new_key()}")
    kind = rotation.KINDS[0]
    with rotating.app_context():
        db = db_session()
        ring = get_keyring()
        stale = db.execute(
            select(kind.key, kind.column, *kind.extra).where(
                KeySlot.user_id == person.user.id, KeySlot.kind == SlotKind.RECOVERY
            )
        ).one()
        # The person gets a new recovery kit between the job's read and its write.
        keys.put_passphrase_slot(
            db, ring, person.user.id, SlotKind.RECOVERY, person.key, "nouveau code"
        )
        db.commit()
        fresh = keys.get_slot(db, person.user.id, SlotKind.RECOVERY)
        assert fresh is not None
        written = fresh.data
        counts = rotation.Counts()
        rotation._rotate_row(db, ring, kind, stale, counts)
        db.commit()
        assert counts.rewrapped == {} and counts.current == {"key slots": 1}
        db.expire_all()
        slot = keys.get_slot(db, person.user.id, SlotKind.RECOVERY)
        assert slot is not None and slot.data == written
        assert keys.open_passphrase_slot(ring, slot, "nouveau code") == person.key


def test_generate_writes_a_new_ring_file(app: Flask, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "keys"
    code, lines = cli(app, "generate", "--out", str(out))
    assert code == 0, lines
    text = out.read_text().strip()
    assert text.startswith(settings.server_keys + ",2:")
    assert out.stat().st_mode & 0o777 == 0o600
    assert text not in "\n".join(lines)  # the secret is in the file only
    code, lines = cli(app, "generate", "--out", str(out))
    assert code == 1 and "refusing to overwrite" in lines[-1]


def test_versions_of_deposits_are_counted_once_taken_in(app: Flask) -> None:
    vault = fill(app)
    with app.app_context():
        db = db_session()
        row = db.execute(
            select(DocumentVersion).where(DocumentVersion.sealed_dek.is_not(None))
        ).scalar_one()
        assert str(row.document_id) == vault.deposit_id
    assert versions(app)["deposit keys"] == {1: 1}
