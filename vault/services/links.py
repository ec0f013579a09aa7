"""External links: one document for an employer, a lawyer, a landlord, an administration.

The URL carries a random 256-bit token. The row keeps SHA-256(token) and the
document's key wrapped under a key derived from the token, so neither a
database dump nor the server alone opens a link. A PIN, when set, is checked
with Argon2id and throttled with growing delays; each opening is journaled.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyRing, unwrap_key, wrap_key
from vault.models import DocumentVersion, Establishment, ExternalLink, Lifecycle, User
from vault.models.base import utcnow
from vault.services import journal, sharing
from vault.services.documents import Unlocked, current_version, document_meta, version_dek
from vault.services.errors import NotFound, PolicyError, ServiceError, Throttled

MAX_DAYS = 30
RECIPIENTS = ("employer", "lawyer", "landlord", "administration", "other")
FREE_PIN_FAILURES = 3
# PINs are short; Argon2id with modest costs plus the delays below is what
# protects them (a link also expires within 30 days).
_PIN_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class LinkGone(ServiceError):
    """The link expired, reached its download cap, was revoked or is not approved (410)."""

    code = "gone"


class WrongPin(ServiceError):
    """The PIN does not match."""

    code = "wrong_pin"


def _token_key(token: str) -> bytes:
    return hashlib.sha256(b"vault/link-key|" + token.encode()).digest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(b"vault/link-id|" + token.encode()).hexdigest()


def _aad(link_id: uuid.UUID) -> bytes:
    return b"vault/link|" + link_id.bytes


def policy_for(db: Session, person: User) -> str:
    """ "on", "approval" or "off": the establishment's rule while detained; "on" after release."""
    profile = person.profile
    if profile is not None and profile.lifecycle in (Lifecycle.RELEASED, Lifecycle.CLOSED):
        return "on"
    if person.establishment_id is None:
        return "on"
    establishment = db.get(Establishment, person.establishment_id)
    return establishment.external_links if establishment else "on"


def create_link(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    document_id: uuid.UUID,
    *,
    recipient: str,
    days: int,
    pin: str | None = None,
    max_downloads: int | None = None,
) -> tuple[ExternalLink, str]:
    """Make a link; return it and its token (shown once, in the URL)."""
    from vault.services.documents import get_document

    document = get_document(db, owner.vault_id, document_id)
    problems = []
    if recipient not in RECIPIENTS:
        problems.append("recipient")
    if not 1 <= days <= MAX_DAYS:
        problems.append("days")
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        problems.append("pin")
    if max_downloads is not None and not 1 <= max_downloads <= 100:
        problems.append("max_downloads")
    if problems:
        raise PolicyError(problems)
    policy = policy_for(db, owner.user)
    if policy == "off":
        raise PolicyError(["policy_off"])
    version = current_version(db, document)
    meta = document_meta(owner, document)
    token = secrets.token_urlsafe(32)
    link = ExternalLink(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        document_id=document.id,
        version=version.version,
        token_hash=_token_hash(token),
        recipient=recipient,
        pin_hash=_PIN_HASHER.hash(pin) if pin else None,
        expires_at=utcnow() + timedelta(days=days),
        max_downloads=max_downloads,
        status="pending" if policy == "approval" else "active",
    )
    payload = (
        version_dek(ring, owner, version)
        + json.dumps({"t": meta.title, "f": meta.filename}).encode()
    )
    link.wrapped = wrap_key(_token_key(token), payload, _aad(link.id))
    db.add(link)
    db.flush()
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="link.created",
        actor=owner.user,
        document_id=document.id,
        details={"recipient": recipient, "status": link.status, "days": days},
    )
    return link, token


def links_of(db: Session, vault_id: uuid.UUID) -> list[ExternalLink]:
    return list(
        db.execute(
            select(ExternalLink)
            .where(ExternalLink.vault_id == vault_id)
            .order_by(ExternalLink.created_at.desc())
        ).scalars()
    )


def revoke_link(db: Session, owner: Unlocked, link_id: uuid.UUID) -> None:
    link = db.get(ExternalLink, link_id)
    if link is None or link.vault_id != owner.vault_id:
        raise NotFound()
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.flush()
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="link.revoked",
            actor=owner.user,
            document_id=link.document_id,
            details={"recipient": link.recipient},
        )


