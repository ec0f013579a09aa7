"""Getting back into a vault without the passphrase (DESIGN.md §2.2 and §3, issue 6 item 4).

Two paths, both ending with the same user key, so every document still opens:

(a) **Recovery kit + counsellor approval.** The person types their username and
    the recovery code of their printed sheet. A right code opens a pending
    request; an assigned counsellor approves it in the app; the person comes
    back with the same code (the user key is never kept between the steps)
    and chooses a new passphrase. The code is then spent: a new kit replaces
    it. A stolen sheet alone is not enough, and a counsellor alone cannot do
    anything either: their approval carries no key.

(b) **Escrow.** For someone who lost the sheet too: a recovery officer records
    an identity check and opens a request, a second, different officer
    confirms it, and an operator holding the offline escrow secret (whole, or
    rebuilt from two of three SLIP-39 shares) runs `vault escrow recover`,
    which re-enrols the account with a new activation code. Officers handle
    requests and identity data only: no document, no encrypted metadata.

Every step goes into the person's journal.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import shamir_mnemonic
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crypto import (
    CryptoError,
    FormatError,
    KeyPair,
    KeyRing,
    PublicKey,
    derive_keypair,
    normalize_recovery_code,
    open_sealed,
    seal,
)
from vault.accounts import keys, sessions
from vault.accounts import service as accounts
from vault.accounts.signin import burn_time
from vault.core.envelope import escrow_context, slot_aad
from vault.core.errors import NotFound, PolicyError, ServiceError, SignInRefused
from vault.core.throttle import check_throttle, lock_throttle, throttle_key, throttle_secret
from vault.journal import service as journal
from vault.models import (
    AccountStatus,
    PersonProfile,
    RecoveryRequest,
    Role,
    SlotKind,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

KIT = "kit"
ESCROW = "escrow"
PENDING, APPROVED, COMPLETED, REFUSED, CANCELLED = (
    "pending",
    "approved",
    "completed",
    "refused",
    "cancelled",
)

# After the counsellor's approval the person has this long to come back with
# the code: long enough to reach a kiosk again, short enough that an approval
# forgotten in a drawer is not a standing open door.
APPROVAL_VALID = timedelta(hours=48)
# A request nobody decided is dropped after this long; a right code makes a new one.
KIT_REQUEST_VALID = timedelta(days=14)
# Time for the operator to bring the offline escrow secret after the second
# officer confirmed; then the officers start again with a fresh identity check.
ESCROW_REQUEST_VALID = timedelta(days=30)

# Throttle scope of recovery codes, apart from sign-in: a co-detainee typing
# wrong codes slows recovery only, never the owner's everyday sign-in.
THROTTLE_SCOPE = "recovery"

# Identity documents an officer may record (kind only, never a copy).
ID_DOCUMENTS = ("id_card", "passport", "residence_permit", "driving_licence", "other")
SEARCH_LIMIT = 20


class Mistyped(ServiceError):
    """The code is not a recovery code (wrong length or check digits): no attempt counted."""

    code = "mistyped"


class WrongEscrowSecret(ServiceError):
    """The escrow secret (or what the shares rebuilt) does not open this escrow slot."""

    code = "wrong_secret"


class WrongShares(ServiceError):
    """The share files do not rebuild a secret (too few, damaged or from another split)."""

    code = "wrong_shares"


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


# --- (a) recovery kit + counsellor approval ---------------------------------------------


@dataclass(frozen=True)
class KitCheck:
    """A right code: the request it opened or found, and the key once approved."""

    user: User
    request: RecoveryRequest
    # Only when the request is approved: the caller keeps it for the passphrase
    # step under a per-session key, never in clear.
    user_key: bytes | None
    created: bool


def _kit_window(request: RecoveryRequest, now: datetime) -> bool:
    """True while a pending or approved kit request still counts."""
    if request.status == PENDING:
        return now - request.created_at <= KIT_REQUEST_VALID
    if request.status == APPROVED:
        return request.approved_at is not None and now - request.approved_at <= APPROVAL_VALID
    return False


def live_kit_request(
    db: Session, user_id: uuid.UUID, now: datetime, *, lock: bool = False
) -> RecoveryRequest | None:
    """The person's pending or approved kit request still in its window, if any."""
    query = (
        select(RecoveryRequest)
        .where(
            RecoveryRequest.user_id == user_id,
            RecoveryRequest.kind == KIT,
            RecoveryRequest.status.in_((PENDING, APPROVED)),
        )
        .order_by(RecoveryRequest.created_at.desc())
    )
    if lock:
        query = query.with_for_update()
    for request in db.execute(query).scalars():
        if _kit_window(request, now):
            return request
    return None


