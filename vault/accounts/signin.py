"""Sign-in, activation codes, passphrase changes and fresh passphrase checks.

Sign-in failures are throttled per typed username with growing delays and no
hard lock-out (vault/core/throttle.py: a co-detainee must not be able to lock
a person out), and every refusal costs one Argon2id run, so neither the
message nor the timing tells whether an account exists.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from crypto import CryptoError, KeyRing, PassphraseSlot
from vault.access import networks
from vault.accounts import keys
from vault.accounts.keys import Unlocked
from vault.accounts.opening import normalize_activation_code
from vault.accounts.policy import check_policy, clean_passphrase
from vault.accounts.users import find_user
from vault.core import metrics
from vault.core.envelope import UserKey
from vault.core.errors import ServiceError, SignInRefused, Throttled
from vault.core.throttle import (
    check_throttle,
    count_failure,
    hashing_slot,
    lock_throttle,
    throttle_key,
    throttle_secret,
)
from vault.journal import service as journal
from vault.models import AccountStatus, SlotKind, User
from vault.models.base import utcnow


class AccountDisabled(ServiceError):
    """The passphrase is right, but an administrator disabled the account."""

    code = "disabled"


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


def burn_time(secret: str, kind: SlotKind) -> None:
    """Spend on a refusal what opening a real `kind` slot costs (same Argon2id costs).

    Refusing an unknown name must take as long as refusing a wrong secret for
    a real account, or the answer's timing tells who has an account.
    """
    try:
        with hashing_slot():
            _decoy_slot(kind).open(secret or "x", b"decoy")
    except CryptoError:
        pass


def _attempt(
    db: Session,
    ring: KeyRing,
    username: str,
    secret: str,
    kind: SlotKind,
    status: AccountStatus,
    now: datetime,
    trusted: bool = False,
) -> tuple[User, UserKey]:
    scope = "activation" if kind == SlotKind.ACTIVATION else "signin"
    bucket = "trusted" if trusted else "untrusted"
    row = lock_throttle(db, throttle_key(throttle_secret(db), scope, username, bucket), now)
    try:
        check_throttle(row, now)
    except Throttled:
        metrics.SIGNIN_THROTTLED.labels("name").inc()
        raise
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
        burn_time(secret, kind)
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
    count_failure(row, now)
    db.flush()
    if user is not None:
        journal.append(db, vault_id=user.id, action=f"signin.{kind}", actor=None, outcome="refused")
    metrics.SIGNIN_FAILURES.labels(kind.value).inc()
    raise SignInRefused()


def check_activation(
    db: Session, ring: KeyRing, username: str, code: str, *, now: datetime | None = None
) -> tuple[User, UserKey]:
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
) -> tuple[User, UserKey]:
    """The active user and their key if `passphrase` is right.

    `trusted`: the browser carries this user's device mark (throttled apart).
    `address`: the client's, checked against the establishment's networks
    while the person is detained (vault.access.networks.signin_allowed).
    Raises Throttled, SignInRefused, AccountDisabled (only after the right
    passphrase) or networks.OutsideNetworks.
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
    networks.check_signin(db, user, address)
    user.previous_signin_at, user.last_signin_at = user.last_signin_at, now
    journal.append(db, vault_id=user.id, action="signin", actor=user)
    return user, user_key


def change_passphrase(
    db: Session, ring: KeyRing, user: User, user_key: UserKey, current: str, new: str
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
    row = lock_throttle(db, throttle_key(throttle_secret(db), "change", str(user.id)), now)
    check_throttle(row, now)
    try:
        with_current = keys.open_passphrase_slot(ring, slot, current)
    except CryptoError:
        count_failure(row, now)
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

    Raises SignInRefused, Throttled or HashingBusy.
    """
    now = now or utcnow()
    user = owner.user
    row = lock_throttle(db, throttle_key(throttle_secret(db), "change", str(user.id)), now)
    check_throttle(row, now)
    slot = keys.get_slot(db, user.id, SlotKind.PASSWORD)
    try:
        if slot is None:
            raise SignInRefused()
        opened = keys.open_passphrase_slot(ring, slot, clean_passphrase(passphrase))
        if keys.vault_key_of(opened) != owner.key:
            # The slot opened, but not to this session's key: never go on then.
            raise SignInRefused()
    except (CryptoError, SignInRefused):
        count_failure(row, now)
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
