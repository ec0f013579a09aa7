"""Passphrase slots: a secret (a vault key) encrypted under a key stretched from a passphrase.

The slot stores its Argon2id parameters next to the salt, so defaults can be
raised later: old slots still open with the parameters they were made with, and
:meth:`PassphraseSlot.needs_upgrade` tells the app to re-create a slot at the
next successful sign-in, when the passphrase is at hand.

Slot format, version 1 (all integers big-endian)::

    off  len  field
    0    1    0x01 format version
    1    1    0x02 KDF: Argon2id, version 0x13
    2    4    time_cost
    6    4    memory_cost in KiB
    10   4    parallelism
    14   16   salt
    30   12   nonce
    42   ...  AES-256-GCM(secret), tag (16); AAD = bytes 0..29 | caller aad
"""

from __future__ import annotations

import os
import struct
import threading
import unicodedata
from dataclasses import dataclass

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import FormatError, WrongKeyError

__all__ = [
    "DEFAULT_ARGON2",
    "MAX_PASSPHRASE_BYTES",
    "Argon2Params",
    "PassphraseSlot",
    "encode_passphrase",
]

MAX_PASSPHRASE_BYTES = 1024
"""Longest passphrase accepted, in UTF-8 bytes after normalisation.

The cap bounds the work an anonymous request can cause before any check; it
is far above anything a person types.
"""

_SLOT_VERSION = 1
_KDF_ARGON2ID = 2
_HEADER = struct.Struct(">BBIII")
_SALT_LENGTH = 16
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_KEY_LENGTH = 32
_PARAMS_END = _HEADER.size + _SALT_LENGTH
_CIPHERTEXT_START = _PARAMS_END + _NONCE_LENGTH

# Bounds when reading a slot: a tampered row must not make the server spend
# minutes or gigabytes on one sign-in attempt.
_MAX_TIME_COST = 64
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_PARALLELISM = 64


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters (defaults: docs/architecture.md §2.2, t=3, m=64 MiB, p=4)."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise ValueError(f"parallelism must be 1..{_MAX_PARALLELISM}")
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            raise ValueError(f"time_cost must be 1..{_MAX_TIME_COST}")
        if not 8 * self.parallelism <= self.memory_cost_kib <= _MAX_MEMORY_KIB:
            raise ValueError(f"memory_cost_kib must be 8*parallelism..{_MAX_MEMORY_KIB}")

    def is_weaker_than(self, other: Argon2Params) -> bool:
        """True when any cost is below ``other``'s (time or memory, the costs that count)."""
        return self.time_cost < other.time_cost or self.memory_cost_kib < other.memory_cost_kib


DEFAULT_ARGON2 = Argon2Params()


def encode_passphrase(passphrase: str) -> bytes:
    """Return the bytes a passphrase is hashed as: Unicode NFC, then UTF-8.

    NFC makes "é" typed on a kiosk and on a phone (one code point or two) the
    same passphrase, as RFC 8265 (OpaqueString) does.

    Raises:
        FormatError: empty, or longer than :data:`MAX_PASSPHRASE_BYTES`.
    """
    encoded = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    if not encoded:
        raise FormatError("the passphrase is empty")
    if len(encoded) > MAX_PASSPHRASE_BYTES:
        raise FormatError(f"the passphrase is longer than {MAX_PASSPHRASE_BYTES} bytes")
    return encoded


# One Argon2id run at a time in a process: each holds its whole memory cost
# (64 MiB by default) until it returns, so two threads of one server process
# stretching at once would double its peak memory. Serialising them costs no
# throughput on a busy server (a run already uses `parallelism` cores) and
# bounds a process at its resting size plus one run (docs/benchmarks.md, "Load").
_ONE_RUN = threading.Lock()


def _stretch(passphrase: str, salt: bytes, params: Argon2Params) -> AESGCM:
    encoded = encode_passphrase(passphrase)
    with _ONE_RUN:
        key = _argon2id(encoded, salt, params)
    return AESGCM(key)


def _argon2id(encoded: bytes, salt: bytes, params: Argon2Params) -> bytes:
    return hash_secret_raw(
        encoded,
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=_KEY_LENGTH,
        type=Type.ID,
        version=ARGON2_VERSION,
    )