def pending_for_counsellor(db: Session, counsellor: User) -> list[ExternalLink]:
    people = [p.id for p in sharing.people_of(db, counsellor.id)]
    if not people:
        return []
    return list(
        db.execute(
            select(ExternalLink).where(
                ExternalLink.vault_id.in_(people),
                ExternalLink.status == "pending",
                ExternalLink.revoked_at.is_(None),
            )
        ).scalars()
    )


def decide(db: Session, counsellor: User, link_id: uuid.UUID, *, approve: bool) -> ExternalLink:
    """A counsellor of the person approves or refuses a pending link."""
    link = db.get(ExternalLink, link_id)
    if (
        link is None
        or link.status != "pending"
        or sharing.active_assignment(db, link.vault_id, counsellor.id) is None
    ):
        raise NotFound()
    link.status = "active" if approve else "refused"
    link.approved_by_id = counsellor.id
    db.flush()
    journal.append(
        db,
        vault_id=link.vault_id,
        action="link.approved" if approve else "link.refused",
        actor=counsellor,
        document_id=link.document_id,
    )
    return link


def state(link: ExternalLink, now: datetime | None = None) -> str:
    """ "active", "pending", "refused", "revoked", "expired" or "used_up"."""
    now = now or utcnow()
    if link.revoked_at is not None:
        return "revoked"
    if link.status != "active":
        return link.status
    if link.expires_at <= now:
        return "expired"
    if link.max_downloads is not None and link.downloads >= link.max_downloads:
        return "used_up"
    return "active"


def find(db: Session, token: str) -> ExternalLink:
    """The link named by `token`; NotFound if none (a guessed token)."""
    if not token or len(token) > 100:
        raise NotFound()
    link = db.execute(
        select(ExternalLink).where(ExternalLink.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if link is None:
        raise NotFound()
    return link


def title_of(link: ExternalLink, token: str) -> str:
    """The document title the link carries, for its landing page; counts no download.

    Raises NotFound if `token` does not open the link.
    """
    try:
        payload = unwrap_key(_token_key(token), link.wrapped, _aad(link.id))
    except CryptoError:
        raise NotFound() from None
    return str(json.loads(payload[32:])["t"])


def pin_delay(failures: int) -> int:
    if failures < FREE_PIN_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_PIN_FAILURES + 1), 900))


@dataclass(frozen=True)
class OpenedLink:
    link: ExternalLink
    version: DocumentVersion
    dek: bytes
    title: str


def open_link(
    db: Session, token: str, pin: str | None, *, now: datetime | None = None
) -> OpenedLink:
    """Check the link (state, PIN with delays) and return its key; count one download.

    Raises NotFound, LinkGone, Throttled or WrongPin (the failure is recorded).
    """
    now = now or utcnow()
    link = find(db, token)
    if state(link, now) != "active":
        raise LinkGone()
    if link.pin_hash is not None:
        if link.pin_failed_at is not None:
            wait = link.pin_failed_at + timedelta(seconds=pin_delay(link.pin_failures)) - now
            if wait > timedelta(0):
                raise Throttled(int(wait.total_seconds()) + 1)
        try:
            _PIN_HASHER.verify(link.pin_hash, pin or "")
        except (VerificationError, InvalidHashError):
            link.pin_failures += 1
            link.pin_failed_at = now
            db.flush()
            journal.append(
                db,
                vault_id=link.vault_id,
                action="link.wrong_pin",
                actor=None,
                document_id=link.document_id,
                outcome="refused",
            )
            raise WrongPin() from None
        link.pin_failures = 0
    try:
        payload = unwrap_key(_token_key(token), link.wrapped, _aad(link.id))
    except CryptoError:
        raise NotFound() from None
    version = db.execute(
        select(DocumentVersion).where(
            DocumentVersion.document_id == link.document_id,
            DocumentVersion.version == link.version,
        )
    ).scalar_one_or_none()
    if version is None:
        raise LinkGone()
    link.downloads += 1
    db.flush()
    journal.append(
        db,
        vault_id=link.vault_id,
        action="link.opened",
        actor=None,
        document_id=link.document_id,
        details={"recipient": link.recipient},
    )
    return OpenedLink(link, version, payload[:32], json.loads(payload[32:])["t"])
