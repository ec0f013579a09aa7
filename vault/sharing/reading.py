"""What a counsellor reads: the documents a person shares with them, and their keys.

Each key is opened with the counsellor's own key pair (derived from their
user key, which only their session holds) and checked against the share it
was sealed for (vault.access.grants.share_context).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, distinct, func, select
from sqlalchemy.orm import Session

from crypto import CryptoError, derive_keypair, open_sealed
from vault.access.assignments import check_counsellor_sees
from vault.access.grants import parse_payload, share_context
from vault.access.rules import share_in_force, share_is_active
from vault.core.envelope import DataKey
from vault.core.errors import NotFound, owned_or_404
from vault.models import Document, DocumentVersion, Share, ShareKey, User


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


def shared_count(counsellor_id: uuid.UUID, now: datetime) -> ScalarSelect[int]:
    """How many documents the enclosing query's `users` row shares with `counsellor_id` now.

    A column for a query over users: the counsellor's home reads it with its
    page of people, one statement for the page (D-207), and no sealed key is
    opened (no title is shown). A document in a single share and in a
    category share counts once. The person's own access (`counsellor_access_open`)
    is the caller's to ask: the home shows no one whose access is closed.
    """
    return (
        select(func.count(distinct(ShareKey.document_id)))
        .select_from(Share)
        .join(ShareKey, ShareKey.share_id == Share.id)
        .where(
            Share.vault_id == User.id,
            Share.counsellor_id == counsellor_id,
            share_in_force(now),
        )
        .scalar_subquery()
    )


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