def _expire_stale(db: Session, user_id: uuid.UUID, now: datetime) -> None:
    stale = db.execute(
        select(RecoveryRequest).where(
            RecoveryRequest.user_id == user_id,
            RecoveryRequest.kind == KIT,
            RecoveryRequest.status.in_((PENDING, APPROVED)),
        )
    ).scalars()
    for request in stale:
        if not _kit_window(request, now):
            request.status = CANCELLED


def check_kit(
    db: Session,
    ring: KeyRing,
    username: str,
    code: str,
    *,
    trusted: bool = False,
    now: datetime | None = None,
) -> KitCheck:
    """Check a recovery code; open (or find) the person's kit request.

    Raises:
        Mistyped: not a well-formed code (nothing counted, nothing journaled).
        Throttled: too many wrong codes for this username lately.
        SignInRefused: unknown username or wrong, spent or foreign code, alike.
    """
    now = now or utcnow()
    try:
        normalized = normalize_recovery_code(code)
    except FormatError:
        # The check digits catch a slip of the finger before Argon2id: a person
        # copying a sheet is told so, and no attempt is spent.
        raise Mistyped() from None
    bucket = "trusted" if trusted else "untrusted"
    key = throttle_key(throttle_secret(db), THROTTLE_SCOPE, username, bucket)
    row = lock_throttle(db, key, now)
    check_throttle(row, now)
    user = accounts.find_user(db, username)
    usable = user is not None and user.role == Role.PERSON and user.status == AccountStatus.ACTIVE
    slot = keys.get_slot(db, user.id, SlotKind.RECOVERY) if user is not None and usable else None
    user_key: bytes | None = None
    if user is None or slot is None:
        # Same Argon2id cost as a real check: the answer's timing does not
        # tell whether the account exists.
        burn_time(normalized, SlotKind.RECOVERY)
    else:
        try:
            user_key = keys.open_passphrase_slot(ring, slot, normalized)
        except CryptoError:
            user_key = None
        if user_key is not None and not accounts.matches_public_key(user, user_key):
            user_key = None
    if user is None or user_key is None:
        row.failures += 1
        row.last_failure_at = now
        db.flush()
        if user is not None:
            journal.append(
                db, vault_id=user.id, action="recovery.kit", actor=None, outcome="refused", now=now
            )
        raise SignInRefused()
    db.delete(row)
    _expire_stale(db, user.id, now)
    request = live_kit_request(db, user.id, now, lock=True)
    if request is None:
        request = RecoveryRequest(id=uuid.uuid4(), user_id=user.id, kind=KIT, status=PENDING)
        request.created_at = now
        db.add(request)
        db.flush()
        journal.append(db, vault_id=user.id, action="recovery.requested", actor=user, now=now)
        return KitCheck(user, request, None, created=True)
    db.flush()
    approved = request.status == APPROVED
    return KitCheck(user, request, user_key if approved else None, created=False)


