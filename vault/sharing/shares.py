"""Shares: the person gives one of their counsellors a document, or a whole category.

A share seals the document's key and title to the counsellor
(vault.access.grants); revoking deletes the keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import KeyRing
from vault.access import grants
from vault.access.assignments import active_assignment
from vault.access.rules import share_is_active
from vault.accounts.keys import Unlocked
from vault.core.errors import NotFound, PolicyError, owned_or_404
from vault.documents.keys import document_meta, version_dek
from vault.documents.service import current_version
from vault.journal import service as journal
from vault.models import Document, Share, User
from vault.models.base import utcnow

DEFAULT_SHARE_DAYS = 90
MAX_SHARE_DAYS = 366


def _seal_current(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    share: Share,
    counsellor: User,
    document: Document,
) -> None:
    """Seal the key and title of `document`'s current version to `counsellor`."""
    version = current_version(db, document)
    meta = document_meta(owner, document)
    grants.seal_key(
        db,
        share,
        counsellor,
        document,
        version.version,
        version_dek(ring, owner, version),
        meta.title,
        meta.filename,
    )


def active_shares(db: Session, person: User) -> list[Share]:
    return [
        s for s in grants.shares_of(db, person.id, active_only=True) if share_is_active(s, person)
    ]


def _expiry(days: int | None, until_release: bool) -> datetime | None:
    if until_release:
        return None
    days = DEFAULT_SHARE_DAYS if days is None else days
    if not 1 <= days <= MAX_SHARE_DAYS:
        raise PolicyError(["share_days"])
    return utcnow() + timedelta(days=days)


def _check_counsellor(db: Session, owner: Unlocked, counsellor_id: uuid.UUID) -> User:
    counsellor = db.get(User, counsellor_id)
    if counsellor is None or active_assignment(db, owner.vault_id, counsellor_id) is None:
        raise NotFound()
    return counsellor


def share_document(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    document: Document,
    counsellor_id: uuid.UUID,
    *,
    days: int | None = None,
    until_release: bool = False,
) -> Share:
    """Share one document with one of the owner's counsellors."""
    if document.vault_id != owner.vault_id:
        raise NotFound()
    counsellor = _check_counsellor(db, owner, counsellor_id)
    # Sharing again what is already shared with this counsellor replaces the
    # old share (new duration) rather than stacking a second one.
    for existing in grants.shares_of(db, owner.vault_id, counsellor.id, active_only=True):
        if existing.document_id == document.id:
            grants.revoke_share(db, existing)
    share = Share(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        counsellor_id=counsellor.id,
        document_id=document.id,
        expires_at=_expiry(days, until_release),
        until_release=until_release,
    )
    db.add(share)
    db.flush()
    _seal_current(db, ring, owner, share, counsellor, document)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="share.created",
        actor=owner.user,
        document_id=document.id,
        details={"counsellor": str(counsellor.id)},
    )
    return share


def share_category(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    category: str,
    counsellor_id: uuid.UUID,
    *,
    days: int | None = None,
    until_release: bool = False,
) -> Share:
    """A standing share: every document of `category`, now and added later."""
    counsellor = _check_counsellor(db, owner, counsellor_id)
    share = Share(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        counsellor_id=counsellor.id,
        category=category,
        expires_at=_expiry(days, until_release),
        until_release=until_release,
    )
    db.add(share)
    db.flush()
    documents = db.execute(
        select(Document).where(
            Document.vault_id == owner.vault_id,
            Document.category == category,
            Document.meta_sealed.is_(False),
        )
    ).scalars()
    for document in documents:
        _seal_current(db, ring, owner, share, counsellor, document)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="share.category_created",
        actor=owner.user,
        details={"counsellor": str(counsellor.id), "category": category},
    )
    return share


def revoke(db: Session, owner: Unlocked, share_id: uuid.UUID) -> Share:
    share = owned_or_404(db, Share, share_id, vault_id=owner.vault_id)
    if share.revoked_at is None:
        grants.revoke_share(db, share)
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="share.revoked",
            actor=owner.user,
            document_id=share.document_id,
            details={"counsellor": str(share.counsellor_id), "category": share.category},
        )
    return share
