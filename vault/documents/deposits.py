"""Deposits: a counsellor or an administrator adds a document to a person's vault.

The depositor holds the DEK only during the deposit: the key and the metadata
are sealed to the vault's public key (HPKE), the key also under the server
ring, until the person signs in and `take_in_deposits` re-wraps them under the
vault key like any document's. Counsellors the person shares the document's
category with get it at once (vault.access.grants).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import storage
from crypto import KeyRing, derive_keypair, generate_data_key, load_public_key, open_sealed, seal
from vault.access import grants
from vault.access.assignments import active_assignment
from vault.accounts.keys import Unlocked
from vault.core.envelope import (
    DEPOSIT_DEK,
    DEPOSIT_META,
    DataKey,
    content_aad,
    deposit_context,
    deposit_dek_aad,
)
from vault.core.errors import NotFound
from vault.documents.blobs import blob_row, write_content
from vault.documents.index import update_index
from vault.documents.keys import Meta, meta_from_json, meta_json, seal_meta, wrap_dek
from vault.documents.service import check_quota
from vault.journal import service as journal
from vault.models import Document, DocumentVersion, Role, User
from vault.models.base import utcnow

# What a deposit's HPKE context names: the sealed metadata, or a version's key.


def deposit_document(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    depositor: User,
    person: User,
    chunks: Iterable[bytes],
    *,
    mime: str,
    title: str,
    filename: str,
    category: str,
    doc_type: str,
    expiry_date: date | None = None,
    quota: int | None = None,
) -> Document:
    """Add a document to `person`'s vault, sealed to the vault's public key.

    The depositor holds the DEK only during this call: afterwards only the
    person (and counsellors the person shares with) can open it. Raises
    QuotaExceeded (naming the blob written) when the vault would exceed `quota`.
    """
    if person.role != Role.PERSON:
        raise NotFound()
    if depositor.role == Role.COUNSELLOR and active_assignment(db, person.id, depositor.id) is None:
        raise NotFound()
    vault_public = load_public_key(person.public_key)
    now = utcnow()
    document_id = uuid.uuid4()
    dek = DataKey(generate_data_key())
    written = write_content(store, dek, content_aad(person.id, document_id, 1), chunks)
    counter = written.counter
    meta = Meta(title, filename, counter.sha256.hexdigest(), counter.crc32)
    document = Document(
        id=document_id,
        vault_id=person.id,
        category=category,
        doc_type=doc_type,
        expiry_date=expiry_date,
        current_version=1,
        mime=mime,
        size=counter.size,
        meta=seal(vault_public, meta_json(meta), deposit_context(document_id, 1, DEPOSIT_META)),
        meta_sealed=True,
        deposited_by_id=depositor.id,
        created_at=now,
        updated_at=now,
    )
    db.add(document)
    blob = blob_row(store, written.key, written.info)
    db.add(blob)
    db.flush()
    version = DocumentVersion(
        id=uuid.uuid4(),
        document_id=document_id,
        version=1,
        blob_id=blob.id,
        mime=mime,
        size=counter.size,
        wrapped_dek=None,
        sealed_dek=ring.wrap(
            seal(vault_public, dek, deposit_context(document_id, 1, DEPOSIT_DEK)),
            deposit_dek_aad(document_id),
        ),
        created_by_id=depositor.id,
    )
    blob.key_id = f"dek:{version.id}"
    db.add(version)
    db.flush()
    check_quota(db, person.id, quota, [(store.name, written.key)])
    person.pending_deposits = (person.pending_deposits or 0) + 1
    grants.seal_for_standing_shares(db, person, document, 1, dek, meta.title, meta.filename)
    journal.append(
        db,
        vault_id=person.id,
        action="document.deposited",
        actor=depositor,
        document_id=document_id,
        details={"category": category, "type": doc_type},
    )
    return document


def take_in_deposits(db: Session, ring: KeyRing, owner: Unlocked) -> int:
    """Re-wrap deposits under the vault key, now that the owner's key is here."""
    documents = list(
        db.execute(
            select(Document).where(
                Document.vault_id == owner.vault_id, Document.meta_sealed.is_(True)
            )
        ).scalars()
    )
    if not documents:
        return 0
    keypair = derive_keypair(owner.key)
    for document in documents:
        raw_meta = open_sealed(
            keypair, document.meta, deposit_context(document.id, 1, DEPOSIT_META)
        )
        for version in db.execute(
            select(DocumentVersion).where(
                DocumentVersion.document_id == document.id, DocumentVersion.sealed_dek.is_not(None)
            )
        ).scalars():
            assert version.sealed_dek is not None
            sealed = ring.unwrap(version.sealed_dek, deposit_dek_aad(document.id))
            dek = DataKey(
                open_sealed(
                    keypair, sealed, deposit_context(document.id, version.version, DEPOSIT_DEK)
                )
            )
            version.wrapped_dek = wrap_dek(ring, owner, document.id, version, dek)
            version.sealed_dek = None
        meta = meta_from_json(raw_meta)
        document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
        document.meta_sealed = False
        update_index(db, owner, document, meta.title)
    owner.user.pending_deposits = 0
    db.flush()
    return len(documents)