def complete_kit(
    db: Session,
    ring: KeyRing,
    user: User,
    user_key: bytes,
    passphrase: str,
    *,
    now: datetime | None = None,
) -> str:
    """Set the new passphrase of an approved kit recovery; return the new recovery code.

    Every session of the account ends (the caller starts a fresh one); the
    old code stops working; the request is completed.

    Raises:
        PolicyError: the new passphrase breaks the policy (nothing changed).
        SignInRefused: no approved request any more, or a stale key.
    """
    now = now or utcnow()
    request = live_kit_request(db, user.id, now, lock=True)
    if (
        request is None
        or request.status != APPROVED
        or user.status != AccountStatus.ACTIVE
        or not accounts.matches_public_key(user, user_key)
    ):
        raise SignInRefused()
    passphrase = accounts.clean_passphrase(passphrase)
    accounts.check_policy(passphrase, user)
    keys.put_passphrase_slot(db, ring, user.id, SlotKind.PASSWORD, user_key, passphrase)
    user.passphrase_changed_at = now
    # Whoever watched the old passphrase is signed out everywhere.
    ended = sessions.end_all(db, user.id)
    request.status = COMPLETED
    request.completed_at = now
    journal.append(
        db,
        vault_id=user.id,
        action="recovery.completed",
        actor=user,
        details={"kind": KIT, "sessions_ended": ended},
        now=now,
    )
    # Replacing the recovery slot is what makes the old code single use.
    return accounts.issue_recovery_kit(db, ring, user, user_key)


@dataclass(frozen=True)
class PendingApproval:
    request: RecoveryRequest
    person: User


def approvals_for(
    db: Session, counsellor: User, *, now: datetime | None = None
) -> list[PendingApproval]:
    """Pending kit requests of the people `counsellor` follows now."""
    now = now or utcnow()
    followed = {person.id: person for person in sharing.people_of(db, counsellor.id)}
    if not followed:
        return []
    requests = db.execute(
        select(RecoveryRequest)
        .where(
            RecoveryRequest.kind == KIT,
            RecoveryRequest.status == PENDING,
            RecoveryRequest.user_id.in_(followed),
        )
        .order_by(RecoveryRequest.created_at)
    ).scalars()
    return [
        PendingApproval(request, followed[request.user_id])
        for request in requests
        if _kit_window(request, now)
    ]


