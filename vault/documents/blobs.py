"""A document's blobs in the store: content written while it streams, read back verified.

Content is encrypted while it streams (VSF1, one DEK per version) straight into
the blob store: no plaintext reaches a disk. A blob is written before the
transaction that records it commits; if anything after fails, the blob has no
row and `storage gc` removes it (or the caller, with `delete_blobs`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from isal import isal_zlib
from sqlalchemy import select
from sqlalchemy.orm import Session

import storage
from crypto import KeyRing, decrypt_bytes, decrypt_iter, encrypt_bytes, encrypt_iter
from vault.accounts.keys import Unlocked
from vault.core.envelope import DataKey, content_aad, preview_aad
from vault.documents.keys import version_dek
from vault.models import Blob, DocumentVersion
from vault.models.base import utcnow

BLOB_PREFIX = "documents"
PREVIEW_PREFIX = "previews"


class PlaintextCounter:
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


@dataclass(frozen=True)
class Written:
    """A content blob just written: its key, what the store said, what flowed through."""

    key: str
    info: storage.BlobInfo
    counter: PlaintextCounter


def write_content(
    store: storage.BlobStore, dek: DataKey, aad: bytes, chunks: Iterable[bytes]
) -> Written:
    """Encrypt `chunks` under `dek` into a new blob, counting the plaintext on the way."""
    counter = PlaintextCounter(chunks)
    key = storage.new_key(BLOB_PREFIX)
    info = store.put(key, encrypt_iter(dek, aad, counter))
    return Written(key, info, counter)


def blob_row(store: storage.BlobStore, key: str, info: storage.BlobInfo) -> Blob:
    return Blob(store=store.name, key=key, size=info.size, etag=info.etag[:64])


def read_content(
    store: storage.BlobStore, ring: KeyRing, owner: Unlocked, version: DocumentVersion
) -> Iterator[bytes]:
    """The version's plaintext, one verified segment at a time.

    Opens the blob before returning, so a missing store answers now rather
    than in the middle of a response.
    """
    dek = version_dek(ring, owner, version)
    aad = content_aad(owner.vault_id, version.document_id, version.version)
    reader = store.open(version.blob.key)

    def chunks() -> Iterator[bytes]:
        with reader:
            yield from decrypt_iter(dek, aad, reader)

    return chunks()


def delete_blobs(store: storage.BlobStore, blobs: list[tuple[str, str]]) -> None:
    """Best effort after the commit: what fails here is an orphan for `storage gc`."""
    for name, key in blobs:
        if name == store.name:
            with contextlib.suppress(storage.StorageError):
                store.delete(key)


# Orphans are looked up in the database this many keys at a time.
ORPHAN_BATCH = 500


def orphans(db: Session, store: storage.BlobStore, cutoff: datetime) -> Iterator[storage.BlobInfo]:
    """Blobs older than `cutoff` that no `blobs` row references, in batches.

    Younger ones may belong to a request still in flight (written before its
    row commits). Probes of `storage check` and the health probe are the
    app's own too, and leave no row.
    """
    candidates = (info for info in store.list() if info.modified < cutoff)
    while batch := list(islice(candidates, ORPHAN_BATCH)):
        keys = [info.key for info in batch]
        known = set(
            db.execute(
                select(Blob.key).where(Blob.store == store.name, Blob.key.in_(keys))
            ).scalars()
        )
        yield from (info for info in batch if info.key not in known)


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
        dek, preview_aad(owner.vault_id, version.document_id, version.version), blob
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
        dek, preview_aad(owner.vault_id, version.document_id, version.version), image
    )
    key = storage.new_key(PREVIEW_PREFIX)
    info = store.put(key, sealed)
    blob = blob_row(store, key, info)
    blob.key_id = f"dek:{version.id}"
    db.add(blob)
    db.flush()
    version.preview_blob_id = blob.id
    db.flush()


def remember_preview_failed(db: Session, version: DocumentVersion) -> None:
    """No preview can be made of this version: never start a worker for it again."""
    version.preview_failed_at = utcnow()
    db.flush()
