"""The one exception hierarchy of ``crypto/``.

Every error raised about *data* (a blob, a wrapped key, a slot, a code typed by
a person) is a :class:`CryptoError`, so callers can catch one type at the
boundary. Programming errors (a key of the wrong length passed by our own code,
a negative offset) stay ``ValueError``/``TypeError``: they are bugs, not
attacks, and must not be swallowed by a handler written for tampered data.

Messages never carry key material or plaintext.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Something about encrypted data or a secret could not be processed."""


class FormatError(CryptoError):
    """The input is not in a format (or format version) this library reads."""


class IntegrityError(CryptoError):
    """Authentication failed: data altered, truncated, extended, reordered, or wrong key or AAD.

    AES-GCM and HPKE cannot tell a wrong key from altered data; both look like
    this error.
    """


class WrongKeyError(IntegrityError):
    """The secret supplied (passphrase, recovery code, key version) does not open this item.

    Raised where the most likely cause of a failed authentication is a wrong
    secret typed by a person, or a key the key ring does not hold. It is an
    :class:`IntegrityError`, because an altered item fails the same way.
    """
