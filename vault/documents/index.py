"""The vault's title index: every title sealed in one blob, for search.

Titles exist in clear nowhere: a search opens this index (one unwrap) rather
than every document's metadata. Every change of a document updates it in the
same transaction, under a lock of the owner's row.
"""

from __future__ import annotations

import json
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import CryptoError, unwrap_key, wrap_key
from vault.accounts.keys import Unlocked
from vault.core.envelope import title_index_aad
from vault.documents.keys import open_meta
from vault.models import Document, User, VaultIndex
from vault.models.base import utcnow

# Combining marks (accents) to drop, as a str.translate table built once.
_COMBINING = dict.fromkeys(c for c in range(0x110000) if unicodedata.combining(chr(c)))


def fold(text: str) -> str:
    """Case- and accent-insensitive form for search ("Carte Vitale" ~ "carte vitale")."""
    return unicodedata.normalize("NFKD", text.casefold()).translate(_COMBINING)


def _read_index(db: Session, owner: Unlocked) -> dict[str, list[str]] | None:
    row = db.get(VaultIndex, owner.vault_id, populate_existing=True)
    if row is None:
        return None
    try:
        entries: dict[str, list[str]] = json.loads(
            unwrap_key(owner.key, row.sealed, title_index_aad(owner.vault_id))
        )
    except (CryptoError, ValueError):
        return None
    return entries


def _write_index(db: Session, owner: Unlocked, entries: dict[str, list[str]]) -> None:
    sealed = wrap_key(owner.key, json.dumps(entries).encode(), title_index_aad(owner.vault_id))
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


def update_index(db: Session, owner: Unlocked, document: Document, title: str | None) -> None:
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
