"""A document's keys and sealed metadata: who opens what, and bound to which row.

Each version has its own data key (DEK), wrapped twice: under the owner's
vault key (bound to vault, document and version number), then under the
server key ring (bound to the version's row). The title and file name are
sealed under the vault key. The labels are vault.core.envelope's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from crypto import KeyRing, unwrap_key, wrap_key
from vault.accounts.keys import Unlocked as Unlocked
from vault.core.envelope import DataKey, VaultKey, dek_aad, meta_aad, version_dek_aad
from vault.core.errors import NotFound
from vault.models import Document, DocumentVersion


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


def meta_json(meta: Meta) -> bytes:
    data: dict[str, object] = {"t": meta.title, "f": meta.filename, "h": meta.sha256}
    if meta.crc32 is not None:
        data["c"] = meta.crc32
    return json.dumps(data).encode()


def meta_from_json(raw: bytes) -> Meta:
    data = json.loads(raw)
    return Meta(title=data["t"], filename=data["f"], sha256=data["h"], crc32=data.get("c"))


def seal_meta(key: VaultKey, vault_id: uuid.UUID, document_id: uuid.UUID, meta: Meta) -> bytes:
    return wrap_key(key, meta_json(meta), meta_aad(vault_id, document_id))


def open_meta(key: VaultKey, vault_id: uuid.UUID, document_id: uuid.UUID, sealed: bytes) -> Meta:
    return meta_from_json(unwrap_key(key, sealed, meta_aad(vault_id, document_id)))


def document_meta(owner: Unlocked, document: Document) -> Meta:
    return open_meta(owner.key, owner.vault_id, document.id, document.meta)


def wrap_dek(
    ring: KeyRing, owner: Unlocked, document_id: uuid.UUID, version: DocumentVersion, dek: DataKey
) -> bytes:
    """`dek` as a version row stores it: under the vault key, then under the ring."""
    inner = wrap_key(owner.key, dek, dek_aad(owner.vault_id, document_id, version.version))
    return ring.wrap(inner, version_dek_aad(version.id))


def version_dek(ring: KeyRing, owner: Unlocked, version: DocumentVersion) -> DataKey:
    if version.wrapped_dek is None:
        # A deposit the owner has not taken in yet (documents.deposits.take_in_deposits).
        raise NotFound()
    inner = ring.unwrap(version.wrapped_dek, version_dek_aad(version.id))
    return DataKey(
        unwrap_key(owner.key, inner, dek_aad(owner.vault_id, version.document_id, version.version))
    )
