"""Recovery path (b), the escrow: two recovery officers, then the offline secret.

For someone who lost their recovery sheet too: a recovery officer records an
identity check and opens a request, a second, different officer confirms it,
and an operator holding the offline escrow secret (whole, or rebuilt from two
of three SLIP-39 shares: recovery/shamir.py) runs `vault escrow recover`,
which re-enrols the account with a new activation code. Officers handle
requests and identity data only: no document, no encrypted metadata.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyRing, PublicKey, derive_keypair, open_sealed
from vault.accounts import keys, sessions
from vault.accounts.opening import (
    NewAccount,
    new_activation_code,
    normalize_activation_code,
    open_account,
)
from vault.accounts.recovery_requests import APPROVED, CANCELLED, COMPLETED, ESCROW, KIT, PENDING
from vault.core.envelope import UserKey, escrow_context, slot_aad
from vault.core.errors import NotFound, PolicyError, ServiceError, owned_or_404
from vault.journal import service as journal
from vault.models import AccountStatus, RecoveryRequest, Role, SlotKind, User
from vault.models.base import utcnow
from vault.recovery.identity import ID_DOCUMENTS, IdentityCheck, identity_of, open_last4, seal_last4

# Time for the operator to bring the offline escrow secret after the second
# officer confirmed; then the officers start again with a fresh identity check.
ESCROW_REQUEST_VALID = timedelta(days=30)


class WrongEscrowSecret(ServiceError):
    """The escrow secret (or what the shares rebuilt) does not open this escrow slot."""

    code = "wrong_secret"


class EscrowRefused(ServiceError):
    """The escrow request cannot be carried out; `code` says why.

    Codes: "not_found", "one_officer" (not confirmed by two distinct officers),
    "one_creator" (both officers' accounts were opened by one administrator:
    `creator` is that administrator), "expired", "closed" (completed or
    cancelled), "account" (disabled or closed account), "no_slot", "damaged"
    (the slot fails the server key ring), "mismatch" (the slot holds another
    key than the account's).
    """

    code = "refused"

    def __init__(self, code: str | None = None, *, creator: User | None = None) -> None:
        super().__init__(code)
        self.creator = creator


def open_officer(
    db: Session,
    ring: KeyRing,
    escrow: PublicKey,
    *,
    first_name: str,
    last_name: str,
    activation_days: int,
) -> NewAccount:
    """A recovery officer's account, opened by the operator (flushed, not committed).

    The only way to open one: an administrator could otherwise open two
    officer accounts and be both officers of an escrow recovery.
    """
    return open_account(
        db,
        ring,
        escrow,
        role=Role.RECOVERY_OFFICER,
        first_name=first_name,
        last_name=last_name,
        created_by=None,
        activation_days=activation_days,
    )


def _escrow_open(request: RecoveryRequest, now: datetime) -> bool:
    return (
        request.kind == ESCROW
        and request.status in (PENDING, APPROVED)
        and now - request.created_at <= ESCROW_REQUEST_VALID
    )


def open_escrow_requests(db: Session, *, now: datetime | None = None) -> list[RecoveryRequest]:
    now = now or utcnow()
    requests = db.execute(
        select(RecoveryRequest)
        .where(RecoveryRequest.kind == ESCROW, RecoveryRequest.status.in_((PENDING, APPROVED)))
        .order_by(RecoveryRequest.created_at)
    ).scalars()
    return [r for r in requests if _escrow_open(r, now)]


def get_escrow_request(db: Session, request_id: uuid.UUID) -> RecoveryRequest:
    request = owned_or_404(db, RecoveryRequest, request_id, kind=ESCROW)
    return request


def open_escrow_request(
    db: Session,
    escrow: PublicKey,
    officer: User,
    person: User,
    check: IdentityCheck,
    *,
    now: datetime | None = None,
) -> RecoveryRequest:
    """The first officer opens an escrow request after checking the person's identity.

    Raises:
        PolicyError(["already_open"]): the person has an open escrow request.
        PolicyError(["document"]): not a known kind of identity document.
    """
    now = now or utcnow()
    if officer.role != Role.RECOVERY_OFFICER or person.role != Role.PERSON:
        raise NotFound()
    if check.document not in ID_DOCUMENTS:
        raise PolicyError(["document"])
    # Serialise on the person's row: two officers opening at once make one request.
    db.execute(select(User.id).where(User.id == person.id).with_for_update(key_share=True))
    existing = db.execute(
        select(RecoveryRequest).where(
            RecoveryRequest.user_id == person.id,
            RecoveryRequest.kind == ESCROW,
            RecoveryRequest.status.in_((PENDING, APPROVED)),
        )
    ).scalars()
    for request in existing:
        if _escrow_open(request, now):
            raise PolicyError(["already_open"])
        request.status = CANCELLED  # out of its window: a new identity check replaces it
    request = RecoveryRequest(
        id=uuid.uuid4(),
        user_id=person.id,
        kind=ESCROW,
        status=PENDING,
        approved_by_id=officer.id,
        identity_check=check.to_text(officer),
    )
    request.identity_sealed = seal_last4(escrow, request, check.last4)
    request.created_at = now
    db.add(request)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="recovery.escrow_opened",
        actor=officer,
        details={"request": str(request.id), "document": check.document},
        now=now,
    )
    return request


def confirm_escrow_request(
    db: Session, officer: User, request_id: uuid.UUID, *, now: datetime | None = None
) -> RecoveryRequest:
    """A second, different officer confirms; the request waits for the escrow secret.

    Raises:
        NotFound: no such open request.
        PolicyError(["same_officer"]): the officer who opened it cannot confirm it.
    """
    now = now or utcnow()
    request = db.execute(
        select(RecoveryRequest).where(RecoveryRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None or not _escrow_open(request, now) or request.status != PENDING:
        raise NotFound()
    if officer.role != Role.RECOVERY_OFFICER:
        raise NotFound()
    if request.approved_by_id == officer.id:
        raise PolicyError(["same_officer"])
    request.second_officer_id = officer.id
    request.status = APPROVED
    request.approved_at = now
    journal.append(
        db,
        vault_id=request.user_id,
        action="recovery.escrow_confirmed",
        actor=officer,
        details={"request": str(request.id)},
        now=now,
    )
    return request


def cancel_escrow_request(
    db: Session, officer: User, request_id: uuid.UUID, *, now: datetime | None = None
) -> RecoveryRequest:
    """Any officer may cancel an open escrow request (a mistake, a doubt on identity)."""
    now = now or utcnow()
    request = db.execute(
        select(RecoveryRequest).where(RecoveryRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None or request.kind != ESCROW or request.status not in (PENDING, APPROVED):
        raise NotFound()
    if officer.role != Role.RECOVERY_OFFICER:
        raise NotFound()
    request.status = CANCELLED
    journal.append(
        db,
        vault_id=request.user_id,
        action="recovery.escrow_cancelled",
        actor=officer,
        details={"request": str(request.id)},
        now=now,
    )
    return request


@dataclass(frozen=True)
class Reenrolment:
    user: User
    activation_code: str  # formatted for the sheet
    # The request's two officers and who opened each account, for the operator.
    officers: list[OfficerAccount]
    # What officer 1 recorded: {"document", "seen_on", "last4"} (last4 opened
    # with the escrow secret; absent for requests recorded before it was sealed).
    identity: dict[str, str]


def _two_officers(db: Session, request: RecoveryRequest) -> bool:
    first, second = request.approved_by_id, request.second_officer_id
    if first is None or second is None or first == second:
        return False
    officers = [db.get(User, first), db.get(User, second)]
    return all(o is not None and o.role == Role.RECOVERY_OFFICER for o in officers)


@dataclass(frozen=True)
class OfficerAccount:
    """An officer of an escrow request and who opened their account."""

    officer: User
    # None: opened by the operator's command (`vault recovery create-officer`),
    # the only way to open one now; an administrator opened older ones.
    creator: User | None


def officers_of(db: Session, request: RecoveryRequest) -> list[OfficerAccount]:
    """The request's officers (first, then second), each with who opened their account."""
    found = []
    for officer_id in (request.approved_by_id, request.second_officer_id):
        officer = db.get(User, officer_id) if officer_id else None
        if officer is not None:
            creator = db.get(User, officer.created_by_id) if officer.created_by_id else None
            found.append(OfficerAccount(officer, creator))
    return found


def _one_creator(db: Session, request: RecoveryRequest) -> User | None:
    """The administrator who opened both officers' accounts, if one did.

    Two officers are two people only if nobody could open both accounts for
    themselves: officers opened by the operator are (the operator already
    holds the escrow secret, so gains nothing), one administrator opening
    both is not.
    """
    creators = [o.creator for o in officers_of(db, request)]
    ids = {c.id if c is not None else None for c in creators}
    if len(creators) == 2 and len(ids) == 1 and creators[0] is not None:
        return creators[0]
    return None


def check_escrow_request(
    db: Session, request_id: uuid.UUID, *, now: datetime | None = None
) -> RecoveryRequest:
    """The escrow request if it may be carried out now (locked); EscrowRefused otherwise."""
    now = now or utcnow()
    request = db.execute(
        select(RecoveryRequest).where(RecoveryRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None or request.kind != ESCROW:
        raise EscrowRefused("not_found")
    if request.status not in (PENDING, APPROVED):
        raise EscrowRefused("closed")
    if request.status != APPROVED or not _two_officers(db, request):
        raise EscrowRefused("one_officer")
    creator = _one_creator(db, request)
    if creator is not None:
        raise EscrowRefused("one_creator", creator=creator)
    if not _escrow_open(request, now):
        raise EscrowRefused("expired")
    return request


def escrow_recover(
    db: Session,
    ring: KeyRing,
    escrow_secret: bytes,
    request_id: uuid.UUID,
    *,
    activation_days: int,
    now: datetime | None = None,
) -> Reenrolment:
    """Open the person's escrow slot and re-enrol the account with a new activation code.

    Every check comes before the first write, so a refusal changes nothing.
    The user key is unchanged: after activation every document opens again.

    Raises:
        EscrowRefused: see its codes.
        WrongEscrowSecret: the secret does not open the escrow slot.
    """
    now = now or utcnow()
    request = check_escrow_request(db, request_id, now=now)
    user = db.get(User, request.user_id)
    if user is None or user.status not in (AccountStatus.ACTIVE, AccountStatus.PENDING):
        raise EscrowRefused("account")
    slot = keys.get_slot(db, user.id, SlotKind.ESCROW)
    if slot is None:
        raise EscrowRefused("no_slot")
    try:
        sealed = ring.unwrap(slot.data, slot_aad(user.id, SlotKind.ESCROW))
    except CryptoError:
        raise EscrowRefused("damaged") from None
    try:
        keypair = derive_keypair(escrow_secret)
        user_key = UserKey(open_sealed(keypair, sealed, escrow_context(user.id)))
    except (CryptoError, ValueError):
        raise WrongEscrowSecret() from None
    if not keys.matches_public_key(user, user_key):
        raise EscrowRefused("mismatch")

    # Re-enrolment: the account is back to "pending" with a new activation
    # code, exactly as on the day it was opened, and nothing of the old
    # secrets works any more.
    keys.remove_slot(db, user.id, SlotKind.PASSWORD)
    keys.remove_slot(db, user.id, SlotKind.RECOVERY)
    code = new_activation_code()
    keys.put_passphrase_slot(
        db,
        ring,
        user.id,
        SlotKind.ACTIVATION,
        user_key,
        normalize_activation_code(code),
    )
    user.status = AccountStatus.PENDING
    user.activation_expires_at = now + timedelta(days=activation_days)
    ended = sessions.end_all(db, user.id)
    # A kit request left open would be moot (no recovery slot), but close it
    # so no counsellor is asked to approve anything.
    for kit in db.execute(
        select(RecoveryRequest).where(
            RecoveryRequest.user_id == user.id,
            RecoveryRequest.kind == KIT,
            RecoveryRequest.status.in_((PENDING, APPROVED)),
        )
    ).scalars():
        kit.status = CANCELLED
    request.status = COMPLETED
    request.completed_at = now
    journal.append(
        db,
        vault_id=user.id,
        action="recovery.escrow_completed",
        actor=None,
        details={
            "request": str(request.id),
            "officers": [str(request.approved_by_id), str(request.second_officer_id)],
            "sessions_ended": ended,
        },
        now=now,
    )
    identity = identity_of(request)
    last4 = open_last4(keypair, request)
    if last4 is not None:
        identity["last4"] = last4
    return Reenrolment(user, code, officers_of(db, request), identity)