class PassphraseSlot:
    """A secret encrypted under Argon2id(passphrase); stored as :meth:`to_bytes`.

    Used for the password slot and, with a normalised recovery-kit code as the
    passphrase, for the recovery slot.
    """

    __slots__ = ("_blob", "params")

    def __init__(self, blob: bytes, params: Argon2Params) -> None:
        # Use create() or from_bytes(); this only stores what they validated.
        self._blob = blob
        self.params = params

    @classmethod
    def create(
        cls,
        secret: bytes,
        passphrase: str,
        aad: bytes,
        *,
        params: Argon2Params = DEFAULT_ARGON2,
    ) -> PassphraseSlot:
        """Encrypt ``secret`` under a key stretched from ``passphrase``.

        This runs Argon2id once (about 64 MiB and a fraction of a second with
        the defaults): the app should bound how many run at a time.

        Args:
            secret: what the slot protects (e.g. the 32-byte vault key).
            passphrase: the person's passphrase (policy such as minimum length
                and blocklist is the app's; here only empty and overlong fail).
            aad: where the slot belongs, e.g. ``vault id | slot kind``; needed
                again to open, so a slot copied to another vault does not open.
            params: Argon2id costs, stored in the slot.

        Raises:
            FormatError: empty or overlong passphrase.
        """
        return cls._create(secret, passphrase, aad, params, os.urandom(_SALT_LENGTH), None)

    @classmethod
    def _create(
        cls,
        secret: bytes,
        passphrase: str,
        aad: bytes,
        params: Argon2Params,
        salt: bytes,
        nonce: bytes | None,
    ) -> PassphraseSlot:
        header = (
            _HEADER.pack(
                _SLOT_VERSION,
                _KDF_ARGON2ID,
                params.time_cost,
                params.memory_cost_kib,
                params.parallelism,
            )
            + salt
        )
        # The key is fresh per slot (fresh salt), so even a fixed nonce would
        # be safe; a random one costs nothing.
        nonce = os.urandom(_NONCE_LENGTH) if nonce is None else nonce
        ciphertext = _stretch(passphrase, salt, params).encrypt(nonce, secret, header + aad)
        return cls(header + nonce + ciphertext, params)

    @classmethod
    def from_bytes(cls, blob: bytes) -> PassphraseSlot:
        """Load a slot stored with :meth:`to_bytes`.

        Raises:
            FormatError: unknown format version or KDF, parameters out of
                bounds, or a truncated slot.
        """
        if len(blob) < _CIPHERTEXT_START + _TAG_LENGTH:
            raise FormatError("not a passphrase slot")
        version, kdf, time_cost, memory_cost, parallelism = _HEADER.unpack_from(blob)
        if version != _SLOT_VERSION or kdf != _KDF_ARGON2ID:
            raise FormatError("not a passphrase slot (format version 1, Argon2id)")
        try:
            params = Argon2Params(time_cost, memory_cost, parallelism)
        except ValueError as e:
            raise FormatError(f"passphrase slot parameters out of bounds: {e}") from None
        return cls(bytes(blob), params)

    def to_bytes(self) -> bytes:
        """Serialise the slot (format version, Argon2id parameters, salt, ciphertext)."""
        return self._blob

    def open(self, passphrase: str, aad: bytes) -> bytes:
        """Return the secret if ``passphrase`` (and ``aad``) are right.

        Runs Argon2id once with the slot's own parameters.

        Raises:
            WrongKeyError: wrong passphrase or ``aad`` (or an altered slot).
            FormatError: empty or overlong passphrase.
        """
        blob = self._blob
        cipher = _stretch(passphrase, blob[_HEADER.size : _PARAMS_END], self.params)
        nonce = blob[_PARAMS_END:_CIPHERTEXT_START]
        try:
            return cipher.decrypt(nonce, blob[_CIPHERTEXT_START:], blob[:_PARAMS_END] + aad)
        except InvalidTag:
            raise WrongKeyError("the passphrase does not open this slot") from None

    def needs_upgrade(self, params: Argon2Params = DEFAULT_ARGON2) -> bool:
        """True when the slot was made with costs below ``params``: re-create it at sign-in."""
        return self.params.is_weaker_than(params)

    def __repr__(self) -> str:
        return f"PassphraseSlot({self.params!r})"
