"""Closing a vault: everything but the journal goes (crypto-shredding).

The person closes their own vault (`close_vault`), or retention deletes it
without them (`shred_vault`): the same result, documents, keys, shares,
links, key slots and sessions gone, the account disabled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vault.access import assignments
from vault.accounts import sessions
from vault.accounts.keys import Unlocked
from vault.documents import service as documents
from vault.journal import service as journal
from vault.lifecycle.service import check_person, track_retention
from vault.models import (
    AccountStatus,
    Assignment,
    Blob,
    CvDraft,
    Document,
    DocumentRequest,
    DocumentVersion,
    ExternalLink,
    KeySlot,
    Lifecycle,
    NoticeStatus,
    RecoveryRequest,
    RecoveryStatus,
    RetentionNotice,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow


class VersionBlobs(NamedTuple):
    """A version's blob ids, as `shred_vault` selects them."""

    blob_id: uuid.UUID
    preview_blob_id: uuid.UUID | None


@dataclass(frozen=True)
class Closed:
    documents: int
    # (store, key) of blobs to delete after the commit (documents.delete_blobs).
    blobs: list[tuple[str, str]]


def close_vault(db: Session, owner: Unlocked) -> Closed:
    """The person closes their vault: everything but the journal goes (crypto-shredding).

    Each document goes through `documents.delete_document`, so its shares,
    links and keys go as when the person deletes one; then the key slots
    (no way back in), sessions, shares and links. The account is disabled.
    """
    person = owner.user
    check_person(person)
    blobs: list[tuple[str, str]] = []
    owned = list(db.execute(select(Document).where(Document.vault_id == person.id)).scalars())
    for document in owned:
        blobs += documents.delete_document(db, owner, document)
    _forget_account(db, person, actor=person)
    journal.append(
        db,
        vault_id=person.id,
        action="vault.closed",
        actor=person,
        details={"documents": len(owned)},
    )
    return Closed(len(owned), blobs)


def shred_vault(db: Session, person: User, *, reason: str) -> Closed:
    """Delete a vault without its owner (retention): the same result as `close_vault`.

    Rows go in bulk rather than through `documents.delete_document`, which
    journals each deletion as the owner's own act; here the system acts, and
    one journal line says so.
    """
    check_person(person)
    document_ids = select(Document.id).where(Document.vault_id == person.id)
    versions = [
        VersionBlobs(*row)
        for row in db.execute(
            select(DocumentVersion.blob_id, DocumentVersion.preview_blob_id).where(
                DocumentVersion.document_id.in_(document_ids)
            )
        )
    ]
    blob_ids = [v.blob_id for v in versions] + [
        v.preview_blob_id for v in versions if v.preview_blob_id is not None
    ]
    blobs = [
        (b.store, b.key) for b in db.execute(select(Blob).where(Blob.id.in_(blob_ids))).scalars()
    ]
    count = len(db.execute(document_ids).all())
    bulk = {"synchronize_session": False}
    db.execute(
        delete(ShareKey).where(ShareKey.document_id.in_(document_ids)), execution_options=bulk
    )
    db.execute(
        delete(ExternalLink).where(ExternalLink.vault_id == person.id), execution_options=bulk
    )
    db.execute(
        update(DocumentRequest)
        .where(DocumentRequest.vault_id == person.id)
        .values(document_id=None),
        execution_options=bulk,
    )
    db.execute(
        update(Share).where(Share.vault_id == person.id).values(document_id=None),
        execution_options=bulk,
    )
    db.execute(
        delete(DocumentVersion).where(DocumentVersion.document_id.in_(document_ids)),
        execution_options=bulk,
    )
    db.execute(delete(Document).where(Document.vault_id == person.id), execution_options=bulk)
    if blob_ids:
        db.execute(delete(Blob).where(Blob.id.in_(blob_ids)), execution_options=bulk)
    _forget_account(db, person, actor=None)
    journal.append(
        db,
        vault_id=person.id,
        action="vault.deleted",
        actor=None,
        details={"documents": count, "reason": reason},
    )
    return Closed(count, blobs)


def _forget_account(db: Session, person: User, *, actor: User | None) -> None:
    """What closing does besides documents: keys, shares, links, sessions, the account."""
    now = utcnow()
    share_ids = select(Share.id).where(Share.vault_id == person.id)
    bulk = {"synchronize_session": False}
    db.execute(delete(ShareKey).where(ShareKey.share_id.in_(share_ids)), execution_options=bulk)
    db.execute(delete(Share).where(Share.vault_id == person.id), execution_options=bulk)
    db.execute(
        delete(ExternalLink).where(ExternalLink.vault_id == person.id), execution_options=bulk
    )
    # The CV drafts are sealed under the vault key; their rows go with it.
    db.execute(delete(CvDraft).where(CvDraft.vault_id == person.id), execution_options=bulk)
    # Without its slots nobody can open the vault key again: this is the shredding.
    db.execute(delete(KeySlot).where(KeySlot.user_id == person.id), execution_options=bulk)
    sessions.end_all(db, person.id)
    db.execute(
        update(Assignment)
        .where(Assignment.person_id == person.id, Assignment.ended_at.is_(None))
        .values(ended_at=now, ended_by_id=actor.id if actor else None),
        execution_options=bulk,
    )
    db.execute(
        update(RecoveryRequest)
        .where(
            RecoveryRequest.user_id == person.id,
            RecoveryRequest.status.in_((RecoveryStatus.PENDING, RecoveryStatus.APPROVED)),
        )
        .values(status=RecoveryStatus.CANCELLED),
        execution_options=bulk,
    )
    db.execute(
        update(RetentionNotice)
        .where(RetentionNotice.user_id == person.id, RetentionNotice.status == NoticeStatus.PENDING)
        .values(status=NoticeStatus.DONE),
        execution_options=bulk,
    )
    profile = person.profile
    assert profile is not None
    profile.lifecycle = Lifecycle.CLOSED
    profile.closed_at = now
    assignments.set_access_until(db, person, None)
    track_retention(person)
    person.status = AccountStatus.DISABLED
    db.flush()
