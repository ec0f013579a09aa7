"""External links: one document for an employer, a lawyer, a landlord, an administration.

The URL carries a random 256-bit token. The row keeps SHA-256(token) and the
document's key, title and file name sealed in layers (docs/crypto.md §2):

    payload  = DEK | JSON {title, file name}
    PIN      : PassphraseSlot(payload, PIN)             Argon2id, only when a PIN is set
    token    : wrap_key(SHA-256("vault/link-key|" token), ...)   (envelope.link_key)
    ring     : KeyRing.wrap(...)                         outermost, so rotation needs no token
    AAD of every layer = "vault/link|" link id

So a database dump with the logs opens nothing (no ring, and tokens never
reach a log: vault/core/logs.py), the server alone opens nothing (no token), and
an address that leaked still needs its PIN. The PIN is checked by opening
its layer, under a row lock, with growing delays after FREE_PIN_FAILURES and
the link stopped after MAX_WRONG_PINS; each opening and failure is journaled.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crypto import (
    CryptoError,
    FormatError,
    KeyRing,
    PassphraseSlot,
    WrongKeyError,
    unwrap_key,
    wrap_key,
)
from vault.accounts import keys
from vault.accounts.keys import Unlocked
from vault.core.envelope import DataKey, link_id, link_key
from vault.core.envelope import link_aad as link_aad  # the ring rotation re-wraps by it
from vault.core.errors import NotFound, PolicyError, ServiceError, Throttled, owned_or_404
from vault.core.throttle import hashing_slot
from vault.documents.keys import document_meta, version_dek
from vault.documents.service import current_version, get_document
from vault.journal import service as journal
from vault.models import (
    DocumentVersion,
    Establishment,
    ExternalLink,
    Lifecycle,
    LinkPolicy,
    LinkStatus,
    LinkStopReason,
    User,
)
from vault.models.base import utcnow

MAX_DAYS = 30
RECIPIENTS = ("employer", "lawyer", "landlord", "administration", "other")
FREE_PIN_FAILURES = 3
# With delays alone a patient guesser still tries a few hundred PINs in a
# link's 30 days; after this many wrong ones in all, the link stops for good.
MAX_WRONG_PINS = 10


class LinkGone(ServiceError):
    """The link expired, reached its download cap, was revoked or is not approved (410)."""

    code = "gone"


class WrongPin(ServiceError):
    """The PIN does not match (recorded); `stopped` when that failure stopped the link."""

    code = "wrong_pin"

    def __init__(self, *, stopped: bool = False) -> None:
        super().__init__()
        self.stopped = stopped


def _seal(ring: KeyRing, link_id: uuid.UUID, token: str, payload: bytes, pin: str | None) -> bytes:
    aad = link_aad(link_id)
    inner = payload
    if pin is not None:
        # A PIN has far less entropy than a passphrase: it gets at least the same cost.
        with hashing_slot():
            inner = PassphraseSlot.create(payload, pin, aad, params=keys.SLOT_PARAMS).to_bytes()
    return ring.wrap(wrap_key(link_key(token), inner, aad), aad)


def _unseal_outer(ring: KeyRing, link: ExternalLink, token: str) -> bytes:
    """The ring and token layers peeled: the payload, or its PIN slot. NotFound otherwise."""
    if link.wrapped is None:
        raise LinkGone()
    aad = link_aad(link.id)
    try:
        return unwrap_key(link_key(token), ring.unwrap(link.wrapped, aad), aad)
    except CryptoError:
        raise NotFound() from None


def policy_for(db: Session, person: User) -> LinkPolicy:
    """The establishment's rule while detained; ON after release."""
    profile = person.profile
    if profile is not None and profile.lifecycle in (Lifecycle.RELEASED, Lifecycle.CLOSED):
        return LinkPolicy.ON
    if person.establishment_id is None:
        return LinkPolicy.ON
    establishment = db.get(Establishment, person.establishment_id)
    return establishment.external_links if establishment else LinkPolicy.ON


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
    if policy == LinkPolicy.OFF:
        raise PolicyError(["policy_off"])
    version = current_version(db, document)
    meta = document_meta(owner, document)
    token = secrets.token_urlsafe(32)
    link = ExternalLink(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        document_id=document.id,
        version=version.version,
        token_hash=link_id(token),
        recipient=recipient,
        has_pin=pin is not None,
        expires_at=utcnow() + timedelta(days=days),
        max_downloads=max_downloads,
        status=LinkStatus.PENDING if policy == LinkPolicy.APPROVAL else LinkStatus.ACTIVE,
    )
    payload = (
        version_dek(ring, owner, version)
        + json.dumps({"t": meta.title, "f": meta.filename}).encode()
    )
    link.wrapped = _seal(ring, link.id, token, payload, pin)
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
    link = owned_or_404(db, ExternalLink, link_id, vault_id=owner.vault_id)
    if link.revoked_at is None:
        _stop(link, utcnow(), reason=None)
        db.flush()
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="link.revoked",
            actor=owner.user,
            document_id=link.document_id,
            details={"recipient": link.recipient},
        )


def _stop(link: ExternalLink, now: datetime, *, reason: LinkStopReason | None) -> None:
    """Stop a link and delete its sealed key: nothing is left to open, even with the ring."""
    link.revoked_at = now
    link.revoked_reason = reason
    link.wrapped = None


