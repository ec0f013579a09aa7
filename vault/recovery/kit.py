"""Recovery path (a): the person's recovery kit, then an assigned counsellor's approval.

The person types their username and the recovery code of their printed sheet.
A right code opens a pending request; an assigned counsellor approves it in
the app; the person comes back with the same code (the user key is never kept
between the steps) and chooses a new passphrase. The code is then spent: a
new kit replaces it. A stolen sheet alone is not enough, and a counsellor
alone cannot do anything either: their approval carries no key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, func, literal, select
from sqlalchemy.orm import Session

from crypto import CryptoError, FormatError, KeyRing, normalize_recovery_code
from vault.access.assignments import followed_ids, users_by_id
from vault.access.rules import counsellor_access_open
from vault.accounts import keys, sessions
from vault.accounts.opening import issue_recovery_kit
from vault.accounts.policy import check_policy, clean_passphrase
from vault.accounts.recovery_requests import APPROVED, CANCELLED, COMPLETED, KIT, PENDING, REFUSED
from vault.accounts.signin import burn_time
from vault.accounts.users import find_user
from vault.core import metrics
from vault.core.envelope import UserKey
from vault.core.errors import NotFound, ServiceError, SignInRefused, Throttled
from vault.core.throttle import (
    check_throttle,
    count_failure,
    lock_throttle,
    throttle_key,
    throttle_secret,
)
from vault.journal import service as journal
from vault.models import AccountStatus, RecoveryRequest, Role, SlotKind, User
from vault.models.base import utcnow
from vault.sharing import service as sharing

# After the counsellor's approval the person has this long to come back with
# the code: long enough to reach a kiosk again, short enough that an approval
# forgotten in a drawer is not a standing open door.
APPROVAL_VALID = timedelta(hours=48)


# A request nobody decided is dropped after this long; a right code makes a new one.
KIT_REQUEST_VALID = timedelta(days=14)

# Throttle scope of recovery codes, apart from sign-in: a co-detainee typing
# wrong codes slows recovery only, never the owner's everyday sign-in.
THROTTLE_SCOPE = "recovery"


class Mistyped(ServiceError):
    """The code is not a recovery code (wrong length or check digits): no attempt counted."""

    code = "mistyped"


@dataclass(frozen=True)
class KitCheck:
    """A right code: the request it opened or found, and the key once approved."""

    user: User
    request: RecoveryRequest
    # Only when the request is approved: the caller keeps it for the passphrase
    # step under a per-session key, never in clear.
    user_key: UserKey | None
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
    try:
        check_throttle(row, now)
    except Throttled:
        metrics.SIGNIN_THROTTLED.labels("name").inc()
        raise
    user = find_user(db, username)
    usable = user is not None and user.role == Role.PERSON and user.status == AccountStatus.ACTIVE
    slot = keys.get_slot(db, user.id, SlotKind.RECOVERY) if user is not None and usable else None
    user_key: UserKey | None = None
    if user is None or slot is None:
        # Same Argon2id cost as a real check: the answer's timing does not
        # tell whether the account exists.
        burn_time(normalized, SlotKind.RECOVERY)
    else:
        try:
            user_key = keys.open_passphrase_slot(ring, slot, normalized)
        except CryptoError:
            user_key = None
        if user_key is not None and not keys.matches_public_key(user, user_key):
            user_key = None
    if user is None or user_key is None:
        count_failure(row, now)
        db.flush()
        if user is not None:
            journal.append(
                db, vault_id=user.id, action="recovery.kit", actor=None, outcome="refused", now=now
            )
        metrics.SIGNIN_FAILURES.labels("recovery").inc()
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
    user_key: UserKey,
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
        or not keys.matches_public_key(user, user_key)
    ):
        raise SignInRefused()
    passphrase = clean_passphrase(passphrase)
    check_policy(passphrase, user)
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
    return issue_recovery_kit(db, ring, user, user_key)


@dataclass(frozen=True)
class PendingApproval:
    request: RecoveryRequest
    person: User


def _waiting(counsellor_id: uuid.UUID, now: datetime) -> list[ColumnElement[bool]]:
    """Kit requests pending and in their window (`_kit_window`), of the people
    `counsellor_id` follows now.

    The status is written into the statement, not bound: only then can a
    prepared statement's generic plan use the partial index of the requests
    pending (D-207).
    """
    return [
        RecoveryRequest.kind == KIT,
        RecoveryRequest.status == literal(PENDING, literal_execute=True),
        RecoveryRequest.created_at >= now - KIT_REQUEST_VALID,
        RecoveryRequest.user_id.in_(followed_ids(counsellor_id, now.date())),
    ]


def approvals_for(
    db: Session, counsellor: User, *, now: datetime | None = None
) -> list[PendingApproval]:
    """Pending kit requests of the people `counsellor` follows now.

    Through the active assignments (`followed_ids`), not the caseload's rows
    (D-203).
    """
    now = now or utcnow()
    requests = list(
        db.execute(
            select(RecoveryRequest)
            .where(*_waiting(counsellor.id, now))
            .order_by(RecoveryRequest.created_at)
        ).scalars()
    )
    # The access rule itself on each person, read at once (most homes have
    # none waiting, and a join read every followed account first).
    people = users_by_id(db, {request.user_id for request in requests})
    return [
        PendingApproval(request, people[request.user_id])
        for request in requests
        if request.user_id in people and counsellor_access_open(people[request.user_id], now.date())
    ]


def approvals_count(counsellor_id: uuid.UUID, now: datetime) -> ScalarSelect[int]:
    """How many kit requests wait for `counsellor_id`'s approval, as a column of any query.

    The counsellor's home reads it with its page (D-207). Like the caseload's
    own count, it takes the access day from the assignments' copy (D-200);
    the list above also asks the rule of each person.
    """
    return (
        select(func.count())
        .select_from(RecoveryRequest)
        .where(*_waiting(counsellor_id, now))
        .correlate(None)
        .scalar_subquery()
    )


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
