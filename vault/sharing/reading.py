"""What a counsellor reads: the documents a person shares with them, and their keys.

Each key is opened with the counsellor's own key pair (derived from their
user key, which only their session holds) and checked against the share it
was sealed for (vault.access.grants.share_context).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, derive_keypair, open_sealed
from vault.access.assignments import check_counsellor_sees
from vault.access.grants import parse_payload, share_context
from vault.access.rules import share_is_active
from vault.core.envelope import DataKey
from vault.core.errors import NotFound, owned_or_404
from vault.models import Document, DocumentVersion, Share, ShareKey, User
from vault.models.base import utcnow


@dataclass(frozen=True)
class SharedDocument:
    document: Document
    share: Share
    title: str


def shared_with(
    db: Session, counsellor: User, counsellor_key: bytes, person: User
) -> list[SharedDocument]:
    """Documents `person` shares with `counsellor` now, with their titles."""
    check_counsellor_sees(db, counsellor, person)
    keypair = derive_keypair(counsellor_key)
    rows = db.execute(
        select(ShareKey, Share, Document)
        .join(Share, Share.id == ShareKey.share_id)
        .join(Document, Document.id == ShareKey.document_id)
        .where(Share.vault_id == person.id, Share.counsellor_id == counsellor.id)
        .order_by(Document.updated_at.desc())
    ).all()
    seen: set[uuid.UUID] = set()
    result = []
    for key, share, document in rows:
        if document.id in seen or not share_is_active(share, person):
            continue
        try:
            payload = open_sealed(keypair, key.sealed, share_context(share, document.id))
        except CryptoError:
            continue
        seen.add(document.id)
        result.append(SharedDocument(document, share, parse_payload(payload).title))
    return result


def shared_counts(db: Session, counsellor: User, people: Sequence[User]) -> dict[uuid.UUID, int]:
    """How many documents each of `people` shares with `counsellor` now.

    For the counsellor's home, which shows a number per person: one query for
    the whole caseload, and no sealed key opened (no title is shown), where
    `shared_with` per person made a caseload of eighty cost eighty rounds of
    queries and key openings.
    """
    by_id = {person.id: person for person in people}
    documents: dict[uuid.UUID, set[uuid.UUID]] = {person_id: set() for person_id in by_id}
    if not by_id:
        return {}
    now = utcnow()
    rows = db.execute(
        select(Share, ShareKey.document_id)
        .join(ShareKey, ShareKey.share_id == Share.id)
        .where(
            Share.vault_id.in_(list(by_id)),
            Share.counsellor_id == counsellor.id,
            Share.revoked_at.is_(None),
        )
    ).all()
    for share, document_id in rows:
        if share_is_active(share, by_id[share.vault_id], now):
            # A document in a single share and a category share counts once.
            documents[share.vault_id].add(document_id)
    return {person_id: len(ids) for person_id, ids in documents.items()}


@dataclass(frozen=True)
class OpenedShare:
    document: Document
    version: DocumentVersion
    dek: DataKey
    title: str
    filename: str


def open_shared(
    db: Session, counsellor: User, counsellor_key: bytes, person: User, document_id: uuid.UUID
) -> OpenedShare:
    """The key of a document `person` shares with `counsellor`; NotFound otherwise."""
    check_counsellor_sees(db, counsellor, person)
    document = owned_or_404(db, Document, document_id, vault_id=person.id)
    keypair = derive_keypair(counsellor_key)
    rows = db.execute(
        select(ShareKey, Share)
        .join(Share, Share.id == ShareKey.share_id)
        .where(
            ShareKey.document_id == document.id,
            Share.vault_id == person.id,
            Share.counsellor_id == counsellor.id,
        )
    ).all()
    for key, share in rows:
        if not share_is_active(share, person):
            continue
        try:
            payload = open_sealed(keypair, key.sealed, share_context(share, document.id))
        except CryptoError:
            continue
        opened = parse_payload(payload)
        version = db.execute(
            select(DocumentVersion).where(
                DocumentVersion.document_id == document.id,
                DocumentVersion.version == opened.version,
            )
        ).scalar_one_or_none()
        if version is None:
            continue
        return OpenedShare(document, version, opened.dek, opened.title, opened.filename)
    raise NotFound()
