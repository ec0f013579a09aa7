"""Opening accounts, activation, sign-in, passphrase changes and fresh passphrase checks.

Sign-in failures are throttled per typed username with growing delays and no
hard lock-out (a co-detainee must not be able to lock a person out), and every
refusal costs one Argon2id run, so neither the message nor the timing tells
whether an account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import (
    CryptoError,
    KeyRing,
    PassphraseSlot,
    PublicKey,
    derive_keypair,
    format_recovery_code,
    new_recovery_code,
    normalize_recovery_code,
)
from vault.accounts import keys, sessions
from vault.accounts.passphrases import check_passphrase
from vault.core.errors import (
    NotFound,
    PolicyError,
    ServiceError,
    SignInRefused,
    Throttled,
)
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.lifecycle import service as lifecycle
from vault.models import (
    AccountStatus,
    Assignment,
    Document,
    PersonProfile,
    RecoveryRequest,
    Role,
    SignInThrottle,
    SlotKind,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

ACTIVATION_DIGITS = 16
STAFF_ROLES = (Role.ADMINISTRATOR, Role.COUNSELLOR, Role.RECOVERY_OFFICER)
FREE_FAILURES = 3
MAX_DELAY_SECONDS = 300


class AccountDisabled(ServiceError):
    """The passphrase is right, but an administrator disabled the account."""

    code = "disabled"


class StaffRefused(ServiceError):
    """Disabling or enabling refused; `code` says why.

    Codes: "not_staff" (a person's account goes through the lifecycle),
    "self", "last_administrator", "already_disabled", "not_disabled".
    """

    code = "refused"


@dataclass(frozen=True)
class NewAccount:
    user: User
    activation_code: str  # formatted for the sheet, e.g. "4821 0937 5521 8830"


def new_activation_code() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(ACTIVATION_DIGITS))
    return " ".join(digits[i : i + 4] for i in range(0, ACTIVATION_DIGITS, 4))


def normalize_activation_code(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text)


def make_username(db: Session, first: str, last: str = "") -> str:
    """A readable, unique, ASCII username: "prenom.nom", then "prenom.nom2"..."""

    def fold(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())

    base = ".".join(part for part in (fold(first), fold(last)) if part)[:40] or "compte"
    candidate, n = base, 1
    while db.execute(select(User.id).where(User.username == candidate)).first():
        n += 1
        candidate = f"{base}{n}"
    return candidate


# Two administrators opening "Camille Martin" at once both see the name free;
# the second insert fails on the unique index and tries the next suffix.
USERNAME_ATTEMPTS = 20


def _insert_with_free_username(
    db: Session, user: User, username: str | None, first: str, last: str
) -> None:
    """Insert `user` under `username`, or the first free name made from first and last.

    Each try runs in a savepoint, so a name taken meanwhile by another
    transaction undoes only that insert. An explicit `username` is not changed.
    """
    for attempt in range(1, USERNAME_ATTEMPTS + 1):
        user.username = username or make_username(db, first, last)
        try:
            with db.begin_nested():
                db.add(user)
                db.flush()
        except IntegrityError:
            if username is not None or attempt == USERNAME_ATTEMPTS:
                raise
        else:
            return


def open_account(
    db: Session,
    ring: KeyRing,
    escrow: PublicKey,
    *,
    role: Role,
    first_name: str,
    last_name: str,
    created_by: User | None,
    establishment_id: uuid.UUID | None = None,
    birth_date: date | None = None,
    prison_number: str | None = None,
    activation_days: int = 30,
    username: str | None = None,
) -> NewAccount:
    """Create a user, its key, its activation and escrow slots; return the code."""
    user_key, public = keys.new_user_key()
    user = User(
        id=uuid.uuid4(),
        role=role,
        status=AccountStatus.PENDING,
        display_name=f"{first_name} {last_name}".strip(),
        establishment_id=establishment_id,
        public_key=public,
        activation_expires_at=utcnow() + timedelta(days=activation_days),
        created_by_id=created_by.id if created_by else None,
    )
    _insert_with_free_username(db, user, username, first_name, last_name)
    if role == Role.PERSON:
        db.add(
            PersonProfile(
                user_id=user.id,
                first_name=first_name,
                last_name=last_name,
                birth_date=birth_date,
                prison_number=prison_number or None,
            )
        )
    db.flush()
    code = new_activation_code()
    keys.put_passphrase_slot(
        db, ring, user.id, SlotKind.ACTIVATION, user_key, normalize_activation_code(code)
    )
    keys.put_escrow_slot(db, ring, user.id, user_key, escrow)
    journal.append(db, vault_id=user.id, action="account.opened", actor=created_by)
    return NewAccount(user, code)


def reissue_activation(
    db: Session, ring: KeyRing, escrow: PublicKey, user: User, *, by: User, activation_days: int
) -> str:
    """A new activation code for an account not yet activated.

    The old code's slot is the only way to the old key, so a new key is made:
    allowed only while the vault is empty, which a pending account's is.
    """
    if user.status != AccountStatus.PENDING:
        raise NotFound()
    if db.execute(select(Document.id).where(Document.vault_id == user.id).limit(1)).first():
        raise PolicyError(["not_empty"])
    user_key, user.public_key = keys.new_user_key()
    user.activation_expires_at = utcnow() + timedelta(days=activation_days)
    # A session opened with the old code (a stolen sheet) must not finish activation.
    sessions.end_all(db, user.id)
    code = new_activation_code()
    keys.put_passphrase_slot(
        db, ring, user.id, SlotKind.ACTIVATION, user_key, normalize_activation_code(code)
    )
    keys.put_escrow_slot(db, ring, user.id, user_key, escrow)
    journal.append(db, vault_id=user.id, action="account.activation_reissued", actor=by)
    return code


# --- throttling -------------------------------------------------------------------------

# Failures older than this are forgotten: a person is never held back by an
# attack that stopped.
FORGET_AFTER = timedelta(hours=1)


THROTTLE_KEY_INFO = b"vault/signin-throttle"


def derive_throttle_secret(secret_key: str) -> bytes:
    """The HMAC key of throttle rows, derived from the app's secret key (VAULT_SECRET_KEY).

    Not the server key ring: its keys never leave crypto's KeyRing, and a ring
    rotation (routine, to re-wrap rows) should not reset every throttle. A new
    secret key already ends every session; it also starts throttling afresh,
    which is harmless (failures are forgotten after an hour anyway).
    """
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=THROTTLE_KEY_INFO).derive(
        secret_key.encode()
    )


def throttle_secret(db: Session) -> bytes:
    """The throttle HMAC key bound to this session (by `vault.core.db.db_session`)."""
    secret = db.info.get("throttle_secret")
    if not isinstance(secret, bytes):
        raise RuntimeError("the session carries no throttle secret (use vault.core.db.db_session)")
    return secret


def throttle_key(secret: bytes, scope: str, username: str, bucket: str = "untrusted") -> str:
    """The throttle row of one typed username, in one scope and bucket.

    A keyed HMAC, not a plain hash: what people type as a username (sometimes
    their passphrase, by mistake) must not be recoverable from a database dump
    by hashing guesses.

    Buckets: browsers where this user signed in before carry a device mark
    (see `trusted_device`) and are throttled apart from every other browser, so
    a co-detainee typing wrong phrases elsewhere cannot lock the owner out.
    """
    name = username.strip().casefold()
    message = f"{scope}|{bucket}|{name}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def delay_after(failures: int) -> int:
    """Seconds to wait after `failures` consecutive failures: 0, 0, 0, 2, 4, 8... 300."""
    if failures <= FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS))


def _lock_throttle(db: Session, key: str, now: datetime) -> SignInThrottle:
    """The throttle row of `key`, created if needed and locked until the transaction ends.

    Holding the lock through the Argon2id run serialises attempts on one
    username, so parallel guesses cannot all pass one free slot, and no
    failure is lost to a read-modify-write race.
    """
    table = SignInThrottle  # the mapped class works as an insert target
    values = {"key": key, "failures": 0, "last_failure_at": now}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        db.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    row = db.execute(
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.failures and now - row.last_failure_at > FORGET_AFTER:
        row.failures = 0
    return row


def _check_throttle(row: SignInThrottle, now: datetime) -> None:
    if not row.failures:
        return
    wait = row.last_failure_at + timedelta(seconds=delay_after(row.failures)) - now
    if wait > timedelta(0):
        raise Throttled(int(wait.total_seconds()) + 1)


def _decoy_slot(kind: SlotKind) -> PassphraseSlot:
    """A slot nothing opens, with the costs a real `kind` slot has.

    Random bytes rather than `PassphraseSlot.create`: creating costs an
    Argon2id run of its own, which the first unknown name of a process would
    pay and a real account never does. Opening derives a key with the slot's
    costs, then the AES-GCM tag fails: exactly what a wrong secret costs.
    """
    return PassphraseSlot(secrets.token_bytes(DECOY_SLOT_BYTES), keys.params_for(kind))


# Longer than any slot's header, salt, nonce and tag: opening only slices it.
DECOY_SLOT_BYTES = 128


def _burn_time(secret: str, kind: SlotKind) -> None:
    """Spend on a refusal what opening a real `kind` slot costs (same Argon2id costs).

    Refusing an unknown name must take as long as refusing a wrong secret for
    a real account, or the answer's timing tells who has an account.
    """
    try:
        with keys.hashing_slot():
            _decoy_slot(kind).open(secret or "x", b"decoy")
    except CryptoError:
        pass


def find_user(db: Session, username: str) -> User | None:
    name = username.strip().casefold()
    if not name or len(name) > 64:
        return None
    return db.execute(select(User).where(func.lower(User.username) == name)).scalar_one_or_none()


def _attempt(
    db: Session,
    ring: KeyRing,
    username: str,
    secret: str,
    kind: SlotKind,
    status: AccountStatus,
    now: datetime,
    trusted: bool = False,
) -> tuple[User, bytes]:
    scope = "activation" if kind == SlotKind.ACTIVATION else "signin"
    bucket = "trusted" if trusted else "untrusted"
    row = _lock_throttle(db, throttle_key(throttle_secret(db), scope, username, bucket), now)
    _check_throttle(row, now)
    user = find_user(db, username)
    # A disabled staff account keeps its slots (it can be enabled again): its
    # passphrase is checked like an active one's, and only the right one
    # learns that the account is disabled.
    statuses = {status, AccountStatus.DISABLED} if kind == SlotKind.PASSWORD else {status}
    slot = keys.get_slot(db, user.id, kind) if user and user.status in statuses else None
    expired = (
        kind == SlotKind.ACTIVATION
        and user is not None
        and (user.activation_expires_at is None or user.activation_expires_at < now)
    )
    if user is None or slot is None or expired:
        _burn_time(secret, kind)
    else:
        try:
            user_key = keys.open_passphrase_slot(ring, slot, secret)
        except CryptoError:
            pass
        else:
            db.delete(row)
            db.flush()
            if user.status == AccountStatus.DISABLED:
                journal.append(
                    db,
                    vault_id=user.id,
                    action=f"signin.{kind}",
                    actor=None,
                    outcome="refused",
                    details={"reason": "disabled"},
                )
                raise AccountDisabled()
            return user, user_key
    row.failures += 1
    row.last_failure_at = now
    db.flush()
    if user is not None:
        journal.append(db, vault_id=user.id, action=f"signin.{kind}", actor=None, outcome="refused")
    raise SignInRefused()


def check_activation(
    db: Session, ring: KeyRing, username: str, code: str, *, now: datetime | None = None
) -> tuple[User, bytes]:
    """The pending user and their key if `code` is their activation code.

    Raises Throttled or SignInRefused (unknown, expired, used or wrong code alike).
    """
    return _attempt(
        db,
        ring,
        username,
        normalize_activation_code(code),
        SlotKind.ACTIVATION,
        AccountStatus.PENDING,
        now or utcnow(),
    )


def sign_in(
    db: Session,
    ring: KeyRing,
    username: str,
    passphrase: str,
    *,
    trusted: bool = False,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[User, bytes]:
    """The active user and their key if `passphrase` is right.

    `trusted`: the browser carries this user's device mark (throttled apart).
    `address`: the client's, checked against the establishment's networks
    while the person is detained (lifecycle.signin_allowed).
    Raises Throttled, SignInRefused, AccountDisabled (only after the right
    passphrase) or lifecycle.OutsideNetworks.
    """
    now = now or utcnow()
    user, user_key = _attempt(
        db,
        ring,
        username,
        clean_passphrase(passphrase),
        SlotKind.PASSWORD,
        AccountStatus.ACTIVE,
        now,
        trusted,
    )
    # Only after the passphrase: the answer must not tell strangers which accounts exist.
    lifecycle.check_signin(db, user, address)
    user.previous_signin_at, user.last_signin_at = user.last_signin_at, now
    journal.append(db, vault_id=user.id, action="signin", actor=user)
    return user, user_key


def clean_passphrase(passphrase: str) -> str:
    """Spaces around a passphrase are ignored, when it is chosen and when it is typed.

    A paste often brings a trailing space or newline; inner spaces count.
    """
    return passphrase.strip()


def personal_words(user: User) -> list[str]:
    """What someone who knows the person would try first, as context for a passphrase's strength.

    Names, username, date of birth (as people write it), prison number.
    """
    words = [user.username, user.display_name]
    profile = user.profile
    if profile is not None:
        words += [profile.first_name, profile.last_name, profile.prison_number or ""]
        born = profile.birth_date
        if born is not None:
            words += [str(born.year), born.isoformat()]
            words += [born.strftime(f) for f in ("%d%m%Y", "%d%m%y", "%d/%m/%Y", "%Y%m%d")]
    return [word for word in words if word]


def check_policy(passphrase: str, user: User) -> None:
    """Raise PolicyError with the problem codes if `user` may not choose `passphrase`."""
    problems = check_passphrase(passphrase, username=user.username, personal=personal_words(user))
    if problems:
        raise PolicyError(problems)


def complete_activation(
    db: Session,
    ring: KeyRing,
    user: User,
    user_key: bytes,
    passphrase: str,
    *,
    keep_session: str | None = None,
) -> str:
    """Set the first passphrase, retire the activation code; return a recovery code.

    Every session of the account but `keep_session` ends.
    """
    if user.status != AccountStatus.PENDING or not matches_public_key(user, user_key):
        # The code was reissued since this key was opened: it is not the vault's key.
        raise SignInRefused()
    passphrase = clean_passphrase(passphrase)
    check_policy(passphrase, user)
    now = utcnow()
    keys.put_passphrase_slot(db, ring, user.id, SlotKind.PASSWORD, user_key, passphrase)
    keys.remove_slot(db, user.id, SlotKind.ACTIVATION)
    code = new_recovery_code()
    keys.put_passphrase_slot(
        db, ring, user.id, SlotKind.RECOVERY, user_key, normalize_recovery_code(code)
    )
    user.status = AccountStatus.ACTIVE
    user.activated_at = user.passphrase_changed_at = user.last_signin_at = now
    user.activation_expires_at = None
    # Whoever else typed the code (a stolen sheet) holds a session on the
    # account: it ends here, and only the caller's session (kept by the view) lives.
    sessions.end_all(db, user.id, keep=keep_session)
    journal.append(db, vault_id=user.id, action="account.activated", actor=user)
    return format_recovery_code(code)


def change_passphrase(
    db: Session, ring: KeyRing, user: User, user_key: bytes, current: str, new: str
) -> None:
    """Replace the passphrase after checking the current one (the caller ends other sessions)."""
    current, new = clean_passphrase(current), clean_passphrase(new)
    slot = keys.get_slot(db, user.id, SlotKind.PASSWORD)
    if slot is None:
        raise SignInRefused()
    # Someone at an unattended session must not be able to guess the current
    # phrase at full speed to take the account over. Not `confirm_passphrase`:
    # its journal line carries a reason, and it counts a slot opening to
    # another key as a failure, which this one never did.
    now = utcnow()
    row = _lock_throttle(db, throttle_key(throttle_secret(db), "change", str(user.id)), now)
    _check_throttle(row, now)
    try:
        with_current = keys.open_passphrase_slot(ring, slot, current)
    except CryptoError:
        row.failures += 1
        row.last_failure_at = now
        journal.append(
            db, vault_id=user.id, action="passphrase.changed", actor=user, outcome="refused"
        )
        raise SignInRefused() from None
    db.delete(row)
    if with_current != user_key:
        raise SignInRefused()
    check_policy(new, user)
    keys.put_passphrase_slot(db, ring, user.id, SlotKind.PASSWORD, user_key, new)
    user.passphrase_changed_at = utcnow()
    journal.append(db, vault_id=user.id, action="passphrase.changed", actor=user)


def confirm_passphrase(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    passphrase: str,
    *,
    action: str,
    now: datetime | None = None,
) -> None:
    """Check that `passphrase` opens the signed-in owner's vault (a fresh sign-in).

    Asked before a step that must not follow from an unattended session alone
    (an export, closing the vault). Throttled in the same bucket as a
    passphrase change: all of them guess the current phrase from an open
    session, and someone at an unattended kiosk must not get more attempts by
    alternating them. A refusal is journaled under `action` ("export.created",
    "vault.closed"); the caller commits in every case.

    Raises SignInRefused, Throttled or keys.HashingBusy.
    """
    now = now or utcnow()
    user = owner.user
    row = _lock_throttle(db, throttle_key(throttle_secret(db), "change", str(user.id)), now)
    _check_throttle(row, now)
    slot = keys.get_slot(db, user.id, SlotKind.PASSWORD)
    try:
        if slot is None:
            raise SignInRefused()
        opened = keys.open_passphrase_slot(ring, slot, clean_passphrase(passphrase))
        if opened != owner.key:
            # The slot opened, but not to this session's key: never go on then.
            raise SignInRefused()
    except (CryptoError, SignInRefused):
        row.failures += 1
        row.last_failure_at = now
        journal.append(
            db,
            vault_id=user.id,
            action=action,
            actor=user,
            outcome="refused",
            details={"reason": "passphrase"},
        )
        raise SignInRefused() from None
    db.delete(row)
    db.flush()


def issue_recovery_kit(db: Session, ring: KeyRing, user: User, user_key: bytes) -> str:
    """A new recovery code replacing the previous one (which stops working); formatted."""
    code = new_recovery_code()
    keys.put_passphrase_slot(
        db, ring, user.id, SlotKind.RECOVERY, user_key, normalize_recovery_code(code)
    )
    journal.append(db, vault_id=user.id, action="recovery_kit.issued", actor=user)
    return format_recovery_code(code)


def matches_public_key(user: User, user_key: bytes) -> bool:
    """True when `user_key` is the key the account's public key comes from."""
    return derive_keypair(user_key).public_bytes() == user.public_key


def administrators_exist(db: Session) -> bool:
    return (
        db.execute(select(User.id).where(User.role == Role.ADMINISTRATOR).limit(1)).first()
        is not None
    )


# --- off-boarding staff -----------------------------------------------------------------


@dataclass(frozen=True)
class DisabledAccount:
    sessions_ended: int
    followups_ended: int
    escrow_requests_cancelled: int


def disable_account(
    db: Session, user: User, *, by: User | None, now: datetime | None = None
) -> DisabledAccount:
    """Disable a staff account at once: sessions end, sign-in is refused.

    Its slots stay, so `enable_account` gives the same person their access
    back. A counsellor's follow-ups end, which revokes what people shared with
    them (shares are sealed to their key: someone who left keeps none); the
    administrator assigns someone else. A recovery officer's open escrow
    requests are cancelled: their identity check or confirmation no longer
    counts. `by` is None for the operator's command.

    Raises StaffRefused.
    """
    now = now or utcnow()
    if user.role not in STAFF_ROLES:
        raise StaffRefused("not_staff")
    if by is not None and by.id == user.id:
        raise StaffRefused("self")
    if user.status == AccountStatus.DISABLED:
        raise StaffRefused("already_disabled")
    if user.role == Role.ADMINISTRATOR and user.status == AccountStatus.ACTIVE:
        # Locked, so two administrators disabling each other at once cannot
        # both pass: one of them stays.
        others = db.execute(
            select(User.id)
            .where(
                User.role == Role.ADMINISTRATOR,
                User.status == AccountStatus.ACTIVE,
                User.id != user.id,
            )
            .with_for_update()
        ).all()
        if not others:
            raise StaffRefused("last_administrator")
    user.status = AccountStatus.DISABLED
    ended = sessions.end_all(db, user.id)
    followups = 0
    if user.role == Role.COUNSELLOR:
        current = db.execute(
            select(Assignment).where(
                Assignment.counsellor_id == user.id, Assignment.ended_at.is_(None)
            )
        ).scalars()
        for assignment in list(current):
            sharing.end_assignment(db, assignment, by=by)
            followups += 1
    cancelled = 0
    if user.role == Role.RECOVERY_OFFICER:
        cancelled = _cancel_escrow_requests_of(db, user, by=by, now=now)
    db.flush()
    journal.append(
        db,
        vault_id=user.id,
        action="account.disabled",
        actor=by,
        details={"sessions_ended": ended, "followups_ended": followups},
        now=now,
    )
    return DisabledAccount(ended, followups, cancelled)


def _cancel_escrow_requests_of(
    db: Session, officer: User, *, by: User | None, now: datetime
) -> int:
    from vault.recovery import service as recovery

    requests = db.execute(
        select(RecoveryRequest)
        .where(
            RecoveryRequest.kind == recovery.ESCROW,
            RecoveryRequest.status.in_((recovery.PENDING, recovery.APPROVED)),
            or_(
                RecoveryRequest.approved_by_id == officer.id,
                RecoveryRequest.second_officer_id == officer.id,
            ),
        )
        .with_for_update()
    ).scalars()
    count = 0
    for request in list(requests):
        request.status = recovery.CANCELLED
        journal.append(
            db,
            vault_id=request.user_id,
            action="recovery.escrow_cancelled",
            actor=by,
            details={"request": str(request.id), "reason": "officer_disabled"},
            now=now,
        )
        count += 1
    return count


def enable_account(
    db: Session, user: User, *, by: User | None, now: datetime | None = None
) -> None:
    """Give a disabled staff account its access back (the same passphrase works).

    An account disabled before its activation is pending again (a new
    activation code may be needed if the old one expired). Raises StaffRefused.
    """
    if user.role not in STAFF_ROLES:
        raise StaffRefused("not_staff")
    if user.status != AccountStatus.DISABLED:
        raise StaffRefused("not_disabled")
    user.status = AccountStatus.ACTIVE if user.activated_at else AccountStatus.PENDING
    db.flush()
    journal.append(db, vault_id=user.id, action="account.enabled", actor=by, now=now)