def decide_kit(
    db: Session,
    counsellor: User,
    request_id: uuid.UUID,
    *,
    approve: bool,
    now: datetime | None = None,
) -> RecoveryRequest:
    """The counsellor approves (or declines) a pending kit request of someone they follow.

    Declining is for "the person says they did not ask": a stolen sheet.

    Raises:
        NotFound: no such pending request, or not one of the counsellor's people.
    """
    now = now or utcnow()
    request = db.execute(
        select(RecoveryRequest).where(RecoveryRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if (
        request is None
        or request.kind != KIT
        or sharing.active_assignment(db, request.user_id, counsellor.id) is None
    ):
        raise NotFound()
    if approve and request.status == APPROVED and request.approved_by_id == counsellor.id:
        return request  # a second click on the same button
    if request.status != PENDING or not _kit_window(request, now):
        raise NotFound()
    request.status = APPROVED if approve else REFUSED
    request.approved_by_id = counsellor.id
    request.approved_at = now
    journal.append(
        db,
        vault_id=request.user_id,
        action="recovery.approved" if approve else "recovery.declined",
        actor=counsellor,
        details={"counsellor": str(counsellor.id)},
        now=now,
    )
    return request


# --- (b) escrow: two recovery officers, then the offline secret -------------------------


@dataclass(frozen=True)
class IdentityCheck:
    """What an officer saw: the kind of ID document, its last 4 characters, the date.

    Text only: no copy of the document is ever taken or stored. The last 4
    characters identify a person's document: they are sealed to the escrow
    public key (`seal_last4`), never kept in clear.
    """

    document: str
    last4: str
    seen_on: date

    def to_text(self, officer: User) -> str:
        """The part kept in clear: the kind of document, the date, the officer."""
        return json.dumps(
            {
                "document": self.document,
                "seen_on": self.seen_on.isoformat(),
                "officer": str(officer.id),
            },
            sort_keys=True,
        )


def _identity_context(request_id: uuid.UUID, person_id: uuid.UUID) -> bytes:
    return b"vault/escrow-identity|" + request_id.bytes + person_id.bytes


def seal_last4(escrow: PublicKey, request: RecoveryRequest, last4: str) -> bytes:
    """The last 4 characters, readable only with the escrow secret (at `escrow recover`)."""
    return seal(escrow, last4.encode(), _identity_context(request.id, request.user_id))


def open_last4(keypair: KeyPair, request: RecoveryRequest) -> str | None:
    """The last 4 characters an officer recorded, or None (older request, or unreadable)."""
    if request.identity_sealed is None:
        return None
    try:
        sealed = open_sealed(
            keypair, request.identity_sealed, _identity_context(request.id, request.user_id)
        )
    except CryptoError:
        return None
    return sealed.decode()


def identity_of(request: RecoveryRequest) -> dict[str, str]:
    """The recorded identity check as plain strings (empty for a kit request)."""
    try:
        data = json.loads(request.identity_check or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def open_officer(
    db: Session,
    ring: KeyRing,
    escrow: PublicKey,
    *,
    first_name: str,
    last_name: str,
    activation_days: int,
) -> accounts.NewAccount:
    """A recovery officer's account, opened by the operator (flushed, not committed).

    The only way to open one: an administrator could otherwise open two
    officer accounts and be both officers of an escrow recovery.
    """
    return accounts.open_account(
        db,
        ring,
        escrow,
        role=Role.RECOVERY_OFFICER,
        first_name=first_name,
        last_name=last_name,
        created_by=None,
        activation_days=activation_days,
    )


def search_people(db: Session, query: str) -> list[User]:
    """Persons by name, username or prison number, for an officer (identity data only)."""
    needle = query.strip().lower()
    if len(needle) < 2:
        return []
    like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.execute(
            select(User)
            .outerjoin(PersonProfile, PersonProfile.user_id == User.id)
            .where(
                User.role == Role.PERSON,
                or_(
                    User.display_name.ilike(like, escape="\\"),
                    User.username.ilike(like, escape="\\"),
                    PersonProfile.prison_number.ilike(like, escape="\\"),
                ),
            )
            .order_by(User.display_name)
            .limit(SEARCH_LIMIT)
        ).scalars()
    )


def escrow_person(db: Session, person_id: uuid.UUID) -> User:
    """A person an officer may open an escrow request for (404 for anything else)."""
    person = db.get(User, person_id)
    if person is None or person.role != Role.PERSON:
        raise NotFound()
    return person


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
    request = db.get(RecoveryRequest, request_id)
    if request is None or request.kind != ESCROW:
        raise NotFound()
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
        user_key = open_sealed(keypair, sealed, escrow_context(user.id))
    except (CryptoError, ValueError):
        raise WrongEscrowSecret() from None
    if not accounts.matches_public_key(user, user_key):
        raise EscrowRefused("mismatch")

    # Re-enrolment: the account is back to "pending" with a new activation
    # code, exactly as on the day it was opened, and nothing of the old
    # secrets works any more.
    keys.remove_slot(db, user.id, SlotKind.PASSWORD)
    keys.remove_slot(db, user.id, SlotKind.RECOVERY)
    code = accounts.new_activation_code()
    keys.put_passphrase_slot(
        db,
        ring,
        user.id,
        SlotKind.ACTIVATION,
        user_key,
        accounts.normalize_activation_code(code),
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


# --- the escrow secret split 2-of-3 (SLIP-39, Trezor's shamir-mnemonic) -----------------

SHARES, THRESHOLD = 3, 2


def split_escrow_secret(secret: bytes) -> list[str]:
    """Three SLIP-39 mnemonics (33 words each), any two of which rebuild `secret`.

    A well-kept library does the arithmetic (never hand-written Shamir); its
    words carry a checksum, so a mistyped or foreign share is detected.
    """
    groups: list[list[str]] = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(THRESHOLD, SHARES)], master_secret=secret
    )
    return list(groups[0])


def combine_escrow_shares(mnemonics: Sequence[str]) -> bytes:
    """The escrow secret rebuilt from at least two shares.

    Raises:
        WrongShares: fewer than two, a damaged share, or shares of different splits.
    """
    words = [" ".join(m.lower().split()) for m in mnemonics]
    if len(words) < THRESHOLD:
        raise WrongShares("too_few")
    try:
        secret: Any = shamir_mnemonic.combine_mnemonics(words)
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError):
        raise WrongShares() from None
    if not isinstance(secret, bytes) or len(secret) != 32:
        raise WrongShares()
    return secret
