"""The person's document library: add, list, search, read, rename, replace, delete.

Content is encrypted while it streams straight into the blob store
(vault.documents.blobs); the title and file name are sealed under the vault
key (vault.documents.keys) and searched through the sealed title index
(vault.documents.index), for the signed-in owner only. Deletion is
crypto-shredding: the rows holding the wrapped DEKs go in the transaction, the
blobs after the commit (or by `storage gc`).

The shares a change concerns are updated here, explicitly, through
vault.access.grants: a new version is sealed to the standing shares covering
it, a category change drops the keys the old category's shares gave, a
deletion forgets the document's shares and links.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import storage
from crypto import KeyRing, generate_data_key
from vault.access import grants
from vault.core.envelope import DataKey, content_aad
from vault.core.errors import QuotaExceeded, owned_or_404
from vault.documents.blobs import (
    PlaintextCounter,
    blob_row,
    write_content,
)

# Re-exported: most callers of the library (views, export, tests) reach these
# through this module.
from vault.documents.blobs import delete_blobs as delete_blobs
from vault.documents.blobs import read_content as read_content
from vault.documents.blobs import remember_preview_failed as remember_preview_failed
from vault.documents.blobs import save_preview as save_preview
from vault.documents.blobs import stored_preview as stored_preview
from vault.documents.index import fold, title_index, update_index
from vault.documents.keys import Meta, open_meta, seal_meta, wrap_dek
from vault.documents.keys import Unlocked as Unlocked
from vault.documents.keys import document_meta as document_meta
from vault.documents.keys import version_dek as version_dek
from vault.journal import service as journal
from vault.models import Blob, Document, DocumentVersion, User
from vault.models.base import utcnow


class ListedRow(NamedTuple):
    """A row of the columns `list_documents` selects."""

    id: uuid.UUID
    meta: bytes
    category: str
    doc_type: str
    expiry_date: date | None
    mime: str
    size: int
    updated_at: datetime
    deposited_by_id: uuid.UUID | None


@dataclass(frozen=True)
class Listed:
    id: uuid.UUID
    title: str
    category: str
    doc_type: str
    expiry_date: date | None
    mime: str
    size: int
    updated_at: datetime
    deposited: bool


# --- reading ----------------------------------------------------------------------------


def get_document(db: Session, vault_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """The document if it is in `vault_id`'s vault; NotFound otherwise (no hint either way)."""
    document = owned_or_404(db, Document, document_id, vault_id=vault_id)
    return document


def current_version(db: Session, document: Document) -> DocumentVersion:
    version = db.execute(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.version == document.current_version,
        )
    ).scalar_one()
    return version


def quota_used(db: Session, vault_id: uuid.UUID) -> int:
    total = db.execute(
        select(func.coalesce(func.sum(DocumentVersion.size), 0))
        .join(Document, Document.id == DocumentVersion.document_id)
        .where(Document.vault_id == vault_id)
    ).scalar_one()
    return int(total)


def check_quota(
    db: Session, vault_id: uuid.UUID, quota: int | None, written: list[tuple[str, str]]
) -> None:
    """After a new version is flushed: refuse if the vault is now over `quota`.

    The owner's row is locked first, so two uploads that each fit alone cannot
    both commit past the quota (the second waits, then counts the first).
    """
    if quota is None:
        return
    db.execute(select(User.id).where(User.id == vault_id).with_for_update(key_share=True))
    if quota_used(db, vault_id) > quota:
        raise QuotaExceeded(written)


def list_documents(
    db: Session,
    owner: Unlocked,
    *,
    query: str = "",
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Listed], int]:
    """One page of the vault's documents, newest first, and the total that match.

    Without a query only the page's titles are decrypted; a search decrypts
    every title of the vault (they exist in clear nowhere else).
    """
    columns = select(
        Document.id,
        Document.meta,
        Document.category,
        Document.doc_type,
        Document.expiry_date,
        Document.mime,
        Document.size,
        Document.updated_at,
        Document.deposited_by_id,
    ).where(Document.vault_id == owner.vault_id)
    if category:
        columns = columns.where(Document.category == category)
    # Both keys descending: ix_documents_vault_id_updated_at read backwards
    # gives this order without sorting the vault (and the title index orders
    # a search's results the same way).
    columns = columns.order_by(Document.updated_at.desc(), Document.id.desc())

    def listed(row: ListedRow) -> Listed:
        meta = open_meta(owner.key, owner.vault_id, row.id, row.meta)
        return Listed(
            id=row.id,
            title=meta.title,
            category=row.category,
            doc_type=row.doc_type,
            expiry_date=row.expiry_date,
            mime=row.mime,
            size=row.size,
            updated_at=row.updated_at,
            deposited=row.deposited_by_id is not None,
        )

    needle = fold(query.strip())
    if not needle:
        count = select(func.count()).select_from(columns.order_by(None).subquery())
        # The page and the total in one round trip (an uncorrelated subquery,
        # computed once); only a page past the end needs the count alone.
        rows = db.execute(
            columns.add_columns(count.scalar_subquery().label("total")).limit(limit).offset(offset)
        ).all()
        total = rows[0].total if rows else db.execute(count).scalar_one()
        return [listed(ListedRow(*r[:-1])) for r in rows], int(total)
    # A search opens the vault's title index (one blob) rather than every
    # document's metadata, filters and orders there, then loads only the
    # page's rows: no per-document work in SQL or Python beyond a string test.
    index = title_index(db, owner)
    matching = sorted(
        (
            (entry[3], key)
            for key, entry in index.items()
            if needle in entry[1] and (not category or entry[2] == category)
        ),
        reverse=True,
    )
    page = [uuid.UUID(key) for _, key in matching[offset : offset + limit]]
    by_id = {
        r.id: r for r in map(ListedRow._make, db.execute(columns.where(Document.id.in_(page))))
    }
    return [listed(by_id[i]) for i in page if i in by_id], len(matching)


