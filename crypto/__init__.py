"""The vault's cryptography: a pure library on ``cryptography`` and ``argon2-cffi``.

It implements docs/architecture.md §2 and imports nothing from Flask, SQLAlchemy,
``storage`` or ``vault``. Every stored format is bytes starting with a version
byte. See docs/crypto.md for the formats, the key hierarchy and the threats
each piece answers.
"""

from crypto.errors import CryptoError, FormatError, IntegrityError, WrongKeyError
from crypto.keys import (
    KeyPair,
    KeyRing,
    PublicKey,
    derive_keypair,
    generate_data_key,
    load_public_key,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)
from crypto.passwords import (
    DEFAULT_ARGON2,
    MAX_PASSPHRASE_BYTES,
    Argon2Params,
    PassphraseSlot,
    encode_passphrase,
)
from crypto.recovery import (
    RECOVERY_CODE_DIGITS,
    format_recovery_code,
    new_recovery_code,
    normalize_recovery_code,
)
from crypto.stream import (
    HEADER_LENGTH,
    SEGMENT_SIZE,
    CiphertextRange,
    blob_aad,
    ciphertext_length,
    decrypt_bytes,
    decrypt_iter,
    decrypt_range,
    decrypt_range_iter,
    decrypt_stream,
    encrypt_bytes,
    encrypt_iter,
    encrypt_stream,
    plaintext_length,
    plaintext_range_to_ciphertext_range,
)

__all__ = [
    "DEFAULT_ARGON2",
    "HEADER_LENGTH",
    "MAX_PASSPHRASE_BYTES",
    "RECOVERY_CODE_DIGITS",
    "SEGMENT_SIZE",
    "Argon2Params",
    "CiphertextRange",
    "CryptoError",
    "FormatError",
    "IntegrityError",
    "KeyPair",
    "KeyRing",
    "PassphraseSlot",
    "PublicKey",
    "WrongKeyError",
    "blob_aad",
    "ciphertext_length",
    "decrypt_bytes",
    "decrypt_iter",
    "decrypt_range",
    "decrypt_range_iter",
    "decrypt_stream",
    "derive_keypair",
    "encode_passphrase",
    "encrypt_bytes",
    "encrypt_iter",
    "encrypt_stream",
    "format_recovery_code",
    "generate_data_key",
    "load_public_key",
    "new_recovery_code",
    "normalize_recovery_code",
    "open_sealed",
    "plaintext_length",
    "plaintext_range_to_ciphertext_range",
    "seal",
    "unwrap_key",
    "wrap_key",
]
