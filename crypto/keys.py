"""Keys: data keys, wrapping, hybrid post-quantum sealing, key pairs, the server key ring.

Every byte format starts with a version byte so it can evolve; every key is
used for one purpose only (a vault key reaches AES-GCM and the key-pair
derivation only through HKDF with distinct labels).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import FormatError, IntegrityError, WrongKeyError

__all__ = [
    "KEY_LENGTH",
    "KeyPair",
    "KeyRing",
    "PublicKey",
    "derive_keypair",
    "generate_data_key",
    "load_public_key",
    "open_sealed",
    "seal",
    "unwrap_key",
    "wrap_key",
]

KEY_LENGTH = 32
"""Length of every symmetric key and key-pair secret handled here."""
NONCE_LENGTH = 12
TAG_LENGTH = 16

_WRAP_VERSION = 1
_WRAP_LABEL = b"vault/wrap-key/v1"
_KEYPAIR_MLKEM_LABEL = b"vault/keypair/v1/ml-kem-768-seed"
_KEYPAIR_X25519_LABEL = b"vault/keypair/v1/x25519"
_PUBLIC_KEY_VERSION = 1
_MLKEM768_PUBLIC_LENGTH = 1184
_X25519_PUBLIC_LENGTH = 32
_SEAL_VERSION = 1
_SEAL_LABEL = b"vault/seal/v1|"
_KEYRING_VERSION = 1
_KEYRING_LABEL = b"vault/keyring/v1"
_MAX_KEY_VERSION = 0xFFFFFFFF

# RFC 9180 HPKE with the hybrid ML-KEM-768 + X25519 KEM: a sealed key stays
# closed unless both ML-KEM-768 and X25519 fall, so recording ciphertexts
# today and waiting for a quantum computer does not pay ("harvest now,
# decrypt later"), and a flaw in the young ML-KEM alone does not either.
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_SEAL_OVERHEAD = 1 + hpke.KEM.MLKEM768_X25519.enc_length() + TAG_LENGTH


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_LENGTH:
        raise ValueError(f"{what} must be {KEY_LENGTH} bytes")


def _hkdf(secret: bytes, label: bytes, length: int = KEY_LENGTH) -> bytes:
    # The secrets fed here are uniformly random, so no salt is needed; the
    # label separates the uses of one secret.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(secret)


def generate_data_key() -> bytes:
    """Return 32 random bytes from the OS: a DEK, a vault key or a key-pair secret."""
    return os.urandom(KEY_LENGTH)


# --- wrapping -------------------------------------------------------------------------------


def _wrap_with_nonce(kek: bytes, key: bytes, aad: bytes, nonce: bytes) -> bytes:
    _check_key(kek, "a key-encryption key")
    header = bytes([_WRAP_VERSION])
    cipher = AESGCM(_hkdf(kek, _WRAP_LABEL))
    return header + nonce + cipher.encrypt(nonce, key, header + aad)


def wrap_key(kek: bytes, key: bytes, aad: bytes) -> bytes:
    """Encrypt ``key`` under ``kek`` (AES-256-GCM), bound to ``aad``.

    Format: ``0x01 | nonce (12) | ciphertext | tag (16)``. The AES key is
    derived from ``kek`` with HKDF, so a vault key used as ``kek`` is never
    used directly by two algorithms.

    Args:
        kek: the 32-byte key-encryption key (e.g. a vault key).
        key: the secret to protect (e.g. a 32-byte DEK).
        aad: associated data naming where the result is stored
            (e.g. vault | document | version); needed again to unwrap.

    Raises:
        ValueError: ``kek`` is not 32 bytes.
    """
    return _wrap_with_nonce(kek, key, aad, os.urandom(NONCE_LENGTH))


def unwrap_key(kek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a :func:`wrap_key` result.

    Raises:
        FormatError: not a wrapped key of a known format version.
        IntegrityError: wrong ``kek`` or ``aad``, or the blob was altered.
        ValueError: ``kek`` is not 32 bytes.
    """
    _check_key(kek, "a key-encryption key")
    if len(blob) < 1 + NONCE_LENGTH + TAG_LENGTH or blob[0] != _WRAP_VERSION:
        raise FormatError("not a wrapped key (format version 1)")
    cipher = AESGCM(_hkdf(kek, _WRAP_LABEL))
    nonce = blob[1 : 1 + NONCE_LENGTH]
    try:
        return cipher.decrypt(nonce, blob[1 + NONCE_LENGTH :], blob[:1] + aad)
    except InvalidTag:
        raise IntegrityError("the wrapped key failed authentication") from None