# Why a link stopped, as its state: the person did it, or the rule below did.
_STOPPED = {
    None: "revoked",
    LinkStopReason.WRONG_PINS: "blocked",
    LinkStopReason.KEY_FORMAT: "retired",
}


def state(link: ExternalLink, now: datetime | None = None) -> str:
    """ "active", "pending", "refused", "expired", "used_up", or stopped: "revoked" (by the
    person), "blocked" (too many wrong PINs), "retired" (made before the current key format)."""
    now = now or utcnow()
    if link.revoked_at is not None:
        return _STOPPED.get(link.revoked_reason, "revoked")
    if link.status != LinkStatus.ACTIVE:
        return link.status
    if link.expires_at <= now:
        return "expired"
    if link.max_downloads is not None and link.downloads >= link.max_downloads:
        return "used_up"
    return "active"


def forget_finished(db: Session, now: datetime) -> int:
    """Delete the sealed key of every link that expired or reached its cap; return how many.

    Such a link opens nothing any more (`state`); without its key it could
    not, even for whoever holds the token and the ring. Like `_stop`, but the
    link is not marked stopped: it still reads "expired" or "used up".
    """
    finished = list(
        db.execute(
            select(ExternalLink).where(
                ExternalLink.wrapped.is_not(None),
                ExternalLink.revoked_at.is_(None),
                or_(
                    ExternalLink.expires_at <= now,
                    ExternalLink.downloads >= ExternalLink.max_downloads,
                ),
            )
        ).scalars()
    )
    for link in finished:
        link.wrapped = None
    db.flush()
    return len(finished)


def find(db: Session, token: str) -> ExternalLink:
    """The link named by `token`; NotFound if none (a guessed token)."""
    if not token or len(token) > 100:
        raise NotFound()
    link = db.execute(
        select(ExternalLink).where(ExternalLink.token_hash == link_id(token))
    ).scalar_one_or_none()
    if link is None:
        raise NotFound()
    return link


def title_of(ring: KeyRing, link: ExternalLink, token: str) -> str | None:
    """The document title the link carries, for its landing page; None behind a PIN.

    Counts no download. Raises NotFound if `token` does not open the link,
    LinkGone if the link was stopped.
    """
    inner = _unseal_outer(ring, link, token)
    if link.has_pin:
        return None
    return str(json.loads(inner[32:])["t"])


def pin_delay(failures: int) -> int:
    if failures < FREE_PIN_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_PIN_FAILURES + 1), 900))


@dataclass(frozen=True)
class OpenedLink:
    link: ExternalLink
    version: DocumentVersion
    dek: DataKey
    title: str


def _locked(db: Session, token: str) -> ExternalLink:
    """The link named by `token`, its row locked until the transaction ends.

    Every check of the PIN throttle reads and writes under this lock, so
    concurrent attempts queue: each one sees the failures before it. (A no-op
    on SQLite, where writers are serialised anyway.) FOR NO KEY UPDATE, as the
    journal's lock, so that inserts referring to the row are not blocked.
    """
    if not token or len(token) > 100:
        raise NotFound()
    link = db.execute(
        select(ExternalLink)
        .where(ExternalLink.token_hash == link_id(token))
        .with_for_update(key_share=True)
        # The request may hold the row already (read before the lock): refresh it.
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if link is None:
        raise NotFound()
    return link


def _wrong_pin(db: Session, link: ExternalLink, now: datetime) -> None:
    link.pin_failures += 1
    link.wrong_pins += 1
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
    if link.wrong_pins >= MAX_WRONG_PINS:
        _stop(link, now, reason=LinkStopReason.WRONG_PINS)
        db.flush()
        journal.append(
            db,
            vault_id=link.vault_id,
            action="link.revoked",
            actor=None,
            document_id=link.document_id,
            details={"recipient": link.recipient, "reason": "wrong_pins"},
        )


def open_link(
    db: Session, ring: KeyRing, token: str, pin: str | None, *, now: datetime | None = None
) -> OpenedLink:
    """Check the link (state, PIN with delays) and return its key; count one download.

    Raises NotFound, LinkGone, Throttled or WrongPin (the failure is recorded:
    the caller commits it).
    """
    now = now or utcnow()
    link = _locked(db, token)
    if state(link, now) != "active":
        raise LinkGone()
    payload = _unseal_outer(ring, link, token)
    if link.has_pin:
        if link.pin_failed_at is not None:
            wait = link.pin_failed_at + timedelta(seconds=pin_delay(link.pin_failures)) - now
            if wait > timedelta(0):
                raise Throttled(int(wait.total_seconds()) + 1)
        try:
            slot = PassphraseSlot.from_bytes(payload)
        except FormatError:
            raise NotFound() from None
        try:
            with hashing_slot():
                payload = slot.open(pin or "", link_aad(link.id))
        except (WrongKeyError, FormatError):  # FormatError: an empty or overlong PIN
            _wrong_pin(db, link, now)
            raise WrongPin(stopped=link.revoked_at is not None) from None
        link.pin_failures = 0
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
    return OpenedLink(link, version, DataKey(payload[:32]), json.loads(payload[32:])["t"])
