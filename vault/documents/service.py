"""The person's document library: add, list, search, read, rename, replace, delete.

Content is encrypted while it streams (VSF1, one DEK per version) straight into
the blob store: no plaintext reaches a disk. The title and file name are
encrypted under the vault key; search decrypts them for the signed-in owner
only. Deletion is crypto-shredding: the rows holding the wrapped DEKs go in the
transaction, the blobs after the commit (or by `storage gc`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from isal import isal_zlib
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import storage
from crypto import (
    CryptoError,
    KeyRing,
    blob_aad,
    decrypt_bytes,
    decrypt_iter,
    encrypt_bytes,
    encrypt_iter,
    generate_data_key,
    unwrap_key,
    wrap_key,
)
from vault.core.errors import NotFound, QuotaExceeded
from vault.journal import service as journal
from vault.models import Blob, Document, DocumentVersion, User, VaultIndex
from vault.models.base import utcnow

BLOB_PREFIX = "documents"


@dataclass(frozen=True)
class Unlocked:
    """A person's vault opened for this request: the owner and their vault key."""

    user: User
    key: bytes

    @property
    def vault_id(self) -> uuid.UUID:
        return self.user.id


@dataclass(frozen=True)
class Meta:
    """What is encrypted about a document."""

    title: str
    filename: str
    sha256: str
    # CRC-32 of the plaintext, which a ZIP entry header needs before its data:
    # with it the export stores documents without running them through deflate.
    # None for documents stored before it was recorded.
    crc32: int | None = None


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


# --- keys and associated data -----------------------------------------------------------


def _meta_aad(vault_id: uuid.UUID, document_id: uuid.UUID) -> bytes:
    return b"vault/meta|" + vault_id.bytes + document_id.bytes


def _dek_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    return b"vault/dek|" + vault_id.bytes + document_id.bytes + version.to_bytes(4, "big")


def _ring_aad(version_id: uuid.UUID) -> bytes:
    return b"vault/version-dek|" + version_id.bytes


def _preview_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    return blob_aad(vault_id, document_id, version) + b"|preview"


def meta_json(meta: Meta) -> bytes:
    data: dict[str, object] = {"t": meta.title, "f": meta.filename, "h": meta.sha256}
    if meta.crc32 is not None:
        data["c"] = meta.crc32
    return json.dumps(data).encode()


def meta_from_json(raw: bytes) -> Meta:
    data = json.loads(raw)
    return Meta(title=data["t"], filename=data["f"], sha256=data["h"], crc32=data.get("c"))


def seal_meta(key: bytes, vault_id: uuid.UUID, document_id: uuid.UUID, meta: Meta) -> bytes:
    return wrap_key(key, meta_json(meta), _meta_aad(vault_id, document_id))


def open_meta(key: bytes, vault_id: uuid.UUID, document_id: uuid.UUID, sealed: bytes) -> Meta:
    return meta_from_json(unwrap_key(key, sealed, _meta_aad(vault_id, document_id)))


def _wrap_dek(
    ring: KeyRing, owner: Unlocked, document_id: uuid.UUID, version: DocumentVersion, dek: bytes
) -> bytes:
    inner = wrap_key(owner.key, dek, _dek_aad(owner.vault_id, document_id, version.version))
    return ring.wrap(inner, _ring_aad(version.id))


def version_dek(ring: KeyRing, owner: Unlocked, version: DocumentVersion) -> bytes:
    if version.wrapped_dek is None:
        # A deposit the owner has not taken in yet (sharing.take_in_deposits).
        raise NotFound()
    inner = ring.unwrap(version.wrapped_dek, _ring_aad(version.id))
    return unwrap_key(
        owner.key, inner, _dek_aad(owner.vault_id, version.document_id, version.version)
    )


# --- reading ----------------------------------------------------------------------------