# --- key pairs and sealing ------------------------------------------------------------------


class PublicKey:
    """A hybrid ML-KEM-768 + X25519 public key; anyone holding it can seal to its owner."""

    __slots__ = ("_hpke", "_mlkem", "_x25519")

    def __init__(self, mlkem_key: mlkem.MLKEM768PublicKey, x25519_key: x25519.X25519PublicKey):
        self._mlkem = mlkem_key
        self._x25519 = x25519_key
        self._hpke = hpke.MLKEM768X25519PublicKey(mlkem_key, x25519_key)

    def to_bytes(self) -> bytes:
        """Serialise for storage: ``0x01 | ML-KEM-768 key (1184) | X25519 key (32)``."""
        return (
            bytes([_PUBLIC_KEY_VERSION])
            + self._mlkem.public_bytes_raw()
            + self._x25519.public_bytes_raw()
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return "PublicKey(ML-KEM-768+X25519)"


def load_public_key(data: bytes) -> PublicKey:
    """Load a public key serialised by :meth:`PublicKey.to_bytes`.

    Raises:
        FormatError: wrong version or length, or an invalid key encoding.
    """
    if (
        len(data) != 1 + _MLKEM768_PUBLIC_LENGTH + _X25519_PUBLIC_LENGTH
        or data[0] != _PUBLIC_KEY_VERSION
    ):
        raise FormatError("not a public key (format version 1)")
    try:
        mlkem_key = mlkem.MLKEM768PublicKey.from_public_bytes(data[1 : 1 + _MLKEM768_PUBLIC_LENGTH])
    except ValueError:
        # FIPS 203 input check: coefficients must be reduced modulo q.
        raise FormatError("invalid ML-KEM-768 public key") from None
    x25519_key = x25519.X25519PublicKey.from_public_bytes(data[1 + _MLKEM768_PUBLIC_LENGTH :])
    return PublicKey(mlkem_key, x25519_key)


class KeyPair:
    """A hybrid key pair derived from a 32-byte secret (see :func:`derive_keypair`)."""

    __slots__ = ("_private", "public_key")

    def __init__(self, mlkem_key: mlkem.MLKEM768PrivateKey, x25519_key: x25519.X25519PrivateKey):
        self._private = hpke.MLKEM768X25519PrivateKey(mlkem_key, x25519_key)
        self.public_key = PublicKey(mlkem_key.public_key(), x25519_key.public_key())

    def public_bytes(self) -> bytes:
        """Return the serialised public key (see :meth:`PublicKey.to_bytes`)."""
        return self.public_key.to_bytes()

    def __repr__(self) -> str:
        return "KeyPair(ML-KEM-768+X25519, private part hidden)"


def derive_keypair(secret: bytes) -> KeyPair:
    """Derive a hybrid key pair deterministically from a 32-byte secret.

    The ML-KEM-768 key comes from a 64-byte seed (FIPS 203 ``d || z``) and the
    X25519 key from 32 bytes, both expanded from ``secret`` with HKDF-SHA256
    under distinct labels. So a vault's key pair follows from its vault key and
    never needs storing; only the public half is stored, in clear.

    Raises:
        ValueError: ``secret`` is not 32 bytes.
    """
    _check_key(secret, "a key-pair secret")
    seed = _hkdf(secret, _KEYPAIR_MLKEM_LABEL, 64)
    scalar = _hkdf(secret, _KEYPAIR_X25519_LABEL)
    return KeyPair(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(seed),
        x25519.X25519PrivateKey.from_private_bytes(scalar),
    )


def _seal_info(context: bytes) -> bytes:
    return _SEAL_LABEL + context


def seal(public_key: PublicKey, plaintext: bytes, context: bytes) -> bytes:
    """Seal ``plaintext`` (typically a DEK or vault key) to ``public_key`` with HPKE.

    RFC 9180 base mode, KEM ``MLKEM768_X25519``, HKDF-SHA256, AES-256-GCM.
    ``context`` goes into the HPKE ``info``: it names what the sealed item is
    for (e.g. ``share | document | counsellor | expiry``), and opening with any
    other context fails.

    Format: ``0x01 | HPKE encapsulated key (1120) | ciphertext | tag (16)``.

    Args:
        public_key: the recipient's public key.
        plaintext: the secret to seal.
        context: the purpose, bound into the seal; needed again to open.
    """
    return bytes([_SEAL_VERSION]) + _SUITE.encrypt(
        plaintext, public_key._hpke, info=_seal_info(context)
    )


def open_sealed(keypair: KeyPair, blob: bytes, context: bytes) -> bytes:
    """Open a :func:`seal` result with the recipient's key pair.

    Raises:
        FormatError: not a sealed item of a known format version.
        IntegrityError: another recipient's key, another context, or an altered blob.
    """
    if len(blob) < _SEAL_OVERHEAD or blob[0] != _SEAL_VERSION:
        raise FormatError("not a sealed item (format version 1)")
    try:
        return _SUITE.decrypt(blob[1:], keypair._private, info=_seal_info(context))
    except InvalidTag:
        raise IntegrityError("the sealed item failed authentication") from None


# --- server key ring ------------------------------------------------------------------------

_KEYRING_HEADER = struct.Struct(">BI")
_ENTRY = re.compile(r"^\s*(\d{1,10})\s*:\s*([A-Za-z0-9+/_=-]+)\s*$")


def _decode_key(text: str) -> bytes:
    text = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise FormatError("a key ring key is not valid base64") from None


class KeyRing:
    """The server's versioned keys: the outer layer on every stored key blob.

    A database dump alone does not yield wrapped keys (they also need the ring,
    kept outside the database), and rotation adds a version and re-wraps rows
    without touching blobs.

    Format of a wrapped item: ``0x01 | key version (uint32 BE) | nonce (12) |
    ciphertext | tag (16)``; the first five bytes are authenticated too.
    """

    __slots__ = ("_ciphers", "_current")

    def __init__(self, keys: Mapping[int, bytes], current_version: int | None = None) -> None:
        """Build a ring from ``{version: 32-byte key}``.

        Args:
            keys: every version still needed to unwrap existing rows.
            current_version: the version new items are wrapped under
                (default: the highest).

        Raises:
            ValueError: no key, a version outside 1..2**32-1, a key that is not
                32 bytes, or an unknown ``current_version``.
        """
        if not keys:
            raise ValueError("a key ring needs at least one key")
        for version, key in keys.items():
            if not 1 <= version <= _MAX_KEY_VERSION:
                raise ValueError("key ring versions are 1 .. 2**32-1")
            _check_key(key, "a key ring key")
        current = max(keys) if current_version is None else current_version
        if current not in keys:
            raise ValueError("current_version is not in the key ring")
        self._current = current
        self._ciphers = {
            version: AESGCM(_hkdf(key, _KEYRING_LABEL)) for version, key in keys.items()
        }

    @classmethod
    def from_string(cls, text: str) -> KeyRing:
        """Parse ``"1:<base64 key>,2:<base64 key>"`` (settings, env, secrets file).

        The highest version is current. Standard or URL-safe base64, padding
        optional, spaces ignored.

        Raises:
            FormatError: the text is not such a list, a key is not 32 bytes,
                or a version appears twice.
        """
        keys: dict[int, bytes] = {}
        for entry in text.split(","):
            match = _ENTRY.match(entry)
            if match is None:
                raise FormatError("a key ring is written '1:<base64>,2:<base64>'")
            version = int(match.group(1))
            key = _decode_key(match.group(2))
            if version in keys or not 1 <= version <= _MAX_KEY_VERSION or len(key) != KEY_LENGTH:
                raise FormatError(
                    "key ring entries need distinct versions 1..2**32-1 and 32-byte keys"
                )
            keys[version] = key
        return cls(keys)

    @staticmethod
    def generate_string(existing: str | None = None) -> str:
        """Return a key ring string with a new random key as the next (current) version.

        Args:
            existing: the current setting, kept in front so that older versions
                still unwrap; ``None`` starts a ring at version 1.

        Raises:
            FormatError: ``existing`` does not parse.
        """
        entry = base64.b64encode(generate_data_key()).decode("ascii")
        if existing is None:
            return f"1:{entry}"
        ring = KeyRing.from_string(existing)
        return f"{existing.strip()},{max(ring.versions) + 1}:{entry}"

    @property
    def current_version(self) -> int:
        """The version new items are wrapped under."""
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        """All versions held, ascending."""
        return tuple(sorted(self._ciphers))

    def _wrap_with_nonce(self, plaintext: bytes, aad: bytes, nonce: bytes) -> bytes:
        header = _KEYRING_HEADER.pack(_KEYRING_VERSION, self._current)
        return header + nonce + self._ciphers[self._current].encrypt(nonce, plaintext, header + aad)

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` under the current version, bound to ``aad``.

        Args:
            plaintext: an already wrapped or sealed key blob, or any small secret.
            aad: where it is stored, e.g. ``row id | kind | version``.
        """
        return self._wrap_with_nonce(plaintext, aad, os.urandom(NONCE_LENGTH))

    def version_of(self, blob: bytes) -> int:
        """Return the key version ``blob`` was wrapped under.

        Raises:
            FormatError: not a key ring item of a known format version.
        """
        if len(blob) < _KEYRING_HEADER.size + NONCE_LENGTH + TAG_LENGTH:
            raise FormatError("not a key ring item")
        fmt, version = _KEYRING_HEADER.unpack_from(blob)
        if fmt != _KEYRING_VERSION:
            raise FormatError("not a key ring item (format version 1)")
        return int(version)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt a :meth:`wrap` result, under whichever version it names.

        Raises:
            FormatError: not a key ring item of a known format version.
            WrongKeyError: the ring does not hold the version the blob names.
            IntegrityError: wrong ``aad`` or the blob was altered.
        """
        version = self.version_of(blob)
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise WrongKeyError(f"the key ring has no version {version}")
        start = _KEYRING_HEADER.size
        nonce = blob[start : start + NONCE_LENGTH]
        try:
            return cipher.decrypt(nonce, blob[start + NONCE_LENGTH :], blob[:start] + aad)
        except InvalidTag:
            raise IntegrityError("the key ring item failed authentication") from None

    def needs_rewrap(self, blob: bytes) -> bool:
        """True when ``blob`` is not wrapped under the current version.

        Raises:
            FormatError: not a key ring item of a known format version.
        """
        return self.version_of(blob) != self._current

    def rewrap(self, blob: bytes, aad: bytes) -> bytes:
        """Return ``blob`` wrapped under the current version (for rotation).

        A blob already under the current version is verified and returned
        unchanged, so a rotation job can run again safely.

        Raises:
            FormatError, WrongKeyError, IntegrityError: as :meth:`unwrap`.
        """
        plaintext = self.unwrap(blob, aad)
        if not self.needs_rewrap(blob):
            return blob
        return self.wrap(plaintext, aad)

    def __repr__(self) -> str:
        return f"KeyRing(versions={list(self.versions)}, current={self._current})"
