"""Share-key grants: the data keys a person's shares seal to a counsellor.

The person stays in control: a counsellor reads a document only while (1) they
are assigned to the person, (2) an active share covers the document, and
(3) a key sealed to them for that share and document exists. Revoking deletes
the keys; the HPKE context of each key names the share, the document, the
counsellor and the expiry, so a key presented for anything else does not open.

Two security rules of the document library are here, called by
vault.documents.service where the change happens: a document leaving a
category loses the keys its category shares gave (`drop_category_keys`), and a
deleted document takes its keys, shares, links and request answers with it
(`forget_document`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from crypto import load_public_key, seal
from vault.access.assignments import active_assignment
from vault.access.rules import share_is_active
from vault.core import envelope
from vault.core.envelope import DataKey
from vault.journal import service as journal
from vault.models import (
    Assignment,
    Document,
    DocumentRequest,
    ExternalLink,
    RequestStatus,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow

# A sealed payload: the 32-byte data key, then JSON {"v": version, "t": title, "f": file name}.
DEK_BYTES = 32


@dataclass(frozen=True)
class GrantPayload:
    """What a share key opens to."""

    dek: DataKey
    version: int
    title: str
    filename: str


def share_context(share: Share, document_id: uuid.UUID) -> bytes:
    """The HPKE context of `share`'s key for `document_id`."""
    until = envelope.share_until(share.expires_at)
    return envelope.share_context(share.id, document_id, share.counsellor_id, until)


def grant_payload(dek: DataKey, version: int, title: str, filename: str) -> bytes:
    return dek + json.dumps({"v": version, "t": title, "f": filename}).encode()


def parse_payload(payload: bytes) -> GrantPayload:
    info = json.loads(payload[DEK_BYTES:])
    return GrantPayload(DataKey(payload[:DEK_BYTES]), info["v"], info["t"], info["f"])


def seal_key(
    db: Session,
    share: Share,
    counsellor: User,
    document: Document,
    version: int,
    dek: DataKey,
    title: str,
    filename: str,
) -> None:
    """Seal `document`'s key and title (at `version`) to `counsellor` for `share`."""
    sealed = seal(
        load_public_key(counsellor.public_key),
        grant_payload(dek, version, title, filename),
        share_context(share, document.id),
    )
    key = db.execute(
        select(ShareKey).where(ShareKey.share_id == share.id, ShareKey.document_id == document.id)
    ).scalar_one_or_none()
    if key is None:
        db.add(ShareKey(share_id=share.id, document_id=document.id, version=version, sealed=sealed))
    else:
        key.version, key.sealed = version, sealed
    db.flush()


def shares_of(
    db: Session, vault_id: uuid.UUID, counsellor_id: uuid.UUID | None = None, *, active_only: bool
) -> list[Share]:
    """A vault's shares, newest first; `active_only` leaves out revoked and expired ones."""
    statement = select(Share).where(Share.vault_id == vault_id)
    if counsellor_id is not None:
        statement = statement.where(Share.counsellor_id == counsellor_id)
    if active_only:
        statement = statement.where(
            Share.revoked_at.is_(None),
            or_(Share.expires_at.is_(None), Share.expires_at > utcnow()),
        )
    return list(db.execute(statement.order_by(Share.created_at.desc())).scalars())


def seal_for_standing_shares(
    db: Session,
    vault_owner: User,
    document: Document,
    version: int,
    dek: DataKey,
    title: str,
    filename: str,
) -> int:
    """Share a new document (or version) with every active share covering it.

    Called by whoever holds the DEK at that moment: the owner uploading or
    replacing, or a depositor.
    """
    shares = db.execute(
        select(Share).where(
            Share.vault_id == vault_owner.id,
            Share.revoked_at.is_(None),
            or_(Share.category == document.category, Share.document_id == document.id),
        )
    ).scalars()
    count = 0
    for share in shares:
        if not share_is_active(share, vault_owner):
            continue
        counsellor = db.get(User, share.counsellor_id)
        if counsellor is None or active_assignment(db, vault_owner.id, counsellor.id) is None:
            continue
        seal_key(db, share, counsellor, document, version, dek, title, filename)
        count += 1
    return count


