"""Opening accounts and activating them with the printed sheet's code.

An account is opened with a user key, an activation slot (the code on the
sheet) and an escrow slot. Activation sets the first passphrase and a recovery
code, and retires the activation code.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from crypto import (
    Argon2Params,
    KeyRing,
    PublicKey,
    format_recovery_code,
    new_recovery_code,
    normalize_recovery_code,
)
from vault.accounts import keys, sessions
from vault.accounts.policy import check_policy, clean_passphrase
from vault.accounts.users import insert_with_free_username
from vault.core.envelope import UserKey
from vault.core.errors import NotFound, PolicyError, SignInRefused
from vault.journal import service as journal
from vault.models import AccountStatus, Document, KeySlot, PersonProfile, Role, SlotKind, User
from vault.models.base import utcnow

# A recovery code can be shown (and printed) for this long after it was issued.
RECOVERY_CODE_SHOWN_FOR = timedelta(minutes=15)

ACTIVATION_DIGITS = 16


@dataclass(frozen=True)
class AccountKeys:
    """What opening an account computes before it touches the database.

    Made by `prepare_keys`, in this process or (an intake of many arrivals) in
    worker processes of the same machine: the Argon2id run for the activation
    slot is the cost of opening an account (D-111). The user key travels only
    in memory, never to a disk.
    """

    user_id: uuid.UUID
    # Secrets: kept out of any repr (a traceback, a log line).
    user_key: UserKey = field(repr=False)
    public_key: bytes = field(repr=False)
    activation_code: str = field(repr=False)  # formatted for the sheet
    # The slot before the ring's layer (keys.new_passphrase_slot).
    activation_slot: bytes = field(repr=False)


@dataclass(frozen=True)
class NewAccount:
    user: User
    activation_code: str  # formatted for the sheet, e.g. "4821 0937 5521 8830"


def new_activation_code() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(ACTIVATION_DIGITS))
    return " ".join(digits[i : i + 4] for i in range(0, ACTIVATION_DIGITS, 4))


def normalize_activation_code(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text)


def prepare_keys(params: Argon2Params | None = None) -> AccountKeys:
    """A new account's id, user key, public key and activation code and slot.

    `params` defaults to `keys.params_for(SlotKind.ACTIVATION)`; a worker
    process is given its parent's (module settings do not cross processes).
    """
    user_id = uuid.uuid4()
    user_key, public = keys.new_user_key()
    code = new_activation_code()
    slot = keys.new_passphrase_slot(
        user_id, SlotKind.ACTIVATION, user_key, normalize_activation_code(code), params
    )
    return AccountKeys(user_id, user_key, public, code, slot)


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
    prepared: AccountKeys | None = None,
    locale: str | None = None,
) -> NewAccount:
    """Create a user, its key, its activation and escrow slots; return the code.

    `prepared` (from `prepare_keys`) lets a caller run the costly part elsewhere.
    `locale` is the person's language (a code of vault.core.languages, checked
    by the caller), or None when nobody said.
    """
    prepared = prepared or prepare_keys()
    user_key, public = prepared.user_key, prepared.public_key
    user = User(
        id=prepared.user_id,
        role=role,
        status=AccountStatus.PENDING,
        display_name=f"{first_name} {last_name}".strip(),
        establishment_id=establishment_id,
        public_key=public,
        activation_expires_at=utcnow() + timedelta(days=activation_days),
        created_by_id=created_by.id if created_by else None,
        locale=locale,
    )
    insert_with_free_username(db, user, username, first_name, last_name)
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
    keys.put_slot(db, ring, user.id, SlotKind.ACTIVATION, prepared.activation_slot)
    keys.put_escrow_slot(db, ring, user.id, user_key, escrow)
    journal.append(db, vault_id=user.id, action="account.opened", actor=created_by)
    return NewAccount(user, prepared.activation_code)


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


def complete_activation(
    db: Session,
    ring: KeyRing,
    user: User,
    user_key: UserKey,
    passphrase: str,
    *,
    keep_session: str | None = None,
) -> str:
    """Set the first passphrase, retire the activation code; return a recovery code.

    Every session of the account but `keep_session` ends.
    """
    if user.status != AccountStatus.PENDING or not keys.matches_public_key(user, user_key):
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


def issue_recovery_kit(db: Session, ring: KeyRing, user: User, user_key: UserKey) -> str:
    """A new recovery code replacing the previous one (which stops working); formatted."""
    code = new_recovery_code()
    keys.put_passphrase_slot(
        db, ring, user.id, SlotKind.RECOVERY, user_key, normalize_recovery_code(code)
    )
    journal.append(db, vault_id=user.id, action="recovery_kit.issued", actor=user)
    return format_recovery_code(code)


def retire_expired_activations(db: Session, now: datetime) -> int:
    """Delete the activation slots of codes past their date; return how many.

    Sign-in already refuses an expired code (`signin`); its slot, an Argon2id
    wrap of the user key under a code printed on paper, is only an offline
    guessing target once the sheet is lost. The account stays pending: the
    administrator issues a new code (`reissue_activation`, which makes a new
    key anyway).
    """
    expired = select(User.id).where(
        User.status == AccountStatus.PENDING, User.activation_expires_at < now
    )
    # One statement: a slot an administrator replaces meanwhile is simply not counted.
    result = db.execute(
        delete(KeySlot).where(KeySlot.kind == SlotKind.ACTIVATION, KeySlot.user_id.in_(expired)),
        execution_options={"synchronize_session": False},
    )
    db.flush()
    return int(cast(CursorResult[Any], result).rowcount or 0)