def get_document(db: Session, vault_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """The document if it is in `vault_id`'s vault; NotFound otherwise (no hint either way)."""
    document = db.get(Document, document_id)
    if document is None or document.vault_id != vault_id:
        raise NotFound()
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


# Combining marks (accents) to drop, as a str.translate table built once.
_COMBINING = dict.fromkeys(c for c in range(0x110000) if unicodedata.combining(chr(c)))


def fold(text: str) -> str:
    """Case- and accent-insensitive form for search ("Carte Vitale" ~ "carte vitale")."""
    return unicodedata.normalize("NFKD", text.casefold()).translate(_COMBINING)


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

    def listed(row: object) -> Listed:
        r = row  # a Row of the columns above
        meta = open_meta(owner.key, owner.vault_id, r.id, r.meta)  # type: ignore[attr-defined]
        return Listed(
            id=r.id,  # type: ignore[attr-defined]
            title=meta.title,
            category=r.category,  # type: ignore[attr-defined]
            doc_type=r.doc_type,  # type: ignore[attr-defined]
            expiry_date=r.expiry_date,  # type: ignore[attr-defined]
            mime=r.mime,  # type: ignore[attr-defined]
            size=r.size,  # type: ignore[attr-defined]
            updated_at=r.updated_at,  # type: ignore[attr-defined]
            deposited=r.deposited_by_id is not None,  # type: ignore[attr-defined]
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
        return [listed(r) for r in rows], int(total)
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
    by_id = {r.id: r for r in db.execute(columns.where(Document.id.in_(page))).all()}
    return [listed(by_id[i]) for i in page if i in by_id], len(matching)


# --- the title index --------------------------------------------------------------------


def _index_aad(vault_id: uuid.UUID) -> bytes:
    return b"vault/title-index|" + vault_id.bytes


def _read_index(db: Session, owner: Unlocked) -> dict[str, list[str]] | None:
    row = db.get(VaultIndex, owner.vault_id, populate_existing=True)
    if row is None:
        return None
    try:
        entries: dict[str, list[str]] = json.loads(
            unwrap_key(owner.key, row.sealed, _index_aad(owner.vault_id))
        )
    except (CryptoError, ValueError):
        return None
    return entries


def _write_index(db: Session, owner: Unlocked, entries: dict[str, list[str]]) -> None:
    sealed = wrap_key(owner.key, json.dumps(entries).encode(), _index_aad(owner.vault_id))
    row = db.get(VaultIndex, owner.vault_id)
    if row is None:
        db.add(VaultIndex(vault_id=owner.vault_id, sealed=sealed, updated_at=utcnow()))
    else:
        row.sealed, row.updated_at = sealed, utcnow()
    db.flush()


def _entry(title: str, document: Document) -> list[str]:
    # [title, folded title, category, last change]: enough to search, filter
    # and order without touching the documents' rows.
    return [title, fold(title), document.category, document.updated_at.isoformat()]


def rebuild_index(db: Session, owner: Unlocked) -> dict[str, list[str]]:
    """Rebuild the index from every document the owner's key opens."""
    entries: dict[str, list[str]] = {}
    documents = db.execute(
        select(Document).where(Document.vault_id == owner.vault_id, Document.meta_sealed.is_(False))
    ).scalars()
    for document in documents:
        title = open_meta(owner.key, owner.vault_id, document.id, document.meta).title
        entries[str(document.id)] = _entry(title, document)
    _write_index(db, owner, entries)
    return entries


def title_index(db: Session, owner: Unlocked) -> dict[str, list[str]]:
    """{document id: [title, folded title, category, updated]}, rebuilt when stale.

    Every change of a document updates it in the same transaction; a count
    that disagrees (a bulk deletion, a crash between versions of the code)
    or an entry of the old shape makes it rebuild from the documents.
    """
    entries = _read_index(db, owner)
    count = db.execute(
        select(func.count(Document.id)).where(
            Document.vault_id == owner.vault_id, Document.meta_sealed.is_(False)
        )
    ).scalar_one()
    if entries is None or len(entries) != count or any(len(e) != 4 for e in entries.values()):
        entries = rebuild_index(db, owner)
    return entries


def _update_index(db: Session, owner: Unlocked, document: Document, title: str | None) -> None:
    """Set (or, with title None, drop) one entry, serialised with other writers."""
    # Lock the owner's row first: two uploads must not both read the old index
    # and each write it back with only their own title.
    db.execute(select(User.id).where(User.id == owner.vault_id).with_for_update(key_share=True))
    entries = _read_index(db, owner)
    if entries is None:
        rebuild_index(db, owner)
        return
    if title is None:
        entries.pop(str(document.id), None)
    else:
        entries[str(document.id)] = _entry(title, document)
    _write_index(db, owner, entries)


def document_meta(owner: Unlocked, document: Document) -> Meta:
    return open_meta(owner.key, owner.vault_id, document.id, document.meta)


def read_content(
    store: storage.BlobStore, ring: KeyRing, owner: Unlocked, version: DocumentVersion
) -> Iterator[bytes]:
    """The version's plaintext, one verified segment at a time.

    Opens the blob before returning, so a missing store answers now rather
    than in the middle of a response.
    """
    dek = version_dek(ring, owner, version)
    aad = blob_aad(owner.vault_id, version.document_id, version.version)
    reader = store.open(version.blob.key)

    def chunks() -> Iterator[bytes]:
        with reader:
            yield from decrypt_iter(dek, aad, reader)

    return chunks()


# --- writing ----------------------------------------------------------------------------


class _Counter:
    """Counts and hashes plaintext as it flows into the encryption."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.crc32 = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            self.sha256.update(chunk)
            # ISA-L's CRC-32 (the zlib one, for the exit pack's ZIP entries)
            # runs at tens of GB/s against zlib's 2: a twentieth of a large
            # upload's CPU otherwise.
            self.crc32 = isal_zlib.crc32(chunk, self.crc32)
            yield chunk


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
) -> tuple[DocumentVersion, _Counter, bytes]:
    dek = generate_data_key()
    counter = _Counter(chunks)
    aad = blob_aad(owner.vault_id, document.id, number)
    key = storage.new_key(BLOB_PREFIX)
    # Written before the transaction commits; if anything after this fails,
    # the blob has no row and `storage gc` removes it.
    info = store.put(key, encrypt_iter(dek, aad, counter))
    version = DocumentVersion(
        id=uuid.uuid4(),
        document_id=document.id,
        version=number,
        mime=mime,
        size=counter.size,
        created_by_id=actor.id,
    )
    blob = Blob(store=store.name, key=key, size=info.size, etag=info.etag[:64])
    blob.key_id = f"dek:{version.id}"
    db.add(blob)
    db.flush()
    version.blob_id = blob.id
    version.blob = blob
    version.wrapped_dek = _wrap_dek(ring, owner, document.id, version, dek)
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
    _update_index(db, owner, document, title)
    _standing_shares(db, owner, document, 1, dek, meta)
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
    _update_index(db, owner, document, meta.title)
    _standing_shares(db, owner, document, number, dek, meta)
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
    from vault.sharing import service as sharing  # sharing builds on this module

    meta = document_meta(owner, document)
    meta = Meta(title, meta.filename, meta.sha256, meta.crc32)
    document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
    if category != document.category:
        # Out of a shared category: the standing share no longer covers it.
        sharing.drop_category_keys(db, document)
    document.category, document.doc_type, document.expiry_date = category, doc_type, expiry_date
    document.updated_at = utcnow()
    db.flush()
    _update_index(db, owner, document, title)
    version = current_version(db, document)
    # Shares see the new title; a standing share of the new category covers it.
    _standing_shares(db, owner, document, version.version, version_dek(ring, owner, version), meta)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.renamed",
        actor=owner.user,
        document_id=document.id,
    )


def _standing_shares(
    db: Session, owner: Unlocked, document: Document, version: int, dek: bytes, meta: Meta
) -> None:
    from vault.sharing import service as sharing  # sharing builds on this module

    sharing.seal_for_standing_shares(db, owner.user, document, version, dek, meta)


def delete_document(db: Session, owner: Unlocked, document: Document) -> list[tuple[str, str]]:
    """Delete the rows (crypto-shredding); return the (store, key) blobs to delete after commit."""
    from vault.sharing import service as sharing  # sharing builds on this module

    sharing.forget_document(db, document.id)
    _update_index(db, owner, document, None)
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


def delete_blobs(store: storage.BlobStore, blobs: list[tuple[str, str]]) -> None:
    """Best effort after the commit: what fails here is an orphan for `storage gc`."""
    for name, key in blobs:
        if name == store.name:
            with contextlib.suppress(storage.StorageError):
                store.delete(key)


# --- previews ---------------------------------------------------------------------------


def stored_preview(
    store: storage.BlobStore, ring: KeyRing, owner: Unlocked, version: DocumentVersion
) -> bytes | None:
    if version.preview_blob is None:
        return None
    dek = version_dek(ring, owner, version)
    with store.open(version.preview_blob.key) as reader:
        blob = reader.read()
    return decrypt_bytes(
        dek, _preview_aad(owner.vault_id, version.document_id, version.version), blob
    )


def save_preview(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    version: DocumentVersion,
    image: bytes,
) -> None:
    """Keep a rendered preview, encrypted like any blob, for next time."""
    dek = version_dek(ring, owner, version)
    sealed = encrypt_bytes(
        dek, _preview_aad(owner.vault_id, version.document_id, version.version), image
    )
    key = storage.new_key("previews")
    info = store.put(key, sealed)
    blob = Blob(store=store.name, key=key, size=info.size, etag=info.etag[:64])
    blob.key_id = f"dek:{version.id}"
    db.add(blob)
    db.flush()
    version.preview_blob_id = blob.id
    db.flush()


def remember_preview_failed(db: Session, version: DocumentVersion) -> None:
    """No preview can be made of this version: never start a worker for it again."""
    version.preview_failed_at = utcnow()
    db.flush()