def revoke_share(db: Session, share: Share) -> None:
    """End `share` now and delete its keys (no journal line: the caller writes its own)."""
    share.revoked_at = utcnow()
    db.execute(delete(ShareKey).where(ShareKey.share_id == share.id))
    db.flush()


def drop_expired_share_keys(db: Session, now: datetime) -> int:
    """Delete the keys of shares whose end date passed; return how many shares had some.

    `share_is_active` already refuses an expired share; its sealed keys
    (a data key and the title, for the counsellor) are no use any more, and
    kept they would open the document for whoever later holds the
    counsellor's key. The share row stays, expired, for the person's list.
    """
    expired = select(Share.id).where(Share.expires_at.is_not(None), Share.expires_at <= now)
    share_ids = set(
        db.execute(select(ShareKey.share_id).where(ShareKey.share_id.in_(expired))).scalars()
    )
    if share_ids:
        db.execute(delete(ShareKey).where(ShareKey.share_id.in_(share_ids)))
        db.flush()
    return len(share_ids)


def forget_document(db: Session, document_id: uuid.UUID) -> None:
    """Before a document is deleted: its share keys, its shares, links and request answers go."""
    db.execute(delete(ShareKey).where(ShareKey.document_id == document_id))
    db.execute(delete(ExternalLink).where(ExternalLink.document_id == document_id))
    for request in db.execute(
        select(DocumentRequest).where(DocumentRequest.document_id == document_id)
    ).scalars():
        request.document_id = None
    for share in db.execute(select(Share).where(Share.document_id == document_id)).scalars():
        share.revoked_at = share.revoked_at or utcnow()
        share.document_id = None
    db.flush()


def drop_category_keys(db: Session, document: Document) -> None:
    """Keys given to a document through category shares (before it changes category)."""
    share_ids = select(Share.id).where(
        Share.vault_id == document.vault_id, Share.category.is_not(None)
    )
    db.execute(
        delete(ShareKey).where(
            ShareKey.document_id == document.id, ShareKey.share_id.in_(share_ids)
        )
    )
    db.flush()


def end_until_release_shares(db: Session, person_id: uuid.UUID) -> int:
    """Revoke the person's "until release" shares and delete their keys."""
    shares = list(
        db.execute(
            select(Share).where(
                Share.vault_id == person_id,
                Share.until_release.is_(True),
                Share.revoked_at.is_(None),
            )
        ).scalars()
    )
    now = utcnow()
    for share in shares:
        share.revoked_at = now
        db.execute(delete(ShareKey).where(ShareKey.share_id == share.id))
    return len(shares)


def end_assignment(db: Session, assignment: Assignment, *, by: User | None) -> None:
    """End an assignment; the counsellor's shares and their keys go with it.

    `by` is None when the operator's command disabled the counsellor.
    """
    if assignment.ended_at is not None:
        return
    assignment.ended_at = utcnow()
    assignment.ended_by_id = by.id if by else None
    for share in shares_of(db, assignment.person_id, assignment.counsellor_id, active_only=True):
        revoke_share(db, share)
    # Their open requests go too: nobody is there any more to receive the answer.
    for request in db.execute(
        select(DocumentRequest).where(
            DocumentRequest.vault_id == assignment.person_id,
            DocumentRequest.counsellor_id == assignment.counsellor_id,
            DocumentRequest.status == RequestStatus.OPEN,
        )
    ).scalars():
        request.status = RequestStatus.CANCELLED
    db.flush()
    journal.append(
        db,
        vault_id=assignment.person_id,
        action="assignment.ended",
        actor=by,
        details={"counsellor": str(assignment.counsellor_id)},
    )
