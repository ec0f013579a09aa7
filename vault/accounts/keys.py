"""User keys and their slots (docs/architecture.md §2.2).

A user key is 32 random bytes; it is never stored in clear, only in slots:
activation code, passphrase, recovery code (Argon2id) and escrow (sealed to the
organisation's escrow public key). Every slot is then wrapped by the server key
ring with the row's identity as associated data.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    KeyRing,
    PassphraseSlot,
    PublicKey,
    derive_keypair,
    generate_data_key,
    load_public_key,
    seal,
    unwrap_key,
    wrap_key,
)
from vault.core.envelope import UserKey, VaultKey, escrow_context, slot_aad
from vault.core.throttle import hashing_slot
from vault.models import KeySlot, SlotKind, User


@dataclass(frozen=True)
class Unlocked:
    """A person's vault opened for this request: the owner and their vault key.

    A person's user key is their vault key: it wraps every document's data key.
    """

    user: User
    key: VaultKey

    @property
    def vault_id(self) -> uuid.UUID:
        return self.user.id


def vault_key_of(user_key: UserKey) -> VaultKey:
    """A person's vault key: their user key, named for what it wraps (every document's DEK).

    One key, two roles; the types keep a document's data key or a link's key
    from being passed where the vault key is meant.
    """
    return VaultKey(user_key)


# Costs of new slots (docs/architecture.md §2.2). Tests lower them to keep the suite fast;
# a slot stores its own costs, so opening follows whatever made it.
SLOT_PARAMS: Argon2Params = DEFAULT_ARGON2
# A recovery code carries about 100 random bits: stretching adds nothing
# against guessing it, so its slot uses OWASP's lighter Argon2id setting
# (19 MiB, t=2) and a kit issued by a busy process (an export) stays small.
RECOVERY_PARAMS = Argon2Params(time_cost=2, memory_cost_kib=19 * 1024, parallelism=1)
# An activation code is random too (16 digits, 53 bits), single use, valid
# 30 days, throttled online and its slot under the ring: OWASP's equivalent
# setting of 12 MiB, t=3 (D-111), a third cheaper here than 19 MiB, t=2 (it
# stays in cache), so that an intake of thousands of arrivals takes minutes.
ACTIVATION_PARAMS = Argon2Params(time_cost=3, memory_cost_kib=12 * 1024, parallelism=1)


def params_for(kind: str) -> Argon2Params:
    """The Argon2id costs of a new `kind` slot (also what refusing an unknown name costs)."""
    if kind == SlotKind.RECOVERY:
        lighter = RECOVERY_PARAMS
    elif kind == SlotKind.ACTIVATION:
        lighter = ACTIVATION_PARAMS
    else:
        return SLOT_PARAMS
    # Never heavier than a passphrase's (tests lower SLOT_PARAMS to keep fast).
    return SLOT_PARAMS if SLOT_PARAMS.is_weaker_than(lighter) else lighter


def new_user_key() -> tuple[UserKey, bytes]:
    """A fresh user key and the bytes of the public key derived from it."""
    key = UserKey(generate_data_key())
    return key, derive_keypair(key).public_bytes()


def matches_public_key(user: User, user_key: UserKey) -> bool:
    """True when `user_key` is the key the account's public key comes from."""
    return derive_keypair(user_key).public_bytes() == user.public_key


def escrow_public_key(value: str) -> PublicKey:
    return load_public_key(base64.b64decode(value))


def new_passphrase_slot(
    user_id: uuid.UUID,
    kind: SlotKind,
    key: UserKey,
    secret: str,
    params: Argon2Params | None = None,
) -> bytes:
    """The `kind` slot of `user_id` opened by `secret`, before the ring's layer (Argon2id).

    Touches no database: an intake computes these in worker processes
    (vault.intake.keysource) while the main one writes rows.
    """
    with hashing_slot():
        slot = PassphraseSlot.create(
            key, secret, slot_aad(user_id, kind), params=params or params_for(kind)
        )
    return slot.to_bytes()


def put_passphrase_slot(
    db: Session, ring: KeyRing, user_id: uuid.UUID, kind: SlotKind, key: UserKey, secret: str
) -> KeySlot:
    """Create or replace the `kind` slot of `user_id`, opened by `secret`."""
    return put_slot(db, ring, user_id, kind, new_passphrase_slot(user_id, kind, key, secret))


def put_slot(
    db: Session, ring: KeyRing, user_id: uuid.UUID, kind: SlotKind, inner: bytes
) -> KeySlot:
    """Store a slot made by `new_passphrase_slot`, wrapped under the ring."""
    return _put(db, user_id, kind, ring.wrap(inner, slot_aad(user_id, kind)))


def put_escrow_slot(
    db: Session, ring: KeyRing, user_id: uuid.UUID, key: UserKey, escrow: PublicKey
) -> KeySlot:
    aad = slot_aad(user_id, SlotKind.ESCROW)
    sealed = seal(escrow, key, escrow_context(user_id))
    return _put(db, user_id, SlotKind.ESCROW, ring.wrap(sealed, aad))


def _put(db: Session, user_id: uuid.UUID, kind: str, data: bytes) -> KeySlot:
    slot = get_slot(db, user_id, kind)
    if slot is None:
        slot = KeySlot(user_id=user_id, kind=kind, data=data)
        db.add(slot)
    else:
        slot.data = data
    db.flush()
    return slot


def get_slot(db: Session, user_id: uuid.UUID, kind: str) -> KeySlot | None:
    return db.execute(
        select(KeySlot).where(KeySlot.user_id == user_id, KeySlot.kind == kind)
    ).scalar_one_or_none()


def open_passphrase_slot(ring: KeyRing, slot: KeySlot, secret: str) -> UserKey:
    """The user key if `secret` opens `slot`.

    Raises:
        crypto.WrongKeyError: wrong secret.
        crypto.FormatError: empty or overlong secret.
    """
    aad = slot_aad(slot.user_id, slot.kind)
    inner = PassphraseSlot.from_bytes(ring.unwrap(slot.data, aad))
    with hashing_slot():
        return UserKey(inner.open(secret, aad))


def remove_slot(db: Session, user_id: uuid.UUID, kind: str) -> None:
    slot = get_slot(db, user_id, kind)
    if slot is not None:
        db.delete(slot)
        db.flush()


def wrap_under(key: bytes, secret: bytes, aad: bytes) -> bytes:
    return wrap_key(key, secret, aad)


def unwrap_under(key: bytes, blob: bytes, aad: bytes) -> bytes:
    return unwrap_key(key, blob, aad)