def _store_version(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    document: Document,
    number: int,
    chunks: Iterable[bytes],
    mime: str,
    actor: User,
) -> tuple[DocumentVersion, PlaintextCounter, DataKey]:
    dek = DataKey(generate_data_key())
    # Written before the transaction commits; if anything after this fails,
    # the blob has no row and `storage gc` removes it.
    written = write_content(store, dek, content_aad(owner.vault_id, document.id, number), chunks)
    counter = written.counter
    version = DocumentVersion(
        id=uuid.uuid4(),
        document_id=document.id,
        version=number,
        mime=mime,
        size=counter.size,
        created_by_id=actor.id,
    )
    blob = blob_row(store, written.key, written.info)
    blob.key_id = f"dek:{version.id}"
    db.add(blob)
    db.flush()
    version.blob_id = blob.id
    version.blob = blob
    version.wrapped_dek = wrap_dek(ring, owner, document.id, version, dek)
    db.add(version)
    return version, counter, dek


def add_document(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    chunks: Iterable[bytes],
    *,
    mime: str,
    title: str,
    filename: str,
    category: str,
    doc_type: str,
    expiry_date: date | None,
    actor: User,
    quota: int | None = None,
) -> Document:
    """Encrypt `chunks` into the store and record a new document (flushed, not committed).

    Raises QuotaExceeded (naming the blob written) when the vault would exceed `quota`.
    """
    now = utcnow()
    document = Document(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        category=category,
        doc_type=doc_type,
        expiry_date=expiry_date,
        current_version=1,
        mime=mime,
        size=0,
        meta=b"",
        created_at=now,
        updated_at=now,
    )
    _version, counter, dek = _store_version(
        db, store, ring, owner, document, 1, chunks, mime, actor
    )
    document.size = counter.size
    meta = Meta(title, filename, counter.sha256.hexdigest(), counter.crc32)
    document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
    db.add(document)
    db.flush()
    check_quota(db, owner.vault_id, quota, [(store.name, _version.blob.key)])
    update_index(db, owner, document, title)
    _seal_for_standing_shares(db, owner, document, 1, dek, meta)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.added",
        actor=actor,
        document_id=document.id,
        details={"category": category, "type": doc_type},
    )
    return document


def replace_document(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    document: Document,
    chunks: Iterable[bytes],
    *,
    mime: str,
    filename: str,
    actor: User,
    quota: int | None = None,
) -> DocumentVersion:
    """Store a new version; the previous ones stay (flushed, not committed)."""
    number = document.current_version + 1
    version, counter, dek = _store_version(
        db, store, ring, owner, document, number, chunks, mime, actor
    )
    meta = document_meta(owner, document)
    meta = Meta(meta.title, filename, counter.sha256.hexdigest(), counter.crc32)
    document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
    document.current_version = number
    document.mime = mime
    document.size = counter.size
    document.updated_at = utcnow()
    db.flush()
    check_quota(db, owner.vault_id, quota, [(store.name, version.blob.key)])
    update_index(db, owner, document, meta.title)
    _seal_for_standing_shares(db, owner, document, number, dek, meta)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.replaced",
        actor=actor,
        document_id=document.id,
        details={"version": number},
    )
    return version


def update_document(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    document: Document,
    *,
    title: str,
    category: str,
    doc_type: str,
    expiry_date: date | None,
) -> None:
    meta = document_meta(owner, document)
    meta = Meta(title, meta.filename, meta.sha256, meta.crc32)
    document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
    if category != document.category:
        # Out of a shared category: the standing share no longer covers it.
        grants.drop_category_keys(db, document)
    document.category, document.doc_type, document.expiry_date = category, doc_type, expiry_date
    document.updated_at = utcnow()
    db.flush()
    update_index(db, owner, document, title)
    version = current_version(db, document)
    # Shares see the new title; a standing share of the new category covers it.
    _seal_for_standing_shares(
        db, owner, document, version.version, version_dek(ring, owner, version), meta
    )
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.renamed",
        actor=owner.user,
        document_id=document.id,
    )


def _seal_for_standing_shares(
    db: Session, owner: Unlocked, document: Document, version: int, dek: DataKey, meta: Meta
) -> None:
    grants.seal_for_standing_shares(
        db, owner.user, document, version, dek, meta.title, meta.filename
    )


def delete_document(db: Session, owner: Unlocked, document: Document) -> list[tuple[str, str]]:
    """Delete the rows (crypto-shredding); return the (store, key) blobs to delete after commit."""
    # Its shares, keys and links go first: nothing may point at a shredded document.
    grants.forget_document(db, document.id)
    update_index(db, owner, document, None)
    versions = list(
        db.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == document.id)
        ).scalars()
    )
    blob_ids = [v.blob_id for v in versions] + [
        v.preview_blob_id for v in versions if v.preview_blob_id
    ]
    blobs = list(db.execute(select(Blob).where(Blob.id.in_(blob_ids))).scalars())
    for version in versions:
        db.delete(version)
    db.flush()
    db.delete(document)
    for blob in blobs:
        db.delete(blob)
    db.flush()
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.deleted",
        actor=owner.user,
        document_id=document.id,
    )
    return [(b.store, b.key) for b in blobs]
